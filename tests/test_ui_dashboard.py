"""The Dashboard tab's handlers on the fixture runs: table, CSV, figures (traces, values, error bars, colours), states.

Expected numbers are worked out in tests/test_analysis.py's docstring from tests/fixture_runs.py's rules, which
count DDI's duplicated gold relation once (the corrected protocol). Under the study's protocol, the default view,
it counts twice: a DDI run that finds it has micro-F1 2/3 there instead of 1. t5-base's full DDI run was written
before protocols (fixture_runs.OLD_RUN): it is read as corrected everywhere.
"""

import json
import math
import shutil
import time

import pandas as pd
import pytest
from fixture_runs import OLD_RUN, write_run

from bre_core.config import load_models_file
from bre_core.ui import dashboard_tab
from bre_core.ui.context import AppContext
from bre_core.ui.dashboard_figures import PALETTE, model_colours
from bre_core.ui.dashboard_tab import load_dashboard

SD2 = math.sqrt(2) / 2


@pytest.fixture(scope="module")
def dashboard(fixture_runs):
    return load_dashboard([fixture_runs])


def test_table_and_csv(fixture_runs):
    # The corrected protocol's numbers (the DDI row's differ under the study's: see test_both_protocols_side_by_side).
    table, csv, *_, message = load_dashboard([fixture_runs], protocol="corrected")
    assert list(table.columns) == list(dashboard_tab.TABLE_COLUMNS)
    assert len(table) == 18 and "27 runs" in message
    row = table[(table.model == "t5-base") & (table.dataset == "ddi") & (table.setting == "k16")].iloc[0]
    # numbers, one per cell (they sort numerically): seeds 0 and 1 have micro-F1 1 and 0
    assert (row["micro-F1"], row["sd"], row["n seeds"], row["macro-F1"]) == (
        0.5,
        pytest.approx(SD2, abs=1e-4),
        2,
        0.125,
    )
    # the t interval over two seeds that disagree spans more than [0, 1]: kept within it
    assert (row["95% CI low"], row["95% CI high"]) == (0.0, 1.0)
    one_seed = table[(table.model == "scifive-base") & (table.dataset == "dce") & (table.setting == "full")].iloc[0]
    assert one_seed["micro-F1"] == pytest.approx(2 / 3, abs=1e-4) and one_seed["n seeds"] == 1
    assert math.isnan(one_seed["sd"]) and math.isnan(one_seed["95% CI low"])  # one seed: no spread, no interval
    assert all(isinstance(v, (str, int, float)) for v in table.to_numpy().ravel())  # no raw dicts or lists
    written = pd.read_csv(csv)
    assert len(written) == 18 and written.micro_f1.dtype == float and "micro_f1_sd" in written
    # one value per cell: no "mean ± sd (n)" texts and no JSON in the CSV
    assert not any(isinstance(v, str) and ("±" in v or "{" in v) for v in written.to_numpy().ravel())
    k16 = written[(written.model == "t5-base") & (written.dataset == "ddi") & (written.setting == "k16")].iloc[0]
    assert (k16.micro_f1, k16.micro_f1_low, k16.micro_f1_high, k16.seeds) == (0.5, 0.0, 1.0, 2)


def test_filters_apply_to_table_and_csv(fixture_runs):
    table, csv, rq1, *_ = load_dashboard([fixture_runs], ["ddi", "dce"], ["full"], ["general"], [])
    assert sorted(table.dataset.unique()) == ["dce", "ddi"] and set(table.setting) == {"full"}
    assert set(table.model) == {"t5-base", "flan-t5-base"}
    assert len(pd.read_csv(csv)) == 4
    assert rq1.data[0].x == ("dce", "ddi")  # the RQ charts follow the dataset filter


def test_rq1_chart(dashboard):
    rq1 = dashboard[2]
    colours = model_colours(load_names())
    (trace,) = rq1.data
    assert trace.type == "bar" and trace.name == "scifive-base (biomedical) − t5-base (general)"
    assert trace.x == ("chemprot (train)", "dce", "ddi")
    assert trace.y == pytest.approx((-0.6, -1 / 3, 0.0))
    # CI (difference, 0): nothing below the bar's end, up to 0 above it
    assert trace.error_y.arrayminus == pytest.approx((0, 0, 0))
    assert trace.error_y.array == pytest.approx((0.6, 1 / 3, 0))
    assert trace.marker.color == colours["scifive-base"]
    assert [(s.type, s.y0, s.y1) for s in rq1.layout.shapes] == [("line", 0, 0)]  # the zero line
    assert trace.text == ("-0.600", "-0.333", "+0.000")  # printed on each bar; no CI excludes 0: no "*"
    assert "biomedical − general" in rq1.layout.yaxis.title.text
    assert rq1.layout.xaxis.title.text == "Dataset (n = 1 seed per bar)"
    title = rq1.layout.title.text
    assert title.startswith("RQ1: biomedical vs general pretraining<br>") and "setting full" in title
    assert (rq1.layout.legend.orientation, rq1.layout.legend.yanchor) == ("h", "top") and rq1.layout.legend.y < 0


def test_rq2_chart_and_few_shot_setting(fixture_runs, dashboard):
    (trace,) = dashboard[3].data
    assert trace.name == "flan-t5-base (IFT: general) − t5-base (IFT: none)" and trace.y == (0, 0, 0)
    assert trace.marker.color == model_colours(load_names())["flan-t5-base"]
    rq1 = load_dashboard([fixture_runs], [], [], [], [], "k16")[2]
    # seeds 0 and 1 pooled into one bar per dataset (one legend entry), n = 2 seeds
    (trace,) = rq1.data
    assert (
        trace.legendgroup == "scifive-base − t5-base" and trace.name == "scifive-base (biomedical) − t5-base (general)"
    )
    assert trace.y == (0, 0, 0) and [c[6] for c in trace.customdata] == [2, 2, 2]
    # the mean micro-F1 of each model over its two seeds (t5-base on chemprot k16: 0.4 and 0)
    assert [c[0] for c in trace.customdata] == pytest.approx([0.2, 1 / 3, 1 / 3])
    assert rq1.layout.xaxis.title.text == "Dataset (n = 2 seeds per bar)" and "setting k16" in rq1.layout.title.text


def test_few_shot_chart(dashboard):
    few = dashboard[4]
    colours = model_colours(load_names())
    # one panel per dataset, then the shared axis title
    assert [a.text for a in few.layout.annotations] == ["chemprot (train)", "dce", "ddi", "k (training documents)"]
    # per model and panel: the k line and the full-data point set apart (2 traces), one legend entry per model
    assert len(few.data) == 18 and sum(bool(t.showlegend) for t in few.data) == 3
    t5_dce = [t for t in few.data if t.legendgroup == "t5-base" and t.xaxis == "x2"]
    assert [(t.x, t.mode) for t in t5_dce] == [(("16",), "lines+markers"), (("full",), "markers")]
    assert [t.y for t in t5_dce] == [pytest.approx((1 / 3,)), (1.0,)]
    assert t5_dce[0].error_y.array == pytest.approx((2 / 3 * SD2,)) and t5_dce[1].error_y.array == (0,)
    assert t5_dce[0].line.color == colours["t5-base"] and t5_dce[0].line.dash == "solid"
    scifive = [t for t in few.data if t.legendgroup == "scifive-base"]
    assert {t.line.dash for t in scifive} == {"dash"} and scifive[0].name == "scifive-base (biomedical)"
    assert list(few.layout.xaxis.categoryarray) == ["16", "full"]  # ordered by k, full last
    # the dotted line that sets full apart, between "16" (0) and "full" (1), in each of the three panels
    assert [(s.xref, s.x0, s.line.dash) for s in few.layout.shapes] == [(f"x{a}", 0.5, "dot") for a in ("", 2, 3)]
    assert few.layout.yaxis.title.text == "Micro-F1" and few.layout.title.text.startswith("Few-shot: micro-F1 by")


def test_per_class_chart(fixture_runs, dashboard):
    chart = dashboard[5]
    colours = model_colours(load_names())
    assert "chemprot (train)" in chart.layout.title.text and "full" in chart.layout.title.text
    traces = {t.name: t for t in chart.data}
    assert list(traces) == ["flan-t5-base (general, general IFT)", "scifive-base (biomedical)", "t5-base (general)"]
    scifive = traces["scifive-base (biomedical)"]
    # ChemProt classes as words beside their codes (Task.display_label)
    assert scifive.x == (
        "CPR:3 upregulation (n=1)",
        "CPR:4 downregulation (n=2)",
        "CPR:5 agonist (n=0)",
        "CPR:6 antagonist (n=1)",
        "CPR:9 substrate and/or product (n=0)",
    )
    assert scifive.y == pytest.approx((0, 2 / 3, 0, 0, 0))
    assert scifive.marker.color == colours["scifive-base"] and scifive.marker.pattern.shape == "/"
    assert traces["t5-base (general)"].marker.pattern.shape == ""
    # few-shot: mean over the two seeds with sd error bars; the domain filter keeps biomedical models only
    chart = load_dashboard([fixture_runs], [], [], ["biomedical"], [], None, "dce", "k16")[5]
    (trace,) = chart.data
    assert trace.x == ("POS (n=1)", "COMB (n=1)") and trace.y == pytest.approx((0.5, 0))
    assert trace.error_y.visible and trace.error_y.array == pytest.approx((SD2, 0))


def test_colours_are_fixed_by_sorted_name():
    assert model_colours(["t5-base", "bart-base", "t5-base"]) == {"bart-base": PALETTE[0], "t5-base": PALETTE[1]}
    names = load_names()
    assert len(set(model_colours(names).values())) == len(set(names))  # 19 models, 19 colours


def test_empty_state_says_how_to_produce_runs(tmp_path):
    table, csv, rq1, rq2, few, per_class, message = load_dashboard([tmp_path])
    assert table.empty and list(table.columns) == list(dashboard_tab.TABLE_COLUMNS) and csv is None
    for words in ("No runs yet", "python -m bre_core evaluate", "finetune", "grid", "assets/results", "BRE_RUNS_DIR"):
        assert words in message
    for figure in (rq1, rq2, few, per_class):
        assert figure.data == () and figure.layout.annotations[0].text
        assert "None" not in str(figure.layout.title.text)  # never "setting: None"


def test_skipped_folders_are_listed_and_the_rest_renders(fixture_runs, tmp_path):
    for folder in fixture_runs.iterdir():
        if folder.name.startswith(("t5-base__ddi", "scifive-base__ddi")):
            shutil.copytree(folder, tmp_path / folder.name)
    damaged = tmp_path / "t5-base__ddi__test__k16__seed1"
    (damaged / "metrics.json").write_text("{not json")
    interrupted = tmp_path / "scifive-base__ddi__test__k16__seed1"
    (interrupted / "manifest.json").unlink()
    table, _, rq1, *_, message = load_dashboard([tmp_path])
    assert "2 run folder(s) skipped" in message and "damaged run folder" in message and "interrupted" in message
    assert dashboard_tab._escape(damaged) in message  # '__' escaped, not bold
    assert len(table) == 4 and rq1.data[0].x == ("ddi",)
    assert table.loc[table.setting == "k16", "n seeds"].tolist() == [1, 1]


def test_updates_keep_valid_selections(dashboard, fixture_runs):
    import gradio as gr

    data = dashboard_tab.load_data([fixture_runs])
    updates = dashboard_tab._updates(gr, data, [["ddi", "cdr"], None, [], None, "k64", None, "k16"])
    assert updates[0].value == ["ddi"] and updates[0].choices[0][0] == "chemprot"
    assert (updates[4].value, updates[5].value, updates[6].value) == ("full", "chemprot (train)", "k16")
    assert json.dumps(dashboard_tab.choices(data))  # plain lists of strings


def test_tab_builds_offline_quickly(fixture_runs):
    import gradio as gr

    start = time.monotonic()
    with gr.Blocks() as app:
        dashboard_tab.build(gr, app, AppContext(load_models_file(), runs_dirs=[fixture_runs]))
    assert time.monotonic() - start < 10
    # RQ1, RQ2, few-shot, per-class F1, error classes
    assert sum(isinstance(block, gr.Plot) for block in app.blocks.values()) == 5


def load_names():
    from bre_core.config import load_models_file

    return load_models_file().names


def test_pairs_over_other_documents_are_reported(fixture_runs, tmp_path):
    for name in ("t5-base__ddi__test__full__seed42", "scifive-base__ddi__test__full__seed42"):
        shutil.copytree(fixture_runs / name, tmp_path / name)
    manifest = tmp_path / "scifive-base__ddi__test__full__seed42" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "data_hash": "other"}))
    table, _, rq1, *_, message = load_dashboard(str(tmp_path))
    assert len(table) == 2 and rq1.data == ()
    assert "Pairs of runs not compared" in message and "different documents" in message and "skipped" not in message


def row_of(table, model, dataset, setting):
    return table[(table.model == model) & (table.dataset == dataset) & (table.setting == setting)].iloc[0]


def test_both_protocols_side_by_side(fixture_runs, dashboard):
    table, csv, *_, message = dashboard  # the study's protocol, the default
    k16 = row_of(table, "t5-base", "ddi", "k16")
    # seed 0 finds the relation counted twice by the study: P 1, R 1/2 -> 2/3; seed 1 finds nothing
    assert (k16["micro-F1"], k16["micro-F1 study"], k16["micro-F1 corrected"]) == (0.3333, 0.3333, 0.5)
    assert k16["sd"] == pytest.approx(2 / 3 * SD2, abs=1e-4)
    # the run written before protocols: its corrected number, its study cell empty, named in the message
    old = row_of(table, "t5-base", "ddi", "full")
    assert (old["micro-F1"], old["micro-F1 corrected"]) == (1.0, 1.0) and math.isnan(old["micro-F1 study"])
    assert "1 run(s) without the study protocol" in message and "read as corrected" in message
    assert dashboard_tab._escape(OLD_RUN) + ": read as corrected" in message
    scifive = row_of(table, "scifive-base", "ddi", "full")
    assert (scifive["micro-F1"], scifive["micro-F1 corrected"]) == (0.6667, 1.0)
    ddi = table[(table.dataset == "ddi") & (table.setting == "full")]
    assert ddi.model.tolist() == ["t5-base", "flan-t5-base", "scifive-base"]  # sorted by the study's numbers
    written = pd.read_csv(csv)
    assert csv.endswith("leaderboard-study.csv") and written.micro_f1_corrected.notna().all()
    assert written.micro_f1_study.isna().sum() == 1 and "Scored under the **study** protocol" in message
    corrected = load_dashboard([fixture_runs], protocol="corrected")
    old = row_of(corrected[0], "t5-base", "ddi", "full")
    # side by side: the same whatever is chosen
    assert old["micro-F1"] == 1.0 and math.isnan(old["micro-F1 study"])
    assert "Scored under the **corrected** protocol" in corrected[-1] and corrected[1].endswith("corrected.csv")


def test_charts_follow_the_protocol(fixture_runs, dashboard):
    study, corrected = dashboard, load_dashboard([fixture_runs], protocol="corrected")
    # RQ1, full data: on DDI t5-base has only the corrected protocol, so the pair is compared under it, and said
    (trace,) = study[2].data
    assert [c[5] for c in trace.customdata] == ["study", "study", "corrected"]
    assert [c[0] for c in trace.customdata] == pytest.approx([1.0, 1.0, 1.0])
    assert "study protocol" in study[2].layout.title.text and "corrected protocol" in corrected[2].layout.title.text
    assert "Pairs compared under another protocol" in study[-1]
    assert dashboard_tab._escape(f"{OLD_RUN} and scifive-base__ddi__test__full__seed42") in study[-1]
    assert "Pairs compared under another protocol" not in corrected[-1]
    # RQ1, k16: t5-base's seed 0 finds DDI's relation, counted twice by the study (micro-F1 2/3 there, else 1),
    # seed 1 finds nothing: the mean over the two seeds is 1/3 under the study's protocol, 1/2 under the corrected
    k16 = {p: load_dashboard([fixture_runs], [], [], [], [], "k16", protocol=p)[2] for p in ("study", "corrected")}
    for name, a_f1 in (("study", 1 / 3), ("corrected", 0.5)):
        (pooled,) = k16[name].data
        assert pooled.x[-1] == "ddi" and pooled.customdata[-1][0] == pytest.approx(a_f1)
        assert pooled.customdata[-1][5] == name and pooled.y[-1] == 0
    # few-shot: scifive-base on DDI, k16 (mean of 2/3 and 0) and full
    for figure, expected in ((study[4], (1 / 3, 2 / 3)), (corrected[4], (0.5, 1.0))):
        line, full = [t for t in figure.data if t.legendgroup == "scifive-base" and t.xaxis == "x3"]
        assert (line.x, full.x) == (("16",), ("full",)) and line.y + full.y == pytest.approx(expected)
    assert "study protocol" in study[4].layout.title.text
    # per-class: DDI's MECHANISM under each protocol, in the table's setting
    per_class = {
        p: load_dashboard([fixture_runs], [], [], ["biomedical"], [], None, "ddi", "full", protocol=p)[5]
        for p in ("study", "corrected")
    }
    # the study counts the gold relation twice, and finds it once
    assert (per_class["study"].data[0].x[0], per_class["study"].data[0].y[0]) == (
        "MECHANISM (n=2)",
        pytest.approx(2 / 3),
    )
    assert (per_class["corrected"].data[0].x[0], per_class["corrected"].data[0].y[0]) == ("MECHANISM (n=1)", 1.0)


def test_a_run_with_recall_above_1_is_flagged(fixture_data, tmp_path):
    # CDR train 9001 has gold (cisplatin, nephrotoxicity) and (cisplatin, ototoxicity); 9002 (lithium, polydipsia).
    # Two spellings of the first pair count twice under the study's matching: TP 4 of 3 gold.
    outputs = {
        "9001": "The relation between Cisplatin and nephrotoxicity exists; The relation between CDDP and "
        "nephrotoxicity exists; The relation between Cisplatin and ototoxicity exists.",
        "9002": "The relation between Lithium and polydipsia exists.",
    }
    folder = write_run(tmp_path, "t5-base", "cdr", "train", outputs, fixture_data)
    table, _, *_, message = load_dashboard([tmp_path])
    (row,) = table.to_dict("records")
    assert row["note"] == "⚠️ recall > 1 (1 run)" and row["micro-F1 corrected"] == 1.0
    assert row["micro-F1 study"] == 1.1429  # 2 * 4 / (2 * 4 + 0 - 1): FN is -1
    assert "**Recall above 1** (two spellings of one gold pair counted twice, as the study's code does" in message
    assert f"- {dashboard_tab._escape(folder.name)}: study recall 1.333" in message
    # shown under either protocol, since the side-by-side study cell holds it
    table, *_, message = load_dashboard([tmp_path], protocol="corrected")
    assert table.note.tolist() == ["⚠️ recall > 1 (1 run)"] and "study recall 1.333" in message


def test_a_leaderboard_row_links_to_its_error_cases(fixture_runs, dashboard):
    table = dashboard[0]
    row = dict(row_of(table, "t5-base", "ddi", "k16"))  # a row click sends the row's shown values
    data = dashboard_tab.load_data([fixture_runs])
    # Error cases opens on the row's first seed as run A (deep_links parses it; B: the first comparable run)
    assert dashboard_tab.errors_link(data, row) == "?tab=errors&task=ddi&a=t5-base__ddi__test__k16__seed0"
    assert dashboard_tab.errors_link(data, {**row, "model": "no-such-model"}) == ""
