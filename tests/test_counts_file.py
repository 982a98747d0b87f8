"""counts.json beside predictions.jsonl: written with the run, read instead of the predictions, ignored when stale."""

import json
import shutil

import numpy as np

from bre_core.runs import read_run
from bre_core.runs.counts_file import COUNTS
from bre_core.runs.lazy import _parsed

RUN = "t5-base__ddi__test__k16__seed0"  # finds DDI's relation, counted twice by the study's protocol


def counts_of(folder):
    run = read_run(folder, lazy=True)
    return run.predictions.ids(), run.under("corrected").counts(), run.under("study").counts()


def test_written_with_the_run_and_equal_to_the_predictions(fixture_runs):
    folder = fixture_runs / RUN
    written = json.loads((folder / COUNTS).read_text())
    ids, rows = _parsed((folder / "predictions.jsonl").read_bytes())
    assert written["ids"] == ids and written["predictions_bytes"] == (folder / "predictions.jsonl").stat().st_size
    assert {k: [tuple(v) for v in written[k]] for k in ("corrected", "study")} == rows
    ids, corrected, study = counts_of(folder)
    assert list(ids) == written["ids"]
    assert corrected.tolist() == written["corrected"] and study.tolist() == written["study"]
    # the relation is found once; the study counts its gold twice: one FN more under its protocol
    assert study.tolist() == [[1, 0, 1], [0, 0, 0]] and corrected.tolist() == [[1, 0, 0], [0, 0, 0]]


def test_a_stale_or_damaged_counts_file_is_ignored(fixture_runs, tmp_path):
    expected = counts_of(fixture_runs / RUN)
    for fault in ("stale", "damaged", "wrong shape"):
        folder = tmp_path / fault
        shutil.copytree(fixture_runs / RUN, folder)
        written = json.loads((folder / COUNTS).read_text())
        if fault == "stale":  # written for other predictions: its counts would be wrong, its size tells
            written = {**written, "predictions_bytes": written["predictions_bytes"] + 1, "corrected": [[9, 9, 9]] * 2}
            (folder / COUNTS).write_text(json.dumps(written))
        elif fault == "damaged":
            (folder / COUNTS).write_text('{"ids": [')
        else:
            (folder / COUNTS).write_text(json.dumps({**written, "study": [[1, 0]] * len(written["ids"])}))
        ids, corrected, study = counts_of(folder)
        assert ids == expected[0] and np.array_equal(corrected, expected[1]) and np.array_equal(study, expected[2])
