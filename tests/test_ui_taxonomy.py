"""Grounding and error classes in the app: Compare's panel, the Error cases filter and chart, the Dashboard chart."""

import json

import pytest
from conftest import FIXTURE_DATA
from fixture_runs import write_run
from scripted_models import HOSTILE_OUTPUT, HOSTILE_PASSAGE, scripted_generate
from test_beyond_exact_runs import write_run as write_ddi_run
from test_red_team_markup import ENTITY, NAME_A, raw_in

from bre_core import error_cases, error_classes
from bre_core.config import load_models_file
from bre_core.datasets import load_documents
from bre_core.runs.variants import variant_id
from bre_core.ui import errors_tab, grounding_view, taxonomy_figures
from bre_core.ui.compare_tab import BENCHMARK, FREE_TEXT, run_comparison
from bre_core.ui.compare_view import html_text, plot_text
from bre_core.ui.context import AppContext
from bre_core.ui.dashboard_data import load_data

# ChemProt train 1001: "Aspirin inhibits COX-2 in platelets. Aspirin and salicylate downregulate COX-2 and upregulate
# NF-kB. Ibuprofen is an antagonist of PPAR gamma." Gold: aspirin/cox-2 CPR:4, salicylate/cox-2 CPR:4,
# aspirin/nf-kb CPR:3, ibuprofen/ppar gamma CPR:6. One relation of each kind:
EVERY_CLASS = (
    "the relation between aspirin and cox-2 is downregulation; "  # correct
    "the relation between salicylate and cox-2 is upregulation; "  # wrong label
    "the relation between nf-kb and aspirin is upregulation; "  # reversed arguments
    "the relation between ibuprofen and PPAR-γ is antagonist; "  # boundary: matches only after normalising
    "the relation between aspirin and morphine is agonist; "  # hallucinated: no morphine in the passage
    "the relation between ibuprofen and cox-2 is agonist."  # spurious: both in the passage, no gold pair
)
EXAMPLE = {"split": "train", "example_id": "1001"}


def chip(name: str) -> str:
    """How the panel marks a relation's class."""
    colour = grounding_view.CLASS_COLOURS[name]
    style = f"background:{colour};color:#fff;border-radius:4px;padding:0 5px;font-size:0.85em;white-space:nowrap"
    return f'<span style="{style}">{html_text(grounding_view.CLASS_TITLES[name])}</span>'


def row(name: str, text: str) -> str:
    return f"<tr><td>{chip(name)}</td><td>{html_text(text)}</td></tr>"


def mark(level: str, name: str, shown: str) -> str:
    colour = grounding_view.LEVEL_COLOURS[level]
    return f'<mark style="background:{colour}" title="{html_text(f"{name}: {level}")}">{html_text(shown)}</mark>'


def test_compare_marks_entities_by_grounding_level_and_relations_by_error_class(ui_context, monkeypatch):
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: EVERY_CLASS))
    result = run_comparison(ui_context, "chemprot", "t5-base", "scifive-base", BENCHMARK, **EXAMPLE, live=True)
    panel = result.a.grounding
    assert panel.startswith(grounding_view.level_legend()) and grounding_view.class_legend() in panel
    # every span of a grounded entity, at its level: "aspirin" in "Aspirin" ignores case, "PPAR-γ" is normalized
    assert panel.count(mark("case", "aspirin", "Aspirin")) == 2 and panel.count(mark("case", "cox-2", "COX-2")) == 2
    assert mark("exact", "salicylate", "salicylate") in panel and mark("case", "nf-kb", "NF-kB") in panel
    assert mark("normalized", "PPAR-γ", "PPAR gamma") in panel
    assert "<p><strong>Not in passage</strong> (hallucinated entities): <q>morphine</q></p>" in panel
    expected = [
        row("correct", "CPR:4 downregulation: aspirin → cox-2"),
        row("wrong_label", "CPR:3 upregulation: salicylate → cox-2"),
        row("reversed", "CPR:3 upregulation: nf-kb → aspirin"),
        row("boundary", "CPR:6 antagonist: ibuprofen → PPAR-γ"),
        row("hallucinated", "CPR:5 agonist: aspirin → morphine"),
        row("spurious", "CPR:5 agonist: ibuprofen → cox-2"),
        # the gold relations not found, each in the class of the prediction nearest to it
        row("wrong_label", "CPR:4 downregulation: salicylate → cox-2 (gold, not found)"),
        row("reversed", "CPR:3 upregulation: aspirin → nf-kb (gold, not found)"),
        row("boundary", "CPR:6 antagonist: ibuprofen → ppar gamma (gold, not found)"),
    ]
    assert panel.endswith(f"<table style='width:100%'>{''.join(expected)}</table>")


def test_compare_lists_missed_gold_of_a_precomputed_answer(ui_context):
    # fixture runs: t5-base answers 1001 with its gold target, scifive-base with the first relation only
    a, b = (variant_id(model, "chemprot", "full", 42) for model in ("t5-base", "scifive-base"))
    result = run_comparison(ui_context, "chemprot", a, b, BENCHMARK, **EXAMPLE)
    assert result.precomputed and "Not in passage" not in result.a.grounding
    assert result.a.grounding.count(chip("correct")) == 5  # the legend's and four relations'
    panel = result.b.grounding
    assert panel.count(chip("correct")) == 2 and panel.count(chip("missed")) == 4  # legend + 3 missed gold
    assert row("missed", "CPR:6 antagonist: ibuprofen → ppar gamma (gold, not found)") in panel


def test_free_text_has_grounding_only_and_stays_text(ui_context, monkeypatch):
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: HOSTILE_OUTPUT))
    result = run_comparison(ui_context, "chemprot", "t5-base", "scifive-base", FREE_TEXT, text=HOSTILE_PASSAGE)
    panel = result.a.grounding
    assert grounding_view.level_legend() in panel and "Relations by error class" not in panel  # no gold
    assert "<script" not in panel and "<img" not in panel and html_text("<script>") in panel
    marked = mark("exact", "<script>window.__pwned = 1</script>", "<script>window.__pwned = 1</script>")
    assert marked in panel and "<p><strong>Not in passage</strong>" not in panel  # every entity is in it


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A: one relation of each class on chemprot train 1001; B: the gold answer; a context over both runs."""
    root = tmp_path_factory.mktemp("taxonomy-runs")
    a = write_run(root, "t5-base", "chemprot", "train", {"1001": EVERY_CLASS}, FIXTURE_DATA)
    gold = "; ".join(EVERY_CLASS.split("; ")[:1]) + "; " + "the relation between salicylate and cox-2 is "
    gold += "downregulation; the relation between aspirin and nf-kb is upregulation; the relation between "
    gold += "ibuprofen and ppar gamma is antagonist."
    b = write_run(root, "scifive-base", "chemprot", "train", {"1001": gold}, FIXTURE_DATA)
    ctx = AppContext(load_models_file(), data_dir=str(FIXTURE_DATA), runs_dirs=[root])
    return ctx, str(a), str(b)


def test_error_cases_name_and_filter_the_error_classes(pair):
    ctx, a, b = pair
    counts, cases, message = errors_tab.analyse(ctx, a, b)
    shown = cases[["bucket", "relation", "error class"]].values.tolist()
    # names as the passage spells them (ChemProt's gold is lower-cased); PPAR-γ and morphine are not in it
    assert shown == [
        ["both right", "Aspirin → COX-2", ""],
        ["only B right", "salicylate → COX-2", "A: wrong label"],
        ["only B right", "Aspirin → NF-kB", "A: reversed arguments"],
        ["only B right", "Ibuprofen → PPAR gamma", "A: boundary mismatch"],
        ["spurious in A", "salicylate → COX-2", "A: wrong label"],
        ["spurious in A", "NF-kB → Aspirin", "A: reversed arguments"],
        ["spurious in A", "Ibuprofen → PPAR-γ", "A: boundary mismatch"],
        ["spurious in A", "Aspirin → morphine", "A: hallucinated entity"],
        ["spurious in A", "Ibuprofen → COX-2", "A: spurious pair"],
    ]
    counts, cases, _ = errors_tab.analyse(ctx, a, b, errors=["reversed arguments", "hallucinated entity"])
    assert cases["relation"].tolist() == ["Aspirin → NF-kB", "NF-kB → Aspirin", "Aspirin → morphine"]
    assert dict(zip(counts.bucket, counts["count"])) == {
        "both right": 0,
        "only A right": 0,
        "only B right": 1,
        "both wrong": 0,
        "spurious in A": 2,
        "spurious in B": 0,
    }
    # the filter combines with the buckets and the export keeps the column
    _, cases, _ = errors_tab.analyse(ctx, a, b, ["spurious in A"], [], errors=["wrong label"])
    assert cases["relation"].tolist() == ["salicylate → COX-2"]
    path = errors_tab.export_cases(ctx, a, b, [], [], "jsonl", errors=["spurious pair"])
    assert [json.loads(line)["error class"] for line in open(path, encoding="utf-8")] == ["A: spurious pair"]


def test_error_cases_chart_stacks_each_runs_classes(pair):
    ctx, a, b = pair
    figure = errors_tab.error_class_figure(ctx, a, b)
    assert figure.layout.barmode == "stack" and figure.layout.title.text == "Error classes of A and B (study protocol)"
    bars = {trace.name: list(trace.y) for trace in figure.data}
    # A: wrong label, reversed and boundary are each one false positive and one false negative
    assert bars == {
        "boundary mismatch": [2, 0],
        "wrong label": [2, 0],
        "reversed arguments": [2, 0],
        "hallucinated entity": [1, 0],
        "spurious pair": [1, 0],
        "missed": [0, 0],
    }
    assert list(figure.data[0].x) == ["A = t5-base", "B = scifive-base"]
    assert errors_tab.error_class_figure(ctx, a, None).layout.title.text == errors_tab.CHOOSE


def test_a_run_written_before_error_classes_is_named_not_counted(tmp_path):
    runs = tmp_path / "runs"
    older = write_ddi_run(runs / "older", FIXTURE_DATA, {}, before_analysis=True)
    newer = write_ddi_run(runs / "newer", FIXTURE_DATA, {})
    counts, unavailable = error_classes.class_count_rows([older, newer], ["older", "newer"])
    assert unavailable == [older] and set(counts.model) == {"newer"}
    # without the corpus its cases say so; with it they are computed from the documents
    cases = error_classes.with_error_classes(error_cases.buckets(older, newer), older, newer)
    # (both runs answer nothing: Lithium_ddi's relation, counted twice by the study's protocol, is missed twice)
    assert cases["error class"].tolist() == ["A: unavailable; B: missed"] * 2
    documents = load_documents("ddi", "test", FIXTURE_DATA)
    computed = error_classes.with_error_classes(error_cases.buckets(older, newer), older, newer, documents)
    assert computed["error class"].tolist() == ["A: missed; B: missed"] * 2
    figure = taxonomy_figures.pair_figure(older, newer)
    assert "Unavailable (written before error classes, corpus not at hand): older" in figure.layout.title.text


def test_dashboard_charts_error_classes_per_model(fixture_runs):
    data = load_data([fixture_runs])
    figure = taxonomy_figures.dashboard_chart(data, "chemprot (train)", "full")
    assert figure.layout.title.text == (
        "Error classes per model on chemprot (train) (setting: full; study protocol; mean over seeds)"
    )
    missed = next(trace for trace in figure.data if trace.name == "missed")
    # scifive-base answers 1001 with its first relation only: three gold relations missed; the others answer gold
    assert list(missed.x) == ["flan-t5-base", "scifive-base", "t5-base"] and list(missed.y) == [0, 3, 0]
    # DDI Lithium_ddi lists its one relation twice: the study's protocol misses the second count (k16 seeds: mean)
    ddi = taxonomy_figures.dashboard_chart(data, "ddi", "k16")
    assert list(next(t for t in ddi.data if t.name == "missed").y) == [1.5, 1.5, 1.5]
    corrected = taxonomy_figures.dashboard_chart(data, "ddi", "k16", protocol="corrected")
    assert list(next(t for t in corrected.data if t.name == "missed").y) == [0.5, 0.5, 0.5]
    empty = taxonomy_figures.dashboard_chart(data, "ddi", "no-such-setting")
    assert (
        empty.layout.annotations[0].text == "No run with error classes matches this dataset, setting and the filters."
    )


def test_error_class_charts_show_run_strings_as_text(tmp_path):
    folder = write_run(
        tmp_path,
        "t5-base",
        "ddi",
        "test",
        {"Lithium_ddi": f"the relation between {ENTITY} and x is effect."},
        FIXTURE_DATA,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["name"] = NAME_A
    (folder / "manifest.json").write_text(json.dumps(manifest))
    data = load_data([tmp_path])
    figure = taxonomy_figures.dashboard_chart(data, "ddi", "full")
    assert not raw_in(figure, NAME_A) and plot_text(NAME_A) in figure.data[0].x
    assert next(t for t in figure.data if t.name == "hallucinated entity").y[0] == 1
