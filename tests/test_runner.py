"""evaluate -> run folder (valid, resumable, re-scorable), compare on two runs, side by side with a failing model."""

import json

import pytest
from tiny_models import build_tiny_model

import bre_core.models
from bre_core.cli import main
from bre_core.config import ModelSpec
from bre_core.errors import RunError
from bre_core.models import ModelCache
from bre_core.runs import MANIFEST, PARTIAL, compare_runs, evaluate, read_partial, read_run
from bre_core.settings import DecodingSettings
from bre_core.side_by_side import compare
from bre_core.tasks import get_task


@pytest.fixture(scope="session")
def t5(tmp_path_factory) -> ModelSpec:
    return build_tiny_model("t5", tmp_path_factory.mktemp("tiny-t5"))


@pytest.fixture(scope="session")
def gpt2(tmp_path_factory) -> ModelSpec:
    return build_tiny_model("gpt2", tmp_path_factory.mktemp("tiny-gpt2"))


def run_eval(spec, out, data, max_new_tokens=12, **options):
    options = {"progress": False, **options}
    return evaluate(spec, "chemprot", "train", out, decoding=DecodingSettings(max_new_tokens), data_dir=data, **options)


def test_evaluate_writes_a_run_that_rescoring_reproduces(t5, fixture_data, tmp_path, capsys):
    run = run_eval(t5, tmp_path / "runs", fixture_data)
    assert run.path == tmp_path / "runs" / "tiny-t5__chemprot__train__zero-shot"
    assert sorted(p.name for p in run.path.iterdir()) == [
        "counts.json",
        "manifest.json",
        "metrics.json",
        "predictions.jsonl",
    ]
    manifest = run.manifest
    assert manifest["status"] == "complete"
    assert (manifest["dataset"], manifest["split"], manifest["documents"]) == ("chemprot", "train", 2)
    assert manifest["model"]["path"] == t5.path and manifest["decoding"]["num_beams"] == 1
    assert manifest["environment"]["device"] == "cpu" and manifest["timings"]["documents_generated"] == 2
    assert [p.id for p in run.predictions] == ["1001", "1002"]
    # metrics.json equals what `score` computes from the outputs alone
    predictions = tmp_path / "outputs.jsonl"
    predictions.write_text("".join(json.dumps({"id": p.id, "output": p.output}) + "\n" for p in run.predictions))
    assert (
        main(
            [
                "score",
                "--dataset",
                "chemprot",
                "--split",
                "train",
                "--data-dir",
                str(fixture_data),
                "--predictions",
                str(predictions),
                "--json",
            ]
        )
        == 0
    )
    rescored = json.loads(capsys.readouterr().out)
    assert {k: rescored[k] for k in run.metrics} == run.metrics
    # the parsed relations stored per document are the parser's reading of the stored output
    task = get_task("chemprot")
    for record, gold in zip(run.predictions, (4, 0)):  # distinct gold relations of 1001 and 1002
        assert record.relations == task.parse(record.output).relations
        assert record.tp + record.fn == gold and len(record.missed) == record.fn
        assert len(record.correct) == len(record.relations)


def test_complete_run_is_not_recomputed(t5, fixture_data, tmp_path, monkeypatch):
    first = run_eval(t5, tmp_path, fixture_data)
    monkeypatch.setattr(bre_core.models, "generate_encoded", lambda *a, **k: pytest.fail("recomputed a complete run"))
    again = run_eval(t5, tmp_path, fixture_data)
    assert again.predictions == first.predictions
    with pytest.raises(RunError, match="complete run with other settings"):
        run_eval(t5, tmp_path, fixture_data, max_new_tokens=5)


def test_interrupted_run_resumes_without_recomputing(t5, tmp_path, shared_data, monkeypatch):
    options = {"data_dir": shared_data, "limit": 10, "decoding": DecodingSettings(8), "progress": False}
    reference = evaluate(t5, "dce", "test", tmp_path / "reference", **options)
    real_generate = bre_core.models.generate_encoded
    calls: list[list[tuple]] = []  # the prompts (token ids) of each generate call

    def recorded(loaded, prompts, *args, **kwargs):
        if interrupt_after is not None and len(calls) == interrupt_after:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-run
        calls.append([tuple(ids) for ids in prompts])
        return real_generate(loaded, prompts, *args, **kwargs)

    monkeypatch.setattr(bre_core.models, "generate_encoded", recorded)
    interrupt_after = 1  # the first chunk of 4 is done, the second is interrupted
    with pytest.raises(KeyboardInterrupt):
        evaluate(t5, "dce", "test", tmp_path / "runs", chunk_size=4, **options)
    folder = tmp_path / "runs" / reference.path.name
    assert not (folder / MANIFEST).exists() and len(read_partial(folder)) == 4
    with pytest.raises(RunError, match="not a complete run.*resume"):
        read_run(folder)

    interrupt_after = None
    run = evaluate(t5, "dce", "test", tmp_path / "runs", chunk_size=4, **options)
    first, resumed = calls[0], [source for call in calls[1:] for source in call]
    assert len(resumed) == 6 and not set(resumed) & set(first)
    assert [p.output for p in run.predictions] == [p.output for p in reference.predictions]
    assert run.metrics == reference.metrics
    assert run.manifest["timings"]["resumed_documents"] == 4
    assert not (folder / PARTIAL).exists()


def test_torn_last_line_of_a_partial_run_is_recomputed(t5, fixture_data, tmp_path):
    run = run_eval(t5, tmp_path / "a", fixture_data)
    folder = tmp_path / "b" / run.path.name
    folder.mkdir(parents=True)
    (folder / "manifest.pending.json").write_text((run.path.parent / run.path.name / MANIFEST).read_text())
    lines = (run.path / "predictions.jsonl").read_text().splitlines()
    (folder / PARTIAL).write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    assert [r.id for r in read_partial(folder)] == ["1001"]


def test_compare_two_runs(t5, gpt2, fixture_data, tmp_path, capsys):
    a = run_eval(t5, tmp_path, fixture_data)
    b = run_eval(gpt2, tmp_path, fixture_data)
    report = compare_runs(a, b, samples=200)
    assert report["a"]["model"] == "tiny-t5" and report["b"]["model"] == "tiny-gpt2"
    assert report["difference_b_minus_a"] == pytest.approx(b.metrics["micro"]["f1"] - a.metrics["micro"]["f1"])
    assert report["agreement"]["documents"] == 2
    found = report["agreement"]
    assert (
        found["gold_found_by_both"]
        + found["gold_found_only_by_a"]
        + found["gold_found_only_by_b"]
        + found["gold_missed_by_both"]
        == 4
    )  # the four distinct gold relations of the fixture's train split
    assert main(["compare", str(a.path), str(b.path), "--json", "--samples", "200"]) == 0
    assert json.loads(capsys.readouterr().out)["agreement"] == report["agreement"]


def test_compare_refuses_runs_over_different_documents(t5, fixture_data, tmp_path, capsys):
    a = run_eval(t5, tmp_path, fixture_data)
    b = evaluate(
        t5, "chemprot", "validation", tmp_path, data_dir=fixture_data, decoding=DecodingSettings(12), progress=False
    )
    with pytest.raises(RunError, match="different documents"):
        compare_runs(a, b)
    assert main(["compare", str(a.path), str(b.path)]) == 2
    assert "different documents (split: 'train' vs 'validation')" in capsys.readouterr().err


def test_side_by_side_survives_a_missing_model(t5, fixture_data, tmp_path):
    from bre_core.datasets import load_documents

    missing = ModelSpec(name="gone", path=str(tmp_path / "nowhere"), architecture="seq2seq", family="t5")
    documents = load_documents("chemprot", "train", fixture_data)
    rows = compare(
        t5,
        missing,
        get_task("chemprot"),
        [documents[0], "Aspirin inhibits COX-2."],
        cache=ModelCache(),
        max_new_tokens=10,
    )
    assert [row.id for row in rows] == ["1001", "text-2"]
    first, second = rows[0].a.record, rows[1].a.record
    assert rows[0].a.error is None and first.output and first.tp + first.fn == 4
    assert len(first.correct) == len(first.relations) and second.id == "text-2" and rows[1].gold is None
    assert rows[0].b.record is None
    assert len(rows[0].gold) == 4
    assert all(row.b.error and "gone" in row.b.error for row in rows)


def test_unavailable_model_fails_fast_and_leaves_no_run_folder(fixture_data, tmp_path):
    from bre_core.models import ModelUnavailableError

    missing = ModelSpec(name="gone", path=str(tmp_path / "nowhere"), architecture="seq2seq", family="t5")
    with pytest.raises(ModelUnavailableError, match="not a model folder"):
        evaluate(missing, "chemprot", "train", tmp_path / "runs", data_dir=fixture_data, progress=False)
    assert not (tmp_path / "runs").exists()
