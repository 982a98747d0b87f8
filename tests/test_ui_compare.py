"""Compare tab handlers and the /compare_text API, on tiny offline models and fixture runs."""

import pytest
from served_app import served

from bre_core.errors import BreError
from bre_core.tasks.protocol import SCORING_RULES
from bre_core.ui import compare_view as view
from bre_core.ui.compare_tab import (
    BENCHMARK,
    FREE_TEXT,
    compare_text,
    find_examples,
    kept_answers,
    rejudge,
    run_comparison,
)
from bre_core.ui.context import demo_passages


@pytest.fixture(scope="module")
def ctx(ui_context):
    return ui_context


def full(model, dataset):
    """The variant id of a fixture model's full-data seed-42 run on `dataset` (the fixture runs are finetuned ones)."""
    return f"{model}@{dataset}-full-seed42"


T5_CHEMPROT, SCIFIVE_CHEMPROT = full("t5-base", "chemprot"), full("scifive-base", "chemprot")
T5_DDI, SCIFIVE_DDI = full("t5-base", "ddi"), full("scifive-base", "ddi")


def outcomes(table):
    return table["outcome"].tolist()


def test_benchmark_example_shows_precomputed_predictions(ctx):
    result = run_comparison(ctx, "chemprot", T5_CHEMPROT, SCIFIVE_CHEMPROT, BENCHMARK, split="train", example_id="1001")
    assert result.precomputed
    # fixture rules: t5-base (full) answers 1001 with the gold target, scifive-base with its first relation only
    assert outcomes(result.a.relations) == [view.CORRECT] * 4
    assert outcomes(result.b.relations) == [view.CORRECT] + [view.MISSED] * 3
    assert view.markdown_text("precomputed · run t5-base__chemprot__train__full__seed42") in result.a.caption
    assert f"Relations found by both: 1** · only {view.markdown_text(T5_CHEMPROT)}: 3 · only " in result.message
    # names as the passage writes them (ChemProt's gold is lower-cased), classes with their words
    assert result.gold["head"].tolist() == ["Aspirin", "salicylate", "Aspirin", "Ibuprofen"]
    assert result.scores.set_index("model").loc[SCIFIVE_CHEMPROT, "recall"] == 0.25
    assert "<mark class='bre-correct'>Aspirin</mark>" in result.a.passage


def test_live_rerun_generates_with_both_models(ctx):
    result = run_comparison(
        ctx, "chemprot", "t5-base", "scifive-base", BENCHMARK, split="train", example_id="1001", live=True
    )
    assert not result.precomputed
    for side in (result.a, result.b):
        assert "live ·" in side.caption and side.raw  # tiny random models: some text, no relation expected
        assert set(outcomes(side.relations)) <= {view.CORRECT, view.WRONG, view.MISSED}
        assert outcomes(side.relations).count(view.MISSED) + outcomes(side.relations).count(view.CORRECT) == 4


def test_free_text_has_no_gold_and_escapes_markup(ctx):
    text = "Aspirin <script>alert(1)</script> inhibits COX-2."
    result = run_comparison(ctx, "ddi", "t5-base", "scifive-base", FREE_TEXT, text=text)
    assert result.gold.empty and result.scores.empty
    for side in (result.a, result.b):
        assert "<script>" not in side.passage and "&lt;script&gt;alert(1)&lt;/script&gt;" in side.passage
        assert view.CORRECT not in outcomes(side.relations)


def test_a_model_that_cannot_load_only_affects_its_column(ctx):
    result = run_comparison(ctx, "dce", "gone", "t5-base", FREE_TEXT, text="Aspirin with clopidogrel.")
    assert "⚠️" in result.a.caption and "not a model folder" in result.a.caption and result.a.raw == ""
    assert "live ·" in result.b.caption


@pytest.mark.parametrize(
    "arguments,message",
    [
        (("cdrx", "t5-base", "t5-base", FREE_TEXT, "x"), "Unknown task 'cdrx'"),
        (("cdr", "t5-base", "t5-base", FREE_TEXT, "   "), "The text is empty"),
        (("cdr", "t5-base", "t5-base", FREE_TEXT, "x" * 5_001), "the limit for cdr is 5,000"),
        (("cdr", "t5-base", "t5-base", "Upload", "x"), "Unknown input kind 'Upload'"),
        (("chemprot", "t5-base", "t5-base", BENCHMARK, "", "dev", "1001"), "Unknown split 'dev'"),
        (("chemprot", "t5-base", "t5-base", BENCHMARK, "", "train", "nope"), "No chemprot train example has the id"),
    ],
)
def test_bad_input_gives_a_message(ctx, arguments, message):
    result = run_comparison(ctx, *arguments)
    assert message in result.message and result.a is None


def test_unknown_model_names_are_refused_in_their_column(ctx):
    result = run_comparison(ctx, "dce", "/etc/passwd", "t5-base", FREE_TEXT, text="Aspirin with clopidogrel.")
    assert "Unknown model '/etc/passwd'" in result.a.caption and "live ·" in result.b.caption


def test_examples_are_searchable(ctx):
    assert [value for _, value in find_examples(ctx, "ddi", "test", "DIURETICS")] == ["Lithium_ddi"]
    assert len(find_examples(ctx, "ddi", "test", "")) == 2


def test_demo_passages_cover_every_task():
    passages = demo_passages()
    assert sorted(passages) == ["cdr", "chemprot", "dce", "ddi"]
    assert all(len(p) >= 2 and all(item["text"] for item in p) for p in passages.values())


def test_compare_text_api_function(ctx):
    answer = compare_text(ctx, "chemprot", "t5-base", "gone", "Aspirin inhibits COX-2.")
    assert answer["task"] == "chemprot" and answer["a"]["model"] == "t5-base"
    assert isinstance(answer["a"]["relations"], list) and answer["a"]["seconds"] >= 0
    assert "not a model folder" in answer["b"]["error"]
    for bad in [
        ("nope", "t5-base", "t5-base", "x"),
        ("cdr", "google/flan-t5-base", "t5-base", "x"),
        ("cdr", "t5-base", "t5-base", ""),
    ]:
        with pytest.raises(BreError):
            compare_text(ctx, *bad)


def test_compare_text_through_gradio_client(ctx):
    from gradio_client import Client

    with served(ctx, max_size=8) as app:
        client = Client(app.local_url, verbose=False)
        answer = client.predict(
            "ddi", "t5-base", "scifive-base", "Warfarin interacts with fluconazole.", api_name="/compare_text"
        )
        assert answer["a"]["model"] == "t5-base" and answer["b"]["model"] == "scifive-base"
        assert "output" in answer["a"] and "relations" in answer["b"]
        with pytest.raises(Exception, match="Unknown model"):
            client.predict("ddi", "t5-base", "not-a-model", "Warfarin.", api_name="/compare_text")


def test_on_zero_gpu_both_models_run_inside_one_borrowed_gpu_call(ctx, monkeypatch):
    import sys
    import types

    borrowed = []

    def gpu(duration):
        def wrap(work):
            def call():
                borrowed.append(duration)
                return work()

            return call

        return wrap

    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=gpu))
    answer = compare_text(ctx, "ddi", "t5-base", "scifive-base", "Warfarin interacts with fluconazole.")
    assert "relations" in answer["a"] and "relations" in answer["b"]
    assert borrowed == [int(2 * ctx.max_seconds) + 30]  # long enough for both time limits, asked for once


def rule_line(title):
    rule = next(r for r in SCORING_RULES if r.title == title)
    return f"- *{rule.title}*: study: {view.markdown_text(rule.study)}; corrected: {view.markdown_text(rule.corrected)}"


def test_the_protocol_decides_the_marks_and_a_note_names_the_rules(ctx):
    # ddi test Lithium_ddi lists (Diuretics, lithium, MECHANISM) twice; both fixture models answer it once.
    # scifive-base's run holds both protocols; t5-base's was written before protocols (read as corrected).
    example = {"split": "test", "example_id": "Lithium_ddi"}
    study = run_comparison(ctx, "ddi", T5_DDI, SCIFIVE_DDI, BENCHMARK, **example)  # the default
    corrected = run_comparison(ctx, "ddi", T5_DDI, SCIFIVE_DDI, BENCHMARK, **example, protocol="corrected")
    assert outcomes(study.b.relations) == [view.CORRECT, view.MISSED]  # the second count of it is missed
    assert outcomes(corrected.b.relations) == [view.CORRECT]
    assert study.scores.set_index("model").loc[SCIFIVE_DDI, "recall"] == 0.5
    assert corrected.scores.set_index("model").loc[SCIFIVE_DDI, "recall"] == 1.0
    assert outcomes(study.a.relations) == [view.CORRECT] and study.scores.set_index("model").loc[T5_DDI, "recall"] == 1
    assert "read as corrected: written before protocols" in study.a.caption
    assert "read as corrected" not in corrected.a.caption and "read as corrected" not in study.b.caption
    assert "gold relations: 1 (the study protocol counts 2) · judged under the **study** protocol" in study.message
    assert "gold relations: 1 · judged under the **corrected** protocol" in corrected.message
    note = (
        f"**The protocols count {view.markdown_text(T5_DDI)} and {view.markdown_text(SCIFIVE_DDI)} differently** (study: 1 correct, 0 wrong, 1 missed; "
        "corrected: 1 correct, 0 wrong, 0 missed), by the rule(s):\n" + rule_line("duplicate gold")
    )
    assert note in study.message and note in corrected.message
    # another protocol judges the same answers again, without running anything
    again = rejudge(study.answers, "corrected")
    assert outcomes(again.b.relations) == [view.CORRECT] and again.message == corrected.message
    assert rejudge(None, "study") is None and "Unknown protocol 'nope'" in rejudge(study.answers, "nope").message
    # where the protocols agree, no note
    agree = run_comparison(ctx, "chemprot", T5_CHEMPROT, SCIFIVE_CHEMPROT, BENCHMARK, split="train", example_id="1001")
    assert "The protocols count" not in agree.message and "judged under the **study** protocol" in agree.message


def test_live_answers_are_judged_under_each_protocol(ctx, monkeypatch):
    from scripted_models import scripted_generate

    # "Mechanism": the study maps a label word to its class only as written, so it drops the relation.
    answer = "the relation between Diuretics and lithium is Mechanism."
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: answer))
    example = {"split": "test", "example_id": "Lithium_ddi", "live": True}
    study = run_comparison(ctx, "ddi", "t5-base", "scifive-base", BENCHMARK, **example)
    assert outcomes(study.a.relations) == [view.MISSED, view.MISSED] and "live ·" in study.a.caption
    assert outcomes(rejudge(study.answers, "corrected").a.relations) == [view.CORRECT]
    assert "(study: 0 correct, 0 wrong, 2 missed; corrected: 1 correct, 0 wrong, 0 missed)" in study.message
    # the rules that each, switched alone from either side, move the counts: the label word is dropped only where
    # it is both unrecognised and not scored; the second count of the gold relation is missed either way
    rules = study.message.split("by the rule(s):\n", 1)[1].splitlines()
    assert rules == [rule_line("label words"), rule_line("unknown label words"), rule_line("duplicate gold")]
    # free text: read under the protocol (no gold to judge against), and never kept for a later switch
    free = run_comparison(ctx, "ddi", "t5-base", "scifive-base", FREE_TEXT, text="Diuretics and lithium.")
    assert free.a.relations.empty and "The protocols count" not in free.message
    assert kept_answers(free) is None and kept_answers(study) is study.answers
    corrected = run_comparison(ctx, "ddi", "t5-base", "t5-base", FREE_TEXT, text="Diuretics.", protocol="corrected")
    assert corrected.a.relations["relation"].tolist() == ["MECHANISM"]


def test_when_no_single_rule_explains_a_disagreement_the_note_says_so(ctx, monkeypatch):
    # No fixture output needs two rules at once to be counted differently; stand in for differing_rules.
    monkeypatch.setattr("bre_core.disagreements.differing_rules", lambda *args: ())
    result = run_comparison(ctx, "ddi", T5_DDI, SCIFIVE_DDI, BENCHMARK, split="test", example_id="Lithium_ddi")
    assert (
        "differently** (study: 1 correct, 0 wrong, 1 missed; corrected: 1 correct, 0 wrong, 0 missed): several "
        "rules act together" in result.message
    )
    assert "*duplicate gold*" not in result.message


def test_a_passage_cut_at_the_models_limit_is_flagged_in_its_column(ctx, monkeypatch):
    from bre_core.models import Generation

    def generate(
        loaded, sources, max_new_tokens, batch_size=16, progress=False, *, max_seconds=None, refuse_long=False
    ):
        tokens = 512 if loaded.spec.name == "t5-base" else 20  # t5-base (seq2seq) read its 512 tokens
        return [Generation("No drug-gene relationships are established.", tokens, 8, 0.01) for _ in sources]

    monkeypatch.setattr("bre_core.models.generate", generate)
    example = {"split": "train", "example_id": "1001", "live": True}
    result = run_comparison(ctx, "chemprot", "t5-base", "scifive-base", BENCHMARK, **example)
    flag = "✂️ **passage cut at 512 tokens** (the model's limit): it did not read the rest"
    assert flag in result.a.caption and "✂️" not in result.b.caption
    assert result.answers.cut == {"a": 512}
    # the flag stays when another protocol judges the same answers
    assert flag in rejudge(result.answers, "corrected").a.caption


def test_classes_are_shown_with_their_words_and_names_as_the_passage_writes_them(ctx, monkeypatch):
    from scripted_models import scripted_generate

    answer = "the relation between aspirin and cox-2 is downregulation; the relation between x and y is agonist"
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: answer))
    result = run_comparison(
        ctx, "chemprot", "t5-base", "t5-base", BENCHMARK, split="train", example_id="1001", live=True
    )
    rows = result.a.relations[["head", "relation", "tail", "outcome"]].values.tolist()
    assert rows == [
        ["Aspirin", "CPR:4 downregulation", "COX-2", view.CORRECT],
        ["x", "CPR:5 agonist", "y", view.WRONG],
        ["salicylate", "CPR:4 downregulation", "COX-2", view.MISSED],
        ["Aspirin", "CPR:3 upregulation", "NF-kB", view.MISSED],
        ["Ibuprofen", "CPR:6 antagonist", "PPAR gamma", view.MISSED],
    ]
    # each outcome has its colour in the passage: the missed relations' names that the model did not name
    assert "<mark class='bre-missed'>Ibuprofen</mark>" in result.a.passage
    assert "<mark class='bre-correct'>COX-2</mark>" in result.a.passage
    # DDI matches names case-sensitively: a model's name is shown as it wrote it
    ddi = run_comparison(ctx, "ddi", "t5-base", "t5-base", FREE_TEXT, text="Aspirin and warfarin.")
    assert ddi.a.relations.empty


def test_the_legend_names_every_highlight_colour():
    legend = view.legend_html()
    for css, meaning in view.LEGEND:
        assert f"<mark class='{css}'>{meaning}</mark>" in legend
    assert [css for css, _ in view.LEGEND] == ["bre-correct", "bre-wrong", "bre-missed", "bre-found"]


def test_random_and_searched_examples_have_one_label(ctx):
    import random

    from bre_core.ui.compare_examples import choices_with, example_preview, random_example

    label, chosen = random_example(ctx, "ddi", "test", random.Random(3))
    assert (label, chosen) in find_examples(ctx, "ddi", "test", chosen)
    assert label.startswith(f"{chosen} — ")
    assert choices_with(ctx, "ddi", "test", "Lithium_ddi")[0] == (
        "Lithium_ddi — Diuretics raise lithium levels. Diuretics raise lithium levels.",
        "Lithium_ddi",
    )
    preview = example_preview(ctx, "ddi", "test", "Lithium_ddi")
    assert "<b class='bre-example-id'>Lithium_ddi</b> · ddi test · 1 gold relation(s)" in preview
    assert example_preview(ctx, "ddi", "test", "nope") == "" and example_preview(ctx, "ddi", "test", None) == ""


def test_without_a_corpus_the_guidance_stays(ctx, tmp_path):
    from bre_core.ui.context import AppContext

    bare = AppContext(models=ctx.models, data_dir=str(tmp_path), runs_dirs=[])
    result = run_comparison(bare, "chemprot", "t5-base", "scifive-base", BENCHMARK, split="test", example_id="")
    assert view.markdown_text("python -m bre_core data download --dataset chemprot") in result.message
    assert "Pick an example first" not in result.message
    # with the corpus, an empty pick asks for one
    assert "Pick an example first" in run_comparison(ctx, "chemprot", "t5-base", "t5-base", BENCHMARK).message


def test_the_bare_state_says_what_is_missing_and_the_command_for_each(ctx, tmp_path, monkeypatch):
    import yaml

    from bre_core.config import load_models_file
    from bre_core.ui.context import AppContext
    from bre_core.ui.first_use import bare_state

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    entry = {"params": "250M", "ift": "general", "family": "t5", "architecture": "seq2seq", "domain": "general"}
    models = tmp_path / "models.yaml"
    models.write_text(
        yaml.safe_dump(
            {"models": [{"name": "flan", "hub_id": "google/flan-t5-base", **entry}], "default_pair": ["flan", "flan"]}
        )
    )
    bare = AppContext(models=load_models_file(models), data_dir=str(tmp_path / "data"), runs_dirs=[])
    note = bare_state(bare, "ddi", ("flan", "flan"))
    lines = note.splitlines()
    assert lines[0] == "**Before the first comparison, this app lacks:**" and len(lines) == 4
    assert f"`python -m bre_core data download --dataset ddi --data-dir {tmp_path}/data`" in lines[1]
    assert "`python -m bre_core evaluate --model flan --dataset ddi --split test --out runs`" in lines[2]
    assert "**Model flan cannot be loaded here**" in lines[3] and "`hf download google/flan-t5-base`" in lines[3]
    # the fixture set-up lacks nothing: corpora, runs and model folders are there
    assert bare_state(ctx, "ddi", ("t5-base", "scifive-base")) == ""
