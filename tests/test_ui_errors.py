"""The Error cases tab's handlers, called as plain functions, and the tab building offline."""

import json
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from test_error_cases import FIXTURE_DATA, HALF, WRONG, write_run

from bre_core import error_cases as ec
from bre_core.config import load_models_file
from bre_core.ui import errors_tab as tab
from bre_core.ui.context import AppContext

DATA = str(FIXTURE_DATA)


# One context per set of folders and data, as the app keeps one: the run lists are the context's.
_CONTEXTS: dict[tuple, AppContext] = {}


def context(runs_dirs=None, data=None) -> AppContext:
    roots = [runs_dirs] if isinstance(runs_dirs, str | Path) else list(runs_dirs or [])
    key = (tuple(str(r) for r in roots), str(data))
    if key not in _CONTEXTS:
        _CONTEXTS[key] = AppContext(load_models_file(), data_dir=data, runs_dirs=[Path(r) for r in roots])
    return _CONTEXTS[key]


def folder(root, name):
    return str(root / name)


def test_empty_state_says_how_to_make_runs(tmp_path):
    datasets, message = tab.dataset_choices(context([str(tmp_path)]))
    assert datasets == [] and "python -m bre_core evaluate" in message and str(tmp_path) in message
    assert tab.dataset_choices(context(None))[1].startswith("**No runs found**")
    counts, cases, message = tab.analyse(context(), None, None)
    assert counts["count"].tolist() == [0] * 6 and cases.empty and message == tab.CHOOSE
    assert (
        tab.open_document(context(), None, None, "x")[2] == tab.CHOOSE
        and tab.export_cases(context(), None, None) is None
    )
    assert len(tab.confusion_figure(context(), None, None).data) == 0


def test_run_lists_offer_only_runs_over_the_same_documents(fixture_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(fixture_runs, root)
    # A run of the same dataset and split over other data (another corpus version) must not be offered as B.
    other = root / "other__chemprot__train__full__seed42"
    shutil.copytree(root / "t5-base__chemprot__train__full__seed42", other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "data_hash": "0" * 64}))

    assert tab.dataset_choices(context(root)) == (["chemprot", "dce", "ddi"], "")
    choices = tab.run_choices(context([str(root)]), "chemprot")
    assert len(choices) == 10 and all(path.startswith(str(root)) for _, path in choices)
    label = {path: label for label, path in choices}[folder(root, "t5-base__chemprot__train__full__seed42")]
    assert label == "t5-base__chemprot__train__full__seed42 (micro-F1 1.000)"
    partners = [
        path
        for _, path in tab.comparable_choices(context(root), folder(root, "t5-base__chemprot__train__full__seed42"))
    ]
    assert len(partners) == 8 and str(other) not in partners
    # B defaults to the first: another model in the same setting and seed, A's own model's runs last.
    assert partners[:2] == [
        folder(root, f"{m}__chemprot__train__full__seed42") for m in ("flan-t5-base", "scifive-base")
    ]
    assert [p.split("/")[-1].split("__")[0] for p in partners[-2:]] == ["t5-base", "t5-base"]
    assert folder(root, "t5-base__chemprot__train__full__seed42") not in partners
    assert tab.comparable_choices(context(root), str(other)) == []
    assert tab.comparable_choices(context(root), None) == []
    # Runs are listed from the last page load (reading every run per click is slow); a reload finds new ones.
    shutil.copytree(other, root / "newer__chemprot__train__full__seed42")
    assert len(tab.run_choices(context(root), "chemprot")) == 10
    tab.dataset_choices(context(root))
    assert len(tab.run_choices(context(root), "chemprot")) == 11


def test_analyse_counts_and_filters(fixture_runs):
    a = folder(fixture_runs, "t5-base__chemprot__train__full__seed42")
    b = folder(fixture_runs, "scifive-base__chemprot__train__full__seed42")
    counts, cases, message = tab.analyse(context(data=DATA), a, b, [], [])
    assert counts.to_dict("records")[:2] == [
        {"bucket": "both right", "count": 1},
        {"bucket": "only A right", "count": 3},
    ]
    assert list(cases.columns) == tab.SHOWN and "key" not in cases.columns
    assert "A = **t5-base**" in message and "4 of 4 cases over 2 documents" in message
    counts, cases, message = tab.analyse(context(data=DATA), a, b, ["only A right"], ["CPR:3", "CPR:6"])
    assert cases["relation"].tolist() == ["Aspirin → NF-kB", "Ibuprofen → PPAR gamma"] and "2 of 4" in message
    # The summary counts the chosen classes over every bucket, so that it shows where their errors are.
    assert counts["count"].tolist() == [0, 2, 0, 0, 0, 0]
    assert tab.class_choices(context(data=DATA), a, b) == ["CPR:3", "CPR:4", "CPR:6"]
    styled = tab.styled(counts)
    assert "color:#2e7d32" in styled.to_html().replace(" ", "")  # both right in the "correct" green


def test_without_the_corpus_the_tab_says_so_and_still_compares(fixture_runs, tmp_path):
    a = folder(fixture_runs, "t5-base__dce__test__k16__seed0")
    b = folder(fixture_runs, "scifive-base__dce__test__k16__seed1")
    _, cases, message = tab.analyse(context(data=str(tmp_path)), a, b, [], [])
    assert cases["bucket"].tolist() == ["only A right", "both wrong"]
    assert "Corpus not available" in message and "data download --dataset dce" in message
    passage, relations, message = tab.open_document(context(data=str(tmp_path)), a, b, "t1")
    assert "Passage not shown" in passage and "{FOLFOX, bevacizumab}" in relations
    # Without an id, the first document with relations opens.
    assert tab.open_document(context(data=str(tmp_path)), a, b, "")[2].startswith("Document **t1**")
    # A corpus that appears later is found: its absence is not remembered.
    shutil.copytree(FIXTURE_DATA / "dce", tmp_path / "dce")
    assert tab.analyse(context(data=str(tmp_path)), a, b, [], [])[2].endswith("over 2 documents.")


def test_document_html_is_escaped_and_coloured(tmp_path):
    evil = 'the relation between <img src=x onerror="alert(1)"> and cox-2 is agonist; ' + HALF
    a = write_run(tmp_path, "evil", "chemprot", "train", {"1001": evil})
    b = write_run(tmp_path, "wrong", "chemprot", "train", {"1001": WRONG})
    passage, relations, message = tab.open_document(context(data=DATA), str(a.path), str(b.path), " 1001 ")
    assert "<img" not in relations and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; → COX-2" in relations
    assert 'title="CHEMICAL"' in passage and ">Aspirin</mark>" in passage
    for outcome, colour in tab.OUTCOME_COLOURS.items():
        assert f"background:{colour}" in relations and f">{outcome}</span>" in relations
    assert f"color:{tab.MODEL_COLOURS['A']}" in relations and "A: evil" in relations and "B: wrong" in relations
    assert "Document **1001**" in message
    _, _, message = tab.open_document(context(data=DATA), str(a.path), str(b.path), "<b>nope</b>")
    assert "&lt;b&gt;nope&lt;/b&gt;" in message and "1001, 1002" in message


def test_confusion_heatmap_per_run(tmp_path):
    a = write_run(tmp_path, "wrong", "chemprot", "train", {"1001": WRONG})
    b = write_run(tmp_path, "half", "chemprot", "train", {"1001": HALF})
    figure = tab.confusion_figure(context(data=DATA), str(a.path), str(b.path), "A")
    heatmap = figure.data[0]
    assert list(heatmap.x) == ["CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", "inhibition", "missed"]
    assert list(heatmap.y)[-1] == "spurious" and heatmap.z[1][0] == 2  # CPR:4 read as CPR:3 twice
    assert heatmap.text[1][0] == "2" and heatmap.text[0][1] == ""  # zeros are not written in the cells
    assert "wrong" in figure.layout.title.text
    b_figure = tab.confusion_figure(context(data=DATA), str(a.path), str(b.path), "B")
    assert "half" in b_figure.layout.title.text and b_figure.data[0].colorscale != heatmap.colorscale


def test_export_writes_the_filtered_cases(fixture_runs, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the files go under the temp folder: this test's
    a = folder(fixture_runs, "t5-base__chemprot__train__full__seed42")
    b = folder(fixture_runs, "scifive-base__chemprot__train__full__seed42")
    path = tab.export_cases(context(data=DATA), a, b, ["only A right"], [], "csv")
    assert (
        path.startswith(str(tmp_path))
        and path.endswith(".csv")
        and "t5-base__chemprot__train__full__seed42__vs__scifive" in path
    )
    frame = pd.read_csv(path, keep_default_na=False)
    assert frame["bucket"].tolist() == ["only A right"] * 3 and list(frame.columns) == [*ec.CASE_COLUMNS, "error class"]
    jsonl = tab.export_cases(context(data=DATA), a, b, [], ["CPR:4"], "jsonl")
    lines = [json.loads(line) for line in Path(jsonl).read_text(encoding="utf-8").splitlines()]
    assert [row["relation"] for row in lines] == ["Aspirin → COX-2", "salicylate → COX-2"]  # as the passage spells them
    assert tab.export_cases(context(data=DATA), a, b, ["only A right"], [], "csv") == path  # same selection, same file


def test_selected_row_opens_its_document():
    assert tab.case_document(SimpleNamespace(row_value=["1001", "both right"], index=(0, 1))) == "1001"
    assert tab.case_document(SimpleNamespace(row_value=None)) == ""


def test_tab_builds_offline(fixture_runs):
    import gradio as gr

    with gr.Blocks() as app:
        tab.build(gr, app, context([str(fixture_runs)], DATA))
    assert any(getattr(block, "label", None) == "Run B (same documents as A)" for block in app.blocks.values())
    with gr.Blocks() as empty:
        tab.build(gr, empty, context())


def test_damaged_run_folders_are_named_and_the_rest_offered(fixture_runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(fixture_runs, root)
    damaged = root / "t5-base__ddi__test__full__seed42"
    (damaged / "predictions.jsonl").write_text('{"id": "Lithium_ddi", "outp', encoding="utf-8")  # cut mid-line
    (root / "half-written").mkdir()
    (root / "half-written" / "predictions.partial.jsonl").write_text("", encoding="utf-8")
    ctx = context([str(root)], DATA)
    datasets, message = tab.dataset_choices(ctx)
    assert datasets == ["chemprot", "dce", "ddi"]
    assert message.startswith("⚠️ **1 run folder(s) skipped**") and "half-written: not a complete run" in message
    # The app reads predictions when a run is opened: the damaged file is named then, and nothing crashes.
    other = folder(root, "scifive-base__ddi__test__full__seed42")
    counts, cases, message = tab.analyse(ctx, folder(root, damaged.name), other, [], [])
    assert message.startswith("**Cannot compare these runs.**") and "damaged run folder" in message
    assert "t5-base\\_\\_ddi\\_\\_test" in message  # the folder named, its underscores not read as emphasis
    assert cases.empty and tab.class_choices(ctx, folder(root, damaged.name), other) == []


def test_cases_are_judged_under_the_chosen_protocol(fixture_runs):
    # DDI test Lithium_ddi lists (Diuretics, lithium, MECHANISM) twice. scifive-base's full run finds it once;
    # its k16 seed-1 run answers nothing. The study counts two annotations, the corrected protocol one.
    a = folder(fixture_runs, "scifive-base__ddi__test__full__seed42")
    b = folder(fixture_runs, "scifive-base__ddi__test__k16__seed1")
    study, corrected = (tab.analyse(context(data=DATA), a, b, [], [], protocol=p) for p in ("study", "corrected"))
    assert study[0]["count"].tolist()[:4] == [0, 1, 0, 1]  # one annotation found by A only, the second by neither
    assert corrected[0]["count"].tolist()[:4] == [0, 1, 0, 0]
    assert "judged under the **study** protocol: 2 of 2 cases" in study[2]
    assert "judged under the **corrected** protocol: 1 of 1 cases" in corrected[2]
    assert tab.analyse(context(data=DATA), a, b, [], [])[2] == study[2]  # the study's by default
    # "missed" badges in the gold column (A, B per annotation) and in each run's own column
    relations = tab.open_document(context(data=DATA), a, b, "Lithium_ddi", protocol="study")[1]
    assert relations.count(">missed</span>") == 3 + 1 + 2  # gold: A's second, B's two; A: one; B: two
    assert (
        tab.open_document(context(data=DATA), a, b, "Lithium_ddi", protocol="corrected")[1].count(">missed</span>")
        == 1 + 0 + 1
    )
    assert tab.export_cases(context(data=DATA), a, b, [], [], "csv", "corrected").endswith("__corrected.csv")
    assert "study protocol" in tab.confusion_figure(context(data=DATA), a, b, "A").layout.title.text
    assert "Unknown protocol 'nope'" in tab.analyse(context(data=DATA), a, b, [], [], protocol="nope")[2]


def test_a_run_written_before_protocols_is_read_as_corrected_and_said(fixture_runs):
    a = folder(fixture_runs, "t5-base__ddi__test__full__seed42")  # written before protocols
    b = folder(fixture_runs, "scifive-base__ddi__test__full__seed42")
    message = tab.analyse(context(data=DATA), a, b, [], [])[2]
    assert message.startswith(
        "A = **t5-base** (t5-base\\_\\_ddi\\_\\_test\\_\\_full\\_\\_seed42), B = **scifive-base** "
        "(scifive-base\\_\\_ddi\\_\\_test\\_\\_full\\_\\_seed42), judged under the **corrected** protocol "
        "(t5-base\\_\\_ddi\\_\\_test\\_\\_full\\_\\_seed42: written before protocols, read as corrected): "
    )
    # chosen, the corrected protocol needs no explanation
    assert (
        "judged under the **corrected** protocol: 1 of 1 cases"
        in tab.analyse(context(data=DATA), a, b, [], [], protocol="corrected")[2]
    )
