"""Links to a view: parse_view checks every value of a link's query, view_link writes one, current_view reads the
screen; plain functions, no server."""

import pytest

from bre_core.ui.compare_view import markdown_text
from bre_core.ui.deep_links import View, notes_markdown, parse_view, query_of, view_link
from bre_core.ui.link_box import current_view

MODELS = ["flan-t5-base", "in-boxbart"]


def test_a_compare_link_opens_its_example_and_models():
    link = "?tab=compare&task=chemprot&split=test&id=23619613&a=flan-t5-base&b=in-boxbart"
    query = dict(pair.split("=") for pair in link[1:].split("&"))
    view = parse_view(query, models=MODELS)
    assert view == View("compare", "chemprot", "test", "23619613", "flan-t5-base", "in-boxbart", (), linked=True)
    assert view.wants("compare") and not view.wants("corpus")
    assert view_link(view) == link


def test_no_view_parameters_is_the_default_view():
    assert parse_view({}) == View() and not View().wants("compare")
    assert parse_view({"utm_source": "x"}) == View()  # other parameters are not a link to a view
    assert parse_view(None) == View() and parse_view(["tab"]) == View()


def test_each_tab_writes_only_what_it_reads():
    view = View("errors", "ddi", "test", "123", "runA", "runB", linked=True)
    assert view_link(view) == "?tab=errors&task=ddi&a=runA&b=runB"
    assert view_link(View("dashboard", "cdr")) == "?tab=dashboard&task=cdr"
    assert view_link(View("about")) == "?tab=about"
    assert view_link(View("corpus", "dce", "train", "a b&c")) == "?tab=corpus&task=dce&split=train&id=a+b%26c"


@pytest.mark.parametrize(
    "query, field, shown, note",
    [
        ({"tab": "nope"}, "tab", "compare", "The link's tab 'nope' is not one of compare, dashboard, errors, corpus"),
        ({"tab": "CORPUS"}, "tab", "corpus", None),
        ({"task": "chem"}, "task", "chemprot", "The link's task 'chem' is not one of cdr, chemprot, dce, ddi"),
        ({"split": "dev"}, "split", "test", "The link's split 'dev' is not one of train, validation, test"),
        ({"a": "gpt2"}, "a", "", "The link's model a 'gpt2' is not in the models file; the default is shown."),
        ({"b": "x" * 201}, "b", "", "The link's b is not a usable value; it is left out."),
        ({"id": "1\u202e2"}, "id", "", "The link's id is not a usable value; it is left out."),
        ({"task": 5}, "task", "chemprot", "The link's task is not a usable value; showing chemprot."),
        ({"id": ["1", "2"]}, "id", "2", None),
    ],
)
def test_every_value_is_checked(query, field, shown, note):
    view = parse_view(query, models=MODELS)
    assert getattr(view, field) == shown
    assert (note is None and not view.notes) or (note is not None and view.notes[0].startswith(note))


def test_a_note_quoting_the_link_is_escaped():
    view = parse_view({"tab": "<img src=x onerror=alert(1)>"})
    shown = notes_markdown(view, markdown_text)
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown


def test_runs_are_names_in_errors_links_and_models_are_checked_only_for_compare():
    view = parse_view({"tab": "errors", "task": "ddi", "a": "t5__ddi__test", "b": "x"}, models=MODELS)
    assert (view.a, view.b, view.notes) == ("t5__ddi__test", "x", ())


def test_query_of_a_request():
    class Request:
        query_params = {"tab": "about"}

    assert query_of(Request()) == {"tab": "about"} and query_of(None) == {}


def test_the_view_on_the_screen_round_trips():
    compare = {"task": "ddi", "split": "train", "id": "D1", "a": "flan-t5-base", "b": "in-boxbart", "kind": "x"}
    shown = current_view("compare", compare)
    assert parse_view(dict(p.split("=") for p in view_link(shown)[1:].split("&")), models=MODELS) == shown
    # typed text is never in a link; a run is named by its folder's name, not its path on the server
    assert current_view("compare", {**compare, "kind": "Free text"}).id == ""
    errors = current_view("errors", {"task": "ddi", "a": "/srv/runs/t5__ddi", "b": "/srv/runs/s5__ddi"})
    assert view_link(errors) == "?tab=errors&task=ddi&a=t5__ddi&b=s5__ddi"
    assert view_link(current_view("dashboard", {"task": ["cdr"]})) == "?tab=dashboard&task=cdr"
    assert view_link(current_view("dashboard", {"task": ["cdr", "ddi"]})) == "?tab=dashboard"
    assert view_link(current_view("nope", {})) == "?tab=compare"
