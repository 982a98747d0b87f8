"""In Chromium: the Compare tab's first use (the free-text demo runs on the first click), links that open a view,
"Copy link" round trips, and the Compare and Corpus tabs at 1400 and 800 px (screenshots)."""

import pytest
from served_app import served
from test_browser import CHROMIUM, FLAGS, screenshot  # skips this module where Chromium or Playwright is absent

from bre_core.ui.app import CSS

playwright = pytest.importorskip("playwright.sync_api")
# Two checkpoints of the fixture runs (predictions only: the fixture runs hold no checkpoint/), by their variant ids
LINK = "?tab=compare&task=ddi&split=test&id=Lithium_ddi&a=scifive-base%40ddi-full-seed42&b=t5-base%40ddi-k16-seed1"
ANSWER = "the relation between Compound 12 and JAK2 is downregulation."


@pytest.fixture(scope="module")
def app_url(ui_context):
    with served(ui_context, css=CSS, max_size=8) as app:
        yield app.local_url


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, app_url):
    pages = []

    def open_page(query: str = "", width: int = 1400):
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(app_url + query)
        pages.append(page)
        return page

    yield open_page
    for page in pages:
        page.close()


def test_the_free_text_demo_runs_on_the_first_click(open_page, monkeypatch):
    from scripted_models import scripted_generate

    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: ANSWER))
    page = open_page()
    page.get_by_label("Free text").check()
    # the first demo passage is chosen, and its text is in the box
    assert page.get_by_label("Passage", exact=True).input_value().startswith("Selective inhibition of JAK2")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.locator("text=Relations found by both").wait_for()
    assert page.get_by_text("The text is empty").count() == 0
    cells = page.get_by_text("CPR:4 downregulation", exact=True).filter(visible=True)
    cells.nth(1).wait_for()
    assert cells.count() == 2  # one row in each model's table, the class with its word
    legend = page.locator(".bre-legend").filter(visible=True).first
    assert "in a correct relation" in legend.inner_text() and "named by the model" in legend.inner_text()
    assert page.locator(".bre-passage mark.bre-found").filter(has_text="JAK2").count() == 4  # twice in each passage
    screenshot(page, "compare-first-use")


def tables_have_no_placeholder_headers(page) -> bool:
    headers = page.locator("th").filter(visible=True).evaluate_all("cells => cells.map(c => c.innerText.trim())")
    return not {"1", "2", "3"} & set(headers)


def test_a_link_opens_its_example_with_its_models(open_page):
    page = open_page(LINK)
    page.locator(".bre-example-id").filter(has_text="Lithium_ddi").wait_for()
    assert "Diuretics raise lithium levels" in page.locator(".bre-passage").first.inner_text()
    assert page.get_by_label("Model A", exact=True).input_value() == "scifive-base · biomedical"
    assert page.get_by_label("Checkpoint of model A").input_value().startswith("finetuned on ddi: full, seed 42")
    assert page.get_by_label("Model B", exact=True).input_value() == "t5-base · general"
    assert page.get_by_label("Checkpoint of model B").input_value().startswith("finetuned on ddi: k16, seed 1")
    assert page.get_by_label("Task (decides the instruction and the parser)").input_value() == "ddi"
    assert page.get_by_label("Example", exact=True).input_value().startswith("Lithium_ddi — ")
    assert tables_have_no_placeholder_headers(page)
    page.get_by_role("button", name="Compare", exact=True).click()  # precomputed: the fixture runs cover ddi test
    page.get_by_text("judged under the study protocol").first.wait_for()
    assert tables_have_no_placeholder_headers(page)


def test_copy_link_round_trips(open_page, app_url):
    page = open_page(LINK)
    page.locator(".bre-example-id").filter(has_text="Lithium_ddi").wait_for()
    page.get_by_role("button", name="Copy link").click()
    link = page.get_by_label("Link to this view")
    page.wait_for_function(
        "() => [...document.querySelectorAll('textarea, input')].some(e => e.value.includes('?tab='))"
    )
    shown = link.input_value()
    assert shown == app_url.rstrip("/") + "/" + LINK
    again = open_page(shown[len(app_url.rstrip("/")) + 1 :])
    again.locator(".bre-example-id").filter(has_text="Lithium_ddi").wait_for()
    assert again.get_by_label("Checkpoint of model A").input_value().startswith("finetuned on ddi: full, seed 42")
    corpus = open_page("?tab=corpus&task=ddi&split=test&id=Lithium_ddi")
    corpus.get_by_text("(1 of 2 in ddi test)").wait_for()
    corpus.get_by_role("button", name="Copy link").click()
    corpus.wait_for_function(
        "() => [...document.querySelectorAll('textarea, input')].some(e => e.value.includes('tab=corpus'))"
    )
    assert (
        corpus.get_by_label("Link to this view")
        .input_value()
        .endswith("?tab=corpus&task=ddi&split=test&id=Lithium_ddi")
    )


def test_links_open_error_cases_with_their_runs_and_the_dashboard_on_their_dataset(open_page):
    a, b = "scifive-base__ddi__test__k16__seed1", "t5-base__ddi__test__k16__seed0"  # not the tab's first choices
    page = open_page(f"?tab=errors&task=ddi&a={a}&b={b}")
    page.get_by_text("A: scifive-base").first.wait_for()  # the tab opened and read its runs
    assert page.get_by_role("tab", name="Error cases").get_attribute("aria-selected") == "true"
    assert page.get_by_label("Run A").input_value().startswith(a + " (micro-F1 ")
    assert page.get_by_label("Run B (same documents as A)").input_value().startswith(b + " (micro-F1 ")
    page.get_by_role("button", name="Copy link").click()
    page.wait_for_function("() => [...document.querySelectorAll('textarea, input')].some(e => e.value.includes(`b=`))")
    assert page.get_by_label("Link to this view").input_value().endswith(f"?tab=errors&task=ddi&a={a}&b={b}")
    dashboard = open_page("?tab=dashboard&task=ddi")
    dashboard.get_by_text("RQ1: biomedical vs general").first.wait_for()
    chosen = dashboard.locator(".token").filter(visible=True).all_inner_texts()  # the dataset filter's choice
    assert [text.strip("× \n") for text in chosen] == ["ddi"]


def test_a_bad_link_opens_the_default_view_with_a_note(open_page):
    page = open_page("?tab=%3Cimg%20src%3Dx%3E&task=ddi&a=nope&id=zebra")
    page.get_by_text("The link's tab '<img src=x>' is not one of").wait_for()
    page.get_by_text("The link's model a 'nope' is not in the models file").wait_for()
    assert page.locator("img[src='x']").count() == 0
    assert page.get_by_role("tab", name="Compare").get_attribute("aria-selected") == "true"


@pytest.mark.parametrize("width", [1400, 800])
def test_compare_and_corpus_at_width(open_page, width):
    page = open_page(LINK, width=width)
    page.locator(".bre-example-id").filter(has_text="Lithium_ddi").wait_for()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("judged under the study protocol").first.wait_for()
    assert tables_have_no_placeholder_headers(page)
    screenshot(page, f"compare-{width}")
    corpus = open_page("?tab=corpus&task=chemprot&split=train&id=1001", width=width)
    corpus.get_by_text("(1 of 2 in chemprot train)").wait_for()
    assert corpus.get_by_text("CPR:4 downregulation", exact=True).filter(visible=True).count() == 2
    assert corpus.locator(".bre-passage mark[title='CHEMICAL']").filter(has_text="Aspirin").count() == 2
    assert tables_have_no_placeholder_headers(corpus)
    screenshot(corpus, f"corpus-{width}")
