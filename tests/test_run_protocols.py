"""Run folders under both protocols: what evaluate writes, old folders read as corrected, compare under each."""

import json

import pytest
from tiny_models import build_tiny_model

from bre_core.cli import main
from bre_core.datasets import load_documents
from bre_core.models.generation import Generation
from bre_core.runs import (
    documents_hash,
    evaluate,
    finalize_run,
    metrics_json,
    prediction_record,
    read_run,
    score_records,
)
from bre_core.scoring import score_outputs
from bre_core.settings import DecodingSettings
from bre_core.tasks import get_task

# ddi test fixture: Lithium_ddi's gold lists (Diuretics, lithium, MECHANISM) twice; Water_ddi has none.
ANSWERS = {
    "good": {"Lithium_ddi": "the relation between Diuretics and lithium is mechanism."},
    "shouting": {"Lithium_ddi": "the relation between Diuretics and lithium is Mechanism."},
}


def write_run(folder, fixture_data, answers, *, legacy=False):
    task = get_task("ddi")
    documents = load_documents("ddi", "test", fixture_data)
    records = [
        prediction_record(task, d, Generation(answers.get(d.id, task.null_target), 10, 10, 0.0)) for d in documents
    ]
    scores = score_records("ddi", documents, records)
    manifest = {
        "model": {"name": folder.name},
        "dataset": "ddi",
        "split": "test",
        "data_hash": documents_hash(task, documents),
        "setting": "zero-shot",
    }
    if legacy:  # as written before protocols: flat corrected metrics, no "study" block in the predictions
        finalize_run(folder, manifest, scores["corrected"], records)
        lines = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
        (folder / "predictions.jsonl").write_text(
            "".join(json.dumps({k: v for k, v in row.items() if k != "study"}) + "\n" for row in lines)
        )
    else:
        finalize_run(folder, manifest, metrics_json(scores), records)
    return read_run(folder)


def test_a_run_holds_both_protocols_and_is_read_under_the_studys(fixture_data, tmp_path):
    run = write_run(tmp_path / "good", fixture_data, ANSWERS["good"])
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["protocol"] == "study" and set(metrics) == {
        "protocol",
        "study",
        "corrected",
    }  # no analysis: score_records
    line = json.loads((run.path / "predictions.jsonl").read_text().splitlines()[0])
    assert (line["tp"], line["fn"], line["study"]["tp"], line["study"]["fn"]) == (1, 0, 1, 1)
    assert run.protocol == "study" and run.protocols == ("study", "corrected") and not run.before_protocols
    # The study counts the duplicated gold relation twice; corrected once.
    assert (run.metrics["micro"]["tp"], run.metrics["micro"]["fn"]) == (1, 1)
    corrected = run.under("corrected")
    assert (corrected.metrics["micro"]["tp"], corrected.metrics["micro"]["fn"]) == (1, 0)
    assert [p.fn for p in run.predictions] == [1, 0] and [p.fn for p in corrected.predictions] == [0, 0]
    documents = load_documents("ddi", "test", fixture_data)
    rescored = score_outputs(get_task("ddi", "study"), documents, {p.id: p.output for p in run.predictions})
    assert run.metrics["micro"] == {**rescored.to_dict()["micro"]}


def test_a_run_written_before_protocols_is_read_as_corrected(fixture_data, tmp_path, capsys):
    old = write_run(tmp_path / "old", fixture_data, ANSWERS["good"], legacy=True)
    assert old.protocol == "corrected" and old.before_protocols and old.under("study") is None
    assert (old.metrics["micro"]["tp"], old.metrics["micro"]["fn"]) == (1, 0)
    new = write_run(tmp_path / "new", fixture_data, ANSWERS["shouting"])
    assert main(["compare", str(old.path), str(new.path)]) == 0
    out = capsys.readouterr().out
    assert f"note: {old.path} was written before scoring protocols: read as the corrected protocol." in out
    assert "--- corrected protocol" in out and "--- study protocol" not in out


def test_compare_reports_each_protocol(fixture_data, tmp_path, capsys):
    good = write_run(tmp_path / "good", fixture_data, ANSWERS["good"])
    shouting = write_run(tmp_path / "shouting", fixture_data, ANSWERS["shouting"])
    assert main(["compare", str(good.path), str(shouting.path), "--json", "--samples", "200"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "study" and set(report["by_protocol"]) == {"study", "corrected"}
    # "Mechanism" names no class for the study (dropped: F1 2/3 -> 0), and the same class corrected (no change).
    assert report["by_protocol"]["study"]["difference_b_minus_a"] == pytest.approx(-2 / 3)
    assert report["by_protocol"]["corrected"]["difference_b_minus_a"] == 0.0
    assert report["difference_b_minus_a"] == report["by_protocol"]["study"]["difference_b_minus_a"]


def test_evaluate_scores_under_both_protocols(fixture_data, tmp_path, capsys):
    spec = build_tiny_model("t5", tmp_path / "tiny-t5")
    run = evaluate(
        spec, "ddi", "test", tmp_path / "runs", decoding=DecodingSettings(6), data_dir=fixture_data, progress=False
    )
    assert run.protocols == ("study", "corrected") and run.manifest["split_seed"] == "study"
    documents = load_documents("ddi", "test", fixture_data)
    for protocol in ("study", "corrected"):
        expected = score_outputs(get_task("ddi", protocol), documents, {p.id: p.output for p in run.predictions})
        assert run.under(protocol).metrics["micro"] == expected.to_dict()["micro"]
    # gold of the fixture: 2 annotations, 1 distinct; an untrained model finds neither
    assert run.metrics["micro"]["fn"] - run.under("corrected").metrics["micro"]["fn"] == 1
