"""Finding run folders (skipping damaged ones with a warning) and tabulating them."""

import json
import shutil

from fixture_runs import BEHAVIOUR, SETTINGS, SPLITS

from bre_core.atomic import write_text_atomic
from bre_core.runs import RunReader, find_runs, runs_table


def test_every_fixture_run_is_found_and_tabulated(fixture_runs):
    runs, warnings = find_runs(fixture_runs)
    assert warnings == [] and len(runs) == len(SPLITS) * len(BEHAVIOUR) * len(SETTINGS)
    table = runs_table(runs)
    full = table[(table.model == "t5-base") & (table.dataset == "chemprot") & (table.setting == "full")]
    assert full.micro_f1.tolist() == [1.0]  # t5-base answers the gold on the one document with relations
    assert set(table.domain) == {"general", "biomedical"} and set(table.seed) == {42, 0, 1}


def test_damaged_and_interrupted_runs_are_skipped_with_a_warning(fixture_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(fixture_runs, root)
    damaged = next(root.iterdir())
    (damaged / "predictions.jsonl").write_text('{"id": "1001", "outp')
    (root / "interrupted").mkdir()
    (root / "interrupted" / "predictions.partial.jsonl").write_text("")
    runs, warnings = find_runs(root, tmp_path / "absent", None)
    assert len(runs) == len(SPLITS) * len(BEHAVIOUR) * len(SETTINGS) - 1
    assert len(warnings) == 2
    assert any(str(damaged) in w and "damaged run folder" in w for w in warnings)
    assert any("interrupted: not a complete run" in w for w in warnings)


def test_runs_read_once_are_reread_only_when_their_files_change(fixture_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(fixture_runs, root)
    reader = RunReader()  # the app's AppContext holds one: runs read before are kept
    first, _ = find_runs(root, reader=reader)
    again, _ = find_runs(root, reader=reader)
    assert [id(r) for r in again] == [id(r) for r in first]  # nothing changed: nothing read again
    changed = first[0].path
    metrics = json.loads((changed / "metrics.json").read_text(encoding="utf-8"))
    write_text_atomic(changed / "metrics.json", json.dumps({**metrics, "macro_f1": 0.125}))
    (changed / "predictions.jsonl").write_text("", encoding="utf-8")  # and one damaged since
    damaged = first[1].path
    (damaged / "predictions.jsonl").write_text('{"id": "1', encoding="utf-8")
    runs, warnings = find_runs(root, reader=reader)
    by_path = {r.path: r for r in runs}
    assert by_path[changed].metrics["macro_f1"] == 0.125 and by_path[changed].predictions == ()
    assert damaged not in by_path and any(str(damaged) in w for w in warnings)
    assert all(by_path[r.path] is r for r in first[2:])
