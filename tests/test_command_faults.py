"""Failures that once gave tracebacks: each is now one line and exit status 2 (issue 11, item 6)."""

import errno
import os
from pathlib import Path

import pytest
from tiny_models import build_tiny_model

import bre_core.runs.folder as folder
from bre_core.cli import main

REPO = Path(__file__).resolve().parent.parent


def one_line_error(capsys) -> str:
    """The one error line on standard error (progress bars of model loading may come before it)."""
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def test_a_full_disk_during_evaluate_is_one_line_and_the_run_resumes(fixture_data, tmp_path, capsys, monkeypatch):
    spec = build_tiny_model("t5", tmp_path / "tiny-t5")
    argv = ["evaluate", "--model", spec.path, "--dataset", "dce", "--split", "test", "--data-dir", str(fixture_data)]
    argv += ["--out", str(tmp_path / "runs"), "--max-new-tokens", "4"]

    fsync = os.fsync

    def full_when_appending_predictions(descriptor):
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith("predictions.partial.jsonl"):
            raise OSError(errno.ENOSPC, "No space left on device")
        fsync(descriptor)

    monkeypatch.setattr(folder.os, "fsync", full_when_appending_predictions)
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert "disk full while writing " in err and "predictions.partial.jsonl" in err
    assert "free space and run the same command again, it resumes." in err
    monkeypatch.undo()
    assert main(argv) == 0
    assert (tmp_path / "runs" / "tiny-t5__dce__test__zero-shot" / "manifest.json").is_file()


@pytest.mark.parametrize(
    "text,message",
    [
        ("models: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested more than 20 levels deep"),
        ('a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n', "anchors and aliases"),
        ("# " + "x" * (2 << 20) + "\nmodels: []\n", "may be at most 1,048,576 bytes"),
    ],
    ids=["deep", "alias-bomb", "huge-comment"],
)
def test_hostile_yaml_is_refused_at_once(tmp_path, capsys, text, message):
    models = tmp_path / "models.yaml"
    models.write_text(text)
    argv = ["evaluate", "--model", "t5-small", "--dataset", "dce", "--split", "test", "--out", str(tmp_path)]
    assert main([*argv, "--models", str(models)]) == 2
    assert message in one_line_error(capsys)
    spec = tmp_path / "grid.yaml"
    spec.write_text(text)
    assert main(["grid", str(spec), "--dry-run"]) == 2
    assert message in one_line_error(capsys)


def test_a_grid_asking_more_documents_than_there_are_is_refused(tmp_path, capsys):
    spec = tmp_path / "grid.yaml"
    spec.write_text(
        f"models: {REPO / 'models.yaml'}\nfinetune:\n  - {{models: t5-small, datasets: [cdr, dce], settings: [k16, k99999999999]}}\n"
    )
    assert main(["grid", str(spec), "--dry-run"]) == 2
    err = one_line_error(capsys)
    assert (
        "finetune[0].settings: k99999999999 asks for more training documents than there are (cdr 500, dce 1089)" in err
    )


def test_a_grid_file_cannot_send_runs_outside_its_trees(tmp_path, capsys):
    spec = tmp_path / "grid.yaml"
    spec.write_text(f"models: {REPO / 'models.yaml'}\nout: /etc\nevaluate: [{{models: t5-small, datasets: cdr}}]\n")
    assert main(["grid", str(spec), "--dry-run"]) == 2
    assert "out: '/etc' is outside the working tree" in one_line_error(capsys)
    # Given on the command line, an absolute folder elsewhere is the user's choice.
    assert main(["grid", str(spec), "--dry-run", "--out", str(tmp_path / "elsewhere")]) == 0
