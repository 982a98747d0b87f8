"""Damaged run folders and prediction files: typed schema, regular files only, a size limit, unique ids."""

import json
import os
import threading

import pytest
from test_run_protocols import ANSWERS, write_run

import bre_core.runs.folder as folder
from bre_core.cli import main
from bre_core.errors import RunError
from bre_core.runs import find_runs, read_run


@pytest.fixture
def good(fixture_data, tmp_path):
    return write_run(tmp_path / "runs" / "good", fixture_data, ANSWERS["good"])


def rewrite_first_line(path, change):
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    change(row)
    path.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")


def test_metrics_of_the_wrong_type_skip_the_folder_and_name_it(good, fixture_data, tmp_path):
    bad = write_run(tmp_path / "runs" / "bad", fixture_data, ANSWERS["good"])
    (bad.path / "metrics.json").write_text("[1]")
    runs, warnings = find_runs(tmp_path / "runs")
    assert [run.name for run in runs] == ["good"]
    assert warnings == [f"{bad.path}: damaged run folder (metrics.json must be an object, found list '[1]'). "
                        "Delete it and run it again."]  # fmt: skip


@pytest.mark.parametrize(
    "change,where",
    [
        (lambda row: row.update(missed=[1, 2]), "predictions.jsonl line 1.missed[0] must be an object"),
        (lambda row: row.update(tp="1"), "predictions.jsonl line 1.tp must be an integer, found str"),
        (lambda row: row["study"].update(correct=[True, 3]), "predictions.jsonl line 1.study.correct must be"),
        (lambda row: row.pop("output"), "predictions.jsonl line 1 has no 'output'"),
    ],
    ids=["missed-ints", "tp-string", "flag-int", "no-output"],
)
def test_predictions_of_the_wrong_types_are_a_damaged_folder(good, change, where):
    rewrite_first_line(good.path / "predictions.jsonl", change)
    with pytest.raises(RunError, match="damaged run folder") as caught:
        read_run(good.path)
    assert where in str(caught.value)


def test_duplicate_document_ids_make_a_folder_invalid(good):
    path = good.path / "predictions.jsonl"
    first = path.read_text().splitlines()[0]
    path.write_text(path.read_text() + first + "\n")
    with pytest.raises(RunError, match="document id 'Lithium_ddi' appears twice"):
        read_run(good.path)


def _read_in_thread(path):
    outcome = {}

    def target():
        try:
            read_run(path)
        except RunError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    return thread.is_alive(), outcome.get("error", "")


def test_a_pipe_or_a_device_is_not_read(good):
    predictions = good.path / "predictions.jsonl"
    predictions.unlink()
    os.mkfifo(predictions)
    blocked, error = _read_in_thread(good.path)
    assert not blocked and "predictions.jsonl: not a regular file" in error
    predictions.unlink()
    predictions.symlink_to("/dev/zero")
    blocked, error = _read_in_thread(good.path)
    assert not blocked and "not a regular file" in error


def test_a_file_over_the_size_limit_is_skipped_and_named(good, monkeypatch):
    sizes = sorted((path.stat().st_size, path.name) for path in good.path.iterdir())
    monkeypatch.setattr(folder, "MAX_FILE_BYTES", sizes[-2][0])
    runs, warnings = find_runs(good.path.parent)
    largest, name = sizes[-1]
    assert runs == [] and warnings == [
        f"{good.path / name}: {largest:,} bytes, over the limit of {sizes[-2][0]:,} bytes for a run file; skipped."
    ]


@pytest.mark.parametrize("kind", ["fifo", "device", "deep"])
def test_score_refuses_pipes_devices_and_deep_nesting(fixture_data, tmp_path, capsys, kind):
    path = tmp_path / "outputs.jsonl"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    argv = ["score", "--dataset", "ddi", "--split", "test", "--data-dir", str(fixture_data), "--predictions", str(path)]
    assert main(argv) == 2
    error = capsys.readouterr().err
    expected = "JSON nested too deeply" if kind == "deep" else "not a regular file"
    assert error.startswith("error: ") and expected in error and len(error.splitlines()) == 1
