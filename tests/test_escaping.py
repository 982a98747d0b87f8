"""Nothing a user types or a model writes runs or renders as markup: passages, outputs and entity names stay text."""

import html
import re

import pytest
from conftest import FIXTURE_DATA
from scripted_models import HOSTILE_OUTPUT as OUTPUT
from scripted_models import HOSTILE_PASSAGE as PASSAGE
from scripted_models import IMAGE, LINK, PICTURE, SCRIPT, scripted_generate

from bre_core.config import load_models_file
from bre_core.ui.compare_tab import FREE_TEXT, compare_text, run_comparison
from bre_core.ui.context import AppContext

TAGS = re.compile(r"<(?!/?(div|mark)\b)[a-z/!]", re.IGNORECASE)  # any tag but the passage's own div and marks


@pytest.fixture
def hostile_model(monkeypatch):
    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: OUTPUT))


def test_the_compare_handler_shows_hostile_text_escaped(ui_context, hostile_model):
    result = run_comparison(ui_context, "chemprot", "t5-base", "scifive-base", FREE_TEXT, text=PASSAGE)
    for side in (result.a, result.b):
        assert side.relations[["head", "tail"]].values.tolist() == [
            [SCRIPT.lower(), IMAGE.lower()],
            [PICTURE.lower(), LINK.lower()],
        ]
        assert side.raw == OUTPUT  # a Textbox shows it as plain text
        assert not TAGS.search(side.passage), side.passage
        assert html.escape(SCRIPT) in side.passage and "<mark class='bre-found'>" in side.passage
        assert html.unescape(re.sub(r"</?(div|mark)[^>]*>", "", side.passage)) == PASSAGE


def test_the_api_returns_hostile_text_as_data(ui_context, hostile_model):
    answer = compare_text(ui_context, "chemprot", "t5-base", "scifive-base", PASSAGE)
    assert answer["a"]["output"] == OUTPUT
    assert answer["a"]["relations"][0] == {"label": "CPR:4", "args": [SCRIPT.lower(), IMAGE.lower()]}


def test_messages_quoting_user_input_cannot_become_markup(ui_context):
    from bre_core.ui.compare_tab import BENCHMARK

    result = run_comparison(
        ui_context, "ddi", "t5-base", "t5-base", BENCHMARK, split="test", example_id=PICTURE + IMAGE
    )
    assert "No ddi test example has the id" in result.message
    assert "![" not in result.message and "<img" not in result.message and "\\!\\[tracker\\]" in result.message
    odd_model = run_comparison(ui_context, "ddi", IMAGE, "t5-base", FREE_TEXT, text="Warfarin.")
    assert "<img" not in odd_model.a.caption and "&lt;img src=x" in odd_model.a.caption


def test_searches_echoed_in_messages_stay_text(fixture_runs):
    from bre_core.ui import errors_tab
    from bre_core.ui.corpus_tab import corpus_overview, show_document

    hostile = show_document("ddi", "test", PICTURE + IMAGE, data_dir=str(FIXTURE_DATA))[-1]
    assert "contains the words" in hostile and "![" not in hostile and "<img" not in hostile
    assert "<img" not in corpus_overview(IMAGE, str(FIXTURE_DATA))[-1]
    runs = sorted(str(p) for p in fixture_runs.glob("*__chemprot__train__full__seed42"))
    missing = errors_tab.open_document(
        AppContext(load_models_file(), data_dir=str(FIXTURE_DATA)), runs[0], runs[1], PICTURE + IMAGE
    )[-1]
    assert missing.startswith("No document") and "![" not in missing and "<img" not in missing
