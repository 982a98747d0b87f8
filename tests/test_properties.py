"""Property-based: arbitrary passages and arbitrary model outputs never make the compare handler or the API raise."""

import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted_models import HOSTILE_OUTPUT, HOSTILE_PASSAGE, scripted_generate

from bre_core.datasets import SPLITS
from bre_core.errors import InputError
from bre_core.tasks import TASKS
from bre_core.ui.compare_tab import BENCHMARK, FREE_TEXT, compare_text, run_comparison

ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and control characters included
PIECES = [
    "the relation between ",
    " and ",
    " is ",
    "; ",
    ".",
    " exists",
    "participate",
    "positive",
    "upregulation",
    "effect",
    "aspirin",
    "COX-2",
    "\n",
    "\x00",
    "<b>",
    "](",
    "![",
    "*",
    HOSTILE_PASSAGE,
    HOSTILE_OUTPUT,
]
TEXT = st.one_of(
    st.text(ANY_CHARACTER, max_size=300),
    st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
    st.binary(max_size=50),
    st.none(),
    st.integers(),
)
OUTPUT = st.one_of(st.text(ANY_CHARACTER, max_size=300), st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
FOREIGN_TAG = re.compile(r"<(?!/?(div|mark)\b)[a-z/!?]", re.IGNORECASE)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class FaultLog(logging.Handler):
    """Keeps the ERROR records logged while it is attached."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("task", sorted(TASKS))
@SETTINGS
@given(text=TEXT, output=OUTPUT, live_a=st.booleans())
def test_the_compare_handler_meets_no_unexpected_fault(ui_context, monkeypatch, task, text, output, live_a):
    # The handler's last guard turns any exception into a message, so "it returned" proves nothing; what must not
    # happen is that guard (or a column's) catching a fault: each such fault is logged at ERROR (errors.log_fault).
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: output))
    faults = FaultLog()
    logging.getLogger().addHandler(faults)
    try:
        result = run_comparison(ui_context, task, "t5-base" if live_a else "gone", "scifive-base", FREE_TEXT, text=text)
    finally:
        logging.getLogger().removeHandler(faults)
    assert faults.records == [], [record.getMessage() for record in faults.records]
    assert isinstance(result.message, str) and result.message
    if result.a is not None:  # it ran: each column is an answer or its error, all of it escaped
        assert result.b.raw == output
        for side in (result.a, result.b):
            assert not FOREIGN_TAG.search(side.passage)
            assert "<img" not in side.caption and "![" not in side.caption
    else:
        assert result.message.startswith("⚠️")


@pytest.mark.parametrize("task", sorted(TASKS))
@SETTINGS
@given(text=TEXT, output=OUTPUT)
def test_the_api_answers_or_refuses_cleanly(ui_context, monkeypatch, task, text, output):
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: output))
    try:
        answer = compare_text(ui_context, task, "t5-base", "scifive-base", text)
    except InputError as refused:
        assert str(refused)  # a message for the caller, which the app turns into a clean error
        return
    assert answer["a"]["output"] == answer["b"]["output"] == output
    assert all(isinstance(r["args"], list) for r in answer["a"]["relations"])


@SETTINGS
@given(
    example_id=st.one_of(st.text(ANY_CHARACTER, max_size=80), st.none(), st.integers()),
    split=st.text(max_size=12).filter(lambda s: s not in SPLITS),
)
def test_benchmark_lookups_never_raise(ui_context, example_id, split):
    result = run_comparison(ui_context, "ddi", "t5-base", "scifive-base", BENCHMARK, split=split, example_id=example_id)
    assert result.message.startswith("⚠️") and result.a is None
