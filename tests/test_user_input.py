"""Input limits enforced on the server: what the compare handler and the /compare_text API refuse, and why."""

import pytest

from bre_core.errors import InputError, SourceTooLongError
from bre_core.tasks import get_task
from bre_core.ui.compare_tab import BENCHMARK, FREE_TEXT, compare_text, run_comparison
from bre_core.user_input import check_choice, check_passage

CHEMPROT = get_task("chemprot")


@pytest.fixture(scope="module")
def ctx(ui_context):
    return ui_context


def test_a_clean_passage_is_trimmed_and_its_line_ends_normalised():
    assert check_passage("  \ufeffAspirin\r\ninhibits\rCOX-2.\t\n", CHEMPROT) == "Aspirin\ninhibits\nCOX-2."
    assert check_passage("Ünïcödé ß — 阿司匹林 😀".encode(), CHEMPROT) == "Ünïcödé ß — 阿司匹林 😀"


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "The text is empty"),
        (None, "The text is empty"),
        (" \n\t \r\n ", "The text is empty"),
        (42, "must be a string, not int"),
        (["a"], "must be a string, not list"),
        (b"caf\xe9", "not valid UTF-8 (byte 3 cannot be decoded)"),
        ("ab\udc80cd", "an unpaired surrogate, which is not valid UTF-8 (U+DC80) at line 1, column 3"),
        ("line one\nab\x00c", "a control character (U+0000) at line 2, column 3"),
        ("bell\x07", "a control character (U+0007) at line 1, column 5"),
        ("c1 \x85 control", "a control character (U+0085) at line 1, column 4"),
        ("user\u202etxt.exe", "a text-direction override character (U+202E) at line 1, column 5"),
        ("x\uffff", "a noncharacter (U+FFFF)"),
        ("x" * 8_001, "The text has 8,001 characters; the limit for chemprot is 8,000"),
    ],
)
def test_bad_passages_are_refused_with_what_to_change(text, message):
    with pytest.raises(InputError) as refused:
        check_passage(text, CHEMPROT)
    assert message in str(refused.value)


def test_each_task_has_its_own_character_limit():
    for name, limit in {"chemprot": 8_000, "cdr": 5_000, "ddi": 12_000, "dce": 1_000}.items():
        task = get_task(name)
        assert check_passage("a" * limit, task) == "a" * limit
        with pytest.raises(InputError, match=f"the limit for {name} is {limit:,}"):
            check_passage("a" * (limit + 1), task)


def test_choices_must_be_listed_strings():
    assert check_choice("ddi", "task", ["cdr", "ddi"]) == "ddi"
    with pytest.raises(InputError, match="Unknown task 'dd'. Did you mean 'ddi'"):
        check_choice("dd", "task", ["cdr", "ddi"])
    with pytest.raises(InputError, match="Unknown model 'a dict'"):
        check_choice({"path": "/etc"}, "model", ["t5-base"])


def test_the_compare_handler_gives_a_message_never_an_exception(ctx):
    for text in ["", "\x1b[31mred", "ab\udc80", 3.5, "y" * 1_001]:
        result = run_comparison(ctx, "dce", "t5-base", "scifive-base", FREE_TEXT, text=text)
        assert result.message.startswith("⚠️") and result.a is None and result.b is None
    for example_id in [None, "", 17]:
        result = run_comparison(ctx, "ddi", "t5-base", "t5-base", BENCHMARK, split="test", example_id=example_id)
        assert "Pick an example first" in result.message


def test_the_api_refuses_bad_text_before_any_model_runs(ctx, monkeypatch):
    import bre_core.ui.compare_tab as compare_tab

    monkeypatch.setattr(compare_tab, "_live", lambda *a: pytest.fail("a model ran on refused input"))
    for text, message in [("", "empty"), ("a\x00b", "control character"), ("z" * 12_001, "limit for ddi")]:
        with pytest.raises(InputError, match=message):
            compare_text(ctx, "ddi", "t5-base", "scifive-base", text)


def test_a_passage_longer_than_a_model_reads_is_refused_in_its_column(ctx):
    # The tiny GPT-2 reads 128 positions less the 12 output tokens of the test context; the T5 reads 512.
    words = " ".join(["cisplatin nephrotoxicity"] * 60)
    result = run_comparison(ctx, "cdr", "t5-base", "scifive-base", FREE_TEXT, text=words)
    assert "live ·" in result.a.caption
    assert "which reads at most 116" in result.b.caption and "shorten it by about" in result.b.caption
    answer = compare_text(ctx, "cdr", "scifive-base", "t5-base", words)
    assert "which reads at most 116" in answer["a"]["error"] and "relations" in answer["b"]


def test_benchmark_examples_are_truncated_as_in_the_study(ctx, monkeypatch):
    # A corpus passage is the study's input: cut to fit as the study did, never refused.
    calls = []
    import bre_core.side_by_side as runner

    real = runner.answer

    def spy(*args, **kwargs):
        calls.append(kwargs["refuse_long"])
        return real(*args, **kwargs)

    monkeypatch.setattr("bre_core.side_by_side.answer", spy)  # each side of answer_both
    run_comparison(ctx, "ddi", "t5-base", "scifive-base", BENCHMARK, split="test", example_id="Lithium_ddi", live=True)
    run_comparison(ctx, "ddi", "t5-base", "scifive-base", FREE_TEXT, text="Warfarin and aspirin.")
    assert calls == [False, False, True, True]


def test_source_too_long_error_says_by_how_much():
    error = SourceTooLongError("gpt2-medium", 2_048, 512)
    assert str(error) == (
        "The passage with its instruction is 2,048 tokens for gpt2-medium, which reads at most 512: "
        "shorten it by about 75%."
    )
