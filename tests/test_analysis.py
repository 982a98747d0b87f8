"""The dashboard's numbers (bre_core.analysis) against values worked out by hand from tests/fixture_runs.py.

The fixture corpora behind the runs: chemprot train has 2 documents, the first with 4 gold relations (2 CPR:4,
1 CPR:3, 1 CPR:6), the second none; dce test 2 documents, the first with 2 (1 POS, 1 COMB); ddi test 2, the
first with 1 (MECHANISM). Full runs answer document i by BEHAVIOUR[model][i]: t5-base "gold" on the first,
scifive-base "half" (its first relation only), flan-t5-base "gold". Few-shot runs (k16, seeds 0 and 1) answer
document i with "half" when (i + seed + 1) is odd, else nothing, whatever the model: seed 0 gives the first
relation, seed 1 nothing.
"""

import json
import math
import shutil

import pytest

from bre_core import analysis
from bre_core.config import load_models_file
from bre_core.runs import compare_runs, find_runs, runs_table

SD2 = math.sqrt(2) / 2  # sample sd (ddof=1) of {x, 0} is x * sqrt(2) / 2


@pytest.fixture(scope="module")
def runs(fixture_runs):
    found, warnings = find_runs(fixture_runs)
    assert len(found) == 27 and warnings == []
    return found


def by_name(runs, start):
    return next(r for r in runs if r.name.startswith(start))


def test_setting_order_and_labels():
    assert [analysis.setting_order(s) for s in ("zero-shot", "k16", "k64", "full")] == [0, 16, 64, math.inf]
    assert math.isnan(analysis.setting_order("something-else"))
    assert analysis.data_label("ddi", "test") == "ddi"
    assert analysis.data_label("chemprot", "train") == "chemprot (train)"
    assert analysis.format_mean(0.6123, float("nan"), 1) == "0.612"
    assert analysis.format_mean(0.6123, 0.0311, 5) == "0.612 ± 0.031 (n=5)"


def test_leaderboard_summarises_seeds(runs):
    board = analysis.leaderboard(runs_table(runs))
    assert len(board) == 18  # 3 models x 3 datasets x 2 settings
    row = board[(board.model == "t5-base") & (board.dataset == "chemprot") & (board.setting == "k16")].iloc[0]
    # micro-F1: seed 0 finds 1 of 4 relations -> 2/(2+3) = 0.4; seed 1 finds none -> 0
    assert row.micro_f1 == pytest.approx(0.2) and row.micro_f1_sd == pytest.approx(0.4 * SD2)
    assert row.seeds == 2 and row.micro == "0.200 ± 0.283 (n=2)"
    # macro-F1 over chemprot's 5 classes: seed 0 has CPR:4 F1 = 2/3, the rest 0 -> 2/15; seed 1 -> 0
    assert row.macro_f1 == pytest.approx(1 / 15) and row.macro == "0.067 ± 0.094 (n=2)"
    full = board[(board.model == "scifive-base") & (board.dataset == "chemprot") & (board.setting == "full")].iloc[0]
    assert (full.micro, full.seeds, full.documents, full.parse_failures) == ("0.400", 1, 2, 0)
    # within a dataset: full data first, best first
    chemprot = board[board.dataset == "chemprot"]
    assert chemprot.setting.tolist() == ["full"] * 3 + ["k16"] * 3
    assert chemprot.micro_f1.tolist()[:3] == pytest.approx([1.0, 1.0, 0.4])


def test_filter_rows_empty_selection_keeps_all(runs):
    board = analysis.leaderboard(runs_table(runs))
    assert len(analysis.filter_rows(board, dataset=None, setting=[])) == 18
    assert len(analysis.filter_rows(board, dataset=["ddi"], setting=["k16"])) == 3
    assert analysis.filter_rows(board, domain=["biomedical"]).model.unique().tolist() == ["scifive-base"]


def test_rq1_differences_by_hand(runs):
    frame = analysis.pair_differences(runs, load_models_file().pairs["rq1"])
    assert len(frame) == 9  # t5-base/scifive-base: 3 datasets x (full + 2 few-shot seeds)
    full = frame[frame.setting == "full"]
    assert frame.setting.tolist()[:3] == ["full"] * 3  # full data first
    assert full.pair.unique().tolist() == ["scifive-base − t5-base"]
    assert full.dataset.tolist() == ["chemprot", "dce", "ddi"]
    # chemprot: 0.4 - 1.0; dce: scifive finds 1 of 2 -> 2/3, minus 1.0; ddi: both find the one relation
    assert full.difference.tolist() == pytest.approx([-0.6, -1 / 3, 0.0])
    # Resampling 2 documents: a quarter of the samples hold only the relation-free one (difference 0),
    # the rest the observed difference, so the 2.5/97.5 percentiles are exactly (difference, 0).
    assert full.low.tolist() == pytest.approx([-0.6, -1 / 3, 0.0])
    assert full.high.tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert full.a_f1.tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert full.documents.tolist() == [2, 2, 2]
    # few-shot answers do not depend on the model: no difference
    assert frame[frame.setting == "k16"].difference.abs().max() == 0
    assert frame[frame.setting == "k16"].seed.tolist() == [0, 1, 0, 1, 0, 1]


def test_differences_agree_with_compare_runs(runs):
    frame = analysis.pair_differences(runs, [("t5-base", "scifive-base")], settings=["full"], samples=500, seed=3)
    row = frame[frame.dataset == "dce"].iloc[0]
    a, b = by_name(runs, "t5-base__dce__test__full"), by_name(runs, "scifive-base__dce__test__full")
    reference = compare_runs(a, b, samples=500, seed=3)
    assert row.difference == pytest.approx(reference["difference_b_minus_a"])
    assert [row.low, row.high] == pytest.approx(reference["ci95"])


def test_rq2_differences_and_setting_filter(runs):
    frame = analysis.pair_differences(runs, load_models_file().pairs["rq2"], settings=["full"])
    assert frame.pair.unique().tolist() == ["flan-t5-base − t5-base"]
    assert frame.difference.tolist() == [0.0, 0.0, 0.0]  # both answer every document with its gold
    assert frame.attrs["skipped"] == []
    assert analysis.pair_differences(runs, [("t5-small", "flan-t5-small")]).empty


def _copy(runs, tmp_path, names):
    folders = []
    for name in names:
        folder = tmp_path / name
        shutil.copytree(by_name(runs, name).path, folder)
        folders.append(folder)
    return folders


def _edit_manifest(folder, **changes):
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, **changes}))


def test_runs_over_other_documents_are_not_compared(runs, tmp_path):
    _, b = _copy(runs, tmp_path, ["t5-base__ddi__test__full", "scifive-base__ddi__test__full"])
    _edit_manifest(b, data_hash="something else")
    copied, _ = find_runs(tmp_path)
    frame = analysis.pair_differences(copied, [("t5-base", "scifive-base")])
    assert frame.empty and len(frame.attrs["skipped"]) == 1 and "different documents" in frame.attrs["skipped"][0]


def test_zero_shot_runs_without_seed(runs, tmp_path):
    folders = _copy(runs, tmp_path, ["t5-base__dce__test__full", "scifive-base__dce__test__full"])
    for folder in folders:
        _edit_manifest(folder, setting="zero-shot", seed=None)
    copied, _ = find_runs(tmp_path)
    frame = analysis.pair_differences(copied, [("t5-base", "scifive-base")])
    assert frame.setting.tolist() == ["zero-shot"] and frame.seed.isna().all()
    assert frame.difference.tolist() == pytest.approx([-1 / 3])
    curve = analysis.few_shot_curve(runs_table(copied))
    assert curve.k.tolist() == [0.0, 0.0] and curve.seeds.tolist() == [1, 1]


def test_duplicate_runs_are_counted_once(runs, tmp_path):
    (copy,) = _copy(runs, tmp_path, ["t5-base__ddi__test__k16__seed0"])
    kept, warnings = analysis.unique_runs(runs + find_runs(tmp_path)[0])
    assert len(kept) == 27 and len(warnings) == 1 and str(copy) in warnings[0]


def test_few_shot_curve(runs):
    curve = analysis.few_shot_curve(runs_table(runs))
    t5 = curve[(curve.model == "t5-base") & (curve.dataset == "dce")]
    assert t5.setting.tolist() == ["k16", "full"] and t5.k.tolist() == [16, math.inf]
    # dce k16: seed 0 finds 1 of 2 relations -> 2/3, seed 1 none -> 0; full finds both
    assert t5.micro_f1.tolist() == pytest.approx([1 / 3, 1.0])
    assert t5.sd.iloc[0] == pytest.approx(2 / 3 * SD2) and math.isnan(t5.sd.iloc[1])
    assert t5.seeds.tolist() == [2, 1]


def test_per_class(runs):
    rows = analysis.per_class(runs)
    assert len(rows) == 9 * (5 + 2 + 4)  # runs per dataset x classes of chemprot, dce, ddi
    scifive = rows[(rows.model == "scifive-base") & (rows.dataset == "chemprot") & (rows.setting == "full")]
    assert dict(zip(scifive.label, scifive.f1)) == pytest.approx(
        {"CPR:3": 0, "CPR:4": 2 / 3, "CPR:5": 0, "CPR:6": 0, "CPR:9": 0}
    )
    assert dict(zip(scifive.label, scifive.support)) == {"CPR:3": 1, "CPR:4": 2, "CPR:5": 0, "CPR:6": 1, "CPR:9": 0}
    summary = analysis.per_class_summary(rows)
    cpr4 = summary[
        (summary.model == "t5-base")
        & (summary.dataset == "chemprot")
        & (summary.setting == "k16")
        & (summary.label == "CPR:4")
    ].iloc[0]
    assert (cpr4.f1, cpr4.sd, cpr4.seeds) == pytest.approx((1 / 3, 2 / 3 * SD2, 2))


def test_per_class_precision_is_empty_where_nothing_was_predicted(fixture_runs):
    frame = analysis.per_class(find_runs(fixture_runs)[0])
    nothing = frame[frame.tp + frame.fp == 0]
    assert len(nothing) > 0 and nothing.precision.isna().all()  # "—" on screen, never a precision of 0
    assert frame[frame.tp + frame.fp > 0].precision.notna().all()
    full = frame[(frame.model == "t5-base") & (frame.dataset == "chemprot") & (frame.setting == "full")]
    assert full.set_index("label").loc["CPR:4", ["precision", "tp", "fp"]].tolist() == [1.0, 2, 0]
