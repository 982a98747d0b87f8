"""Grounding, relaxed score and taxonomy in run folders, `score --json` and `compare`; older runs still load."""

import json

import pytest

from bre_core.cli import main
from bre_core.datasets import load_documents
from bre_core.models.generation import Generation
from bre_core.runs import documents_hash, finalize_run, metrics_json, prediction_record, read_run, score_records
from bre_core.runs.analysis import hallucination_comparison, run_summary
from bre_core.runs.evaluate import analysis_metrics
from bre_core.tasks import get_task

# ddi test fixture: Lithium_ddi's gold lists (Diuretics, lithium, MECHANISM) twice; Water_ddi has none.
GOOD = {"Lithium_ddi": "the relation between Diuretics and lithium is mechanism."}
INVENTS = {
    "Lithium_ddi": "the relation between Diuretics and lithium is mechanism; "
    "the relation between Diuretics and aspirin is effect."
}


def write_run(folder, data, answers, *, before_analysis=False):
    task = get_task("ddi")
    documents = load_documents("ddi", "test", data)
    records = [
        prediction_record(task, d, Generation(answers.get(d.id, task.null_target), 1, 1, 0.0)) for d in documents
    ]
    extra = {} if before_analysis else analysis_metrics("ddi", documents, records)
    manifest = {
        "model": {"name": folder.name},
        "dataset": "ddi",
        "split": "test",
        "data_hash": documents_hash(task, documents),
        "setting": "zero-shot",
    }
    finalize_run(folder, manifest, metrics_json(score_records("ddi", documents, records), extra), records)
    if before_analysis:  # as runs were written before this: no "analysis" in the predictions
        path = folder / "predictions.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "analysis"}) + "\n" for r in rows))
    return read_run(folder)


EXPECTED_STUDY = {
    "grounding": {
        "entities": 3,
        "by_level": {"exact": 2, "case": 0, "normalized": 0, "absent": 1},
        "hallucination_rate": 1 / 3,
        "documents_with_hallucinations": 1,
    },
    "relaxed": {
        "precision": 0.5,
        "recall": 1.0,
        "f1": 2 / 3,
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "predicted": 2,
        "gold": 1,
        "gold_found": 1,
    },
    "taxonomy": {
        "false_positives": {"boundary": 0, "wrong_label": 0, "reversed": 0, "hallucinated": 1, "spurious": 0},
        "false_negatives": {"boundary": 0, "wrong_label": 0, "reversed": 0, "missed": 1},
        "fp": 1,
        "fn": 1,
        "by_class": {
            "boundary": 0,
            "wrong_label": 0,
            "reversed": 0,
            "hallucinated": 1,
            "spurious": 0,
            "missed": 1,
        },
    },
}


def test_a_run_stores_the_analysis_per_record_and_its_sums_in_metrics(fixture_data, tmp_path):
    run = write_run(tmp_path / "invents", fixture_data, INVENTS)
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert set(metrics) == {"protocol", "study", "corrected", "grounding", "relaxed", "taxonomy"}
    assert {key: metrics[key]["study"] for key in ("grounding", "relaxed", "taxonomy")} == EXPECTED_STUDY
    # The study counts the duplicated gold twice: its second annotation is missed; corrected counts it once.
    assert metrics["taxonomy"]["corrected"]["false_negatives"]["missed"] == 0
    assert metrics["study"]["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1}
    line = json.loads((run.path / "predictions.jsonl").read_text().splitlines()[0])
    assert line["analysis"]["study"]["entities"] == {"Diuretics": "exact", "lithium": "exact", "aspirin": "absent"}
    assert line["analysis"]["study"]["relation_classes"] == ["", "hallucinated"]
    assert run_summary(run) == EXPECTED_STUDY
    assert run.predictions[0].analysis["corrected"]["missed_classes"] == []


def test_a_run_written_before_the_analysis_loads_and_is_analysed_from_its_documents(fixture_data, tmp_path):
    old = write_run(tmp_path / "old", fixture_data, INVENTS, before_analysis=True)
    assert "grounding" not in old.metrics and all(not p.analysis for p in old.predictions)
    assert run_summary(old) is None  # unavailable without the documents
    documents = load_documents("ddi", "test", fixture_data)
    assert run_summary(old, documents) == EXPECTED_STUDY


def test_a_malformed_stored_analysis_is_ignored_not_fatal(fixture_data, tmp_path):
    run = write_run(tmp_path / "bad", fixture_data, INVENTS)
    path = run.path / "predictions.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["analysis"] = {"study": {"entities": {"x": "nowhere"}}, "corrected": "junk"}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = read_run(run.path)
    assert again.predictions[0].analysis == {}
    assert run_summary(again) == EXPECTED_STUDY  # metrics.json still holds the sums


def test_compare_reports_the_hallucination_rate_difference(fixture_data, tmp_path, capsys, monkeypatch):
    a = write_run(tmp_path / "a", fixture_data, GOOD)
    b = write_run(tmp_path / "b", fixture_data, INVENTS)
    report = hallucination_comparison(a, b, samples=200)
    assert (report["a"], report["b"], report["difference_b_minus_a"]) == (0.0, 1 / 3, 1 / 3)
    low, high = report["ci95"]
    assert 0.0 <= low <= 1 / 3 <= high + 1e-12
    assert main(["compare", str(a.path), str(b.path)]) == 0
    out = capsys.readouterr().out
    assert "hallucination rate: A 0.0000, B 0.3333, B - A +0.3333, 95% CI [" in out
    # An old run without its documents at hand: unavailable, said so; with them: computed.
    old = write_run(tmp_path / "old", fixture_data, INVENTS, before_analysis=True)
    monkeypatch.setenv("BRE_DATA_DIR", str(tmp_path / "no-data"))
    assert main(["compare", str(a.path), str(old.path), "--json"]) == 0
    unavailable = json.loads(capsys.readouterr().out)["hallucination_rate"]
    assert unavailable["unavailable"].startswith(f"{old.path}: unavailable: the run was written before grounding")
    monkeypatch.setenv("BRE_DATA_DIR", str(fixture_data))
    assert hallucination_comparison(a, old, samples=200)["difference_b_minus_a"] == 1 / 3


def test_score_prints_the_relaxed_score_hallucination_rate_and_taxonomy(fixture_data, tmp_path, capsys):
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "Lithium_ddi", "output": INVENTS["Lithium_ddi"]}) + "\n")
    common = ["score", "--dataset", "ddi", "--split", "test", "--data-dir", str(fixture_data)]
    assert main([*common, "--predictions", str(predictions), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {key: printed[key] for key in ("grounding", "relaxed", "taxonomy")} == EXPECTED_STUDY
    assert printed["micro"]["f1"] == 0.5  # the protocol's score is unchanged
    assert main([*common, "--predictions", str(predictions)]) == 0
    out = capsys.readouterr().out
    assert "relaxed P 0.5000  R 1.0000  F1 0.6667" in out
    assert "hallucination rate 0.3333 (1 of 3 predicted entities absent from the passage" in out
    assert (
        "false positives by class: boundary mismatch 0, wrong label 0, reversed arguments 0, hallucinated entity 1"
        in out
    )


def test_the_leaderboard_shows_hallucination_rate_and_relaxed_f1(fixture_data, tmp_path):
    from bre_core.analysis import leaderboard
    from bre_core.runs import runs_table

    new = write_run(tmp_path / "new", fixture_data, INVENTS)
    old = write_run(tmp_path / "old", fixture_data, INVENTS, before_analysis=True)
    old_metrics = json.loads((old.path / "metrics.json").read_text())
    assert "grounding" not in old_metrics
    board = leaderboard(runs_table([new, old])).set_index("model")
    assert board.loc["new", ["hallucination_rate", "relaxed_f1"]].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert board.loc["old", ["hallucination_rate", "relaxed_f1"]].isna().all()  # shown empty: not recorded
