"""End to end in a real headless browser: Debian's Chromium driven by Playwright, against the app served here."""

import os
from pathlib import Path

import pytest
from served_app import served

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("BRE_SCREENSHOT_DIR", Path(__file__).resolve().parents[1] / "test-screenshots"))

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium` (CI does)", allow_module_level=True
    )
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements-dev.txt)")


@pytest.fixture(scope="module")
def app_url(ui_context):
    from bre_core.ui.app import CSS

    with served(ui_context, css=CSS, max_size=8) as app:
        yield app.local_url


@pytest.fixture(scope="module")
def page(app_url):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(app_url)
        yield page
        browser.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_compare_a_benchmark_example_fills_both_columns(page):
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Compare", exact=True).click()
    # Both captions say how the answer was obtained (live: tiny models, the fixture runs cover another split).
    captions = page.locator("text=/live · [0-9.]+ s/")
    captions.nth(1).wait_for()
    assert captions.count() == 2
    page.locator("text=Relations found by both").wait_for()
    assert page.locator(".bre-passage").count() >= 2
    assert screenshot(page, "compare").stat().st_size > 10_000


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label).filter(visible=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_compare_switches_protocol_without_running_again(page):
    page.get_by_role("tab", name="Compare").click()
    choose(page, "Task (decides the instruction and the parser)", "ddi")
    page.get_by_label("Search by id or words").fill("Lithium")
    page.get_by_label("Search by id or words").press("Enter")
    # the fixture runs are full-data seed-42 runs of ddi test (without checkpoints): pick them per column
    for column in ("a", "b"):
        picker = page.locator(f"#variant-{column}")
        picker.get_by_role("combobox").click()
        picker.get_by_role("option", name="finetuned on ddi: full, seed 42 (predictions only)", exact=True).click()
    page.get_by_role("button", name="Compare", exact=True).click()
    # precomputed answers, judged under the study's protocol by default
    page.get_by_text("judged under the study protocol").first.wait_for()
    page.get_by_text(
        "The protocols count t5-base@ddi-full-seed42 and scifive-base@ddi-full-seed42 differently"
    ).first.wait_for()
    assert page.get_by_text("○ missed (gold)").filter(visible=True).count() == 1  # scifive-base's second count
    page.get_by_label("corrected", exact=True).filter(visible=True).check()
    page.get_by_text("judged under the corrected protocol").first.wait_for()
    assert page.get_by_text("○ missed (gold)").filter(visible=True).count() == 0
    assert screenshot(page, "compare-protocols").stat().st_size > 10_000
    page.get_by_label("study", exact=True).filter(visible=True).check()
    choose(page, "Task (decides the instruction and the parser)", "chemprot")  # as the later tests expect


def test_dashboard_draws_charts_from_fixture_runs(page):
    page.get_by_role("tab", name="Dashboard").click()
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    assert page.locator(".js-plotly-plot").count() >= 3
    # the RQ1 chart draws the fixture pair (t5-base, scifive-base): one bar per dataset, not the empty note
    rq1 = page.locator(".js-plotly-plot").filter(has_text="RQ1: biomedical vs general").first
    rq1.wait_for()
    assert "No pair of models.yaml" not in rq1.inner_text()
    assert rq1.locator("g.point").count() == 3
    # the charts' legends name the fixture runs' models with their domain
    page.locator(".js-plotly-plot").filter(has_text="scifive-base (biomedical)").first.wait_for()
    # the study's protocol by default; choosing the corrected one redraws the charts and says so in the page
    page.get_by_text("Scored under the study protocol").first.wait_for()
    page.get_by_label("corrected", exact=True).filter(visible=True).check()
    page.get_by_text("Scored under the corrected protocol").first.wait_for()
    page.locator(".js-plotly-plot").filter(has_text="setting full · corrected protocol").first.wait_for()
    assert screenshot(page, "dashboard").stat().st_size > 10_000


def test_error_cases_opens_a_case(page):
    page.get_by_role("tab", name="Error cases").click()
    # the first dataset and a comparable pair of fixture runs are chosen on load; cases are bucketed
    page.locator("td").filter(has_text="salicylate → COX-2").first.wait_for()
    page.get_by_text("Document 1001").first.wait_for()  # the first case's document opens by itself
    document_id = page.get_by_label("Document id")
    document_id.fill("1002")  # open another document of the runs by its id
    document_id.press("Enter")
    page.get_by_text("Document 1002").first.wait_for()
    page.get_by_text("A: flan-t5-base").first.wait_for()
    assert screenshot(page, "error-cases").stat().st_size > 10_000


def test_hostile_text_stays_inert_in_the_page(page, monkeypatch):
    from scripted_models import HOSTILE_OUTPUT, HOSTILE_PASSAGE, IMAGE, scripted_generate

    monkeypatch.setattr("bre_core.models.generate", scripted_generate(lambda model, source: HOSTILE_OUTPUT))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("tab", name="Compare").click()
    page.get_by_label("Free text").check()
    page.get_by_label("Passage", exact=True).fill(HOSTILE_PASSAGE)
    page.get_by_role("button", name="Compare", exact=True).click()
    passage = page.locator(".bre-passage").filter(has_text="window.__pwned = 1")
    passage.nth(1).wait_for()
    # the strings are on the page as text, highlighted as entities, and nothing of them ran or loaded
    assert passage.first.inner_text().strip() == HOSTILE_PASSAGE
    assert passage.first.locator("mark").count() == 4
    # in each column: once in the relations table, once highlighted in the passage, once in the grounding panel
    assert page.get_by_text(IMAGE, exact=True).filter(visible=True).count() == 6
    assert page.evaluate("window.__pwned") is None and not dialogs
    assert (
        page.locator("script:has-text('__pwned'), img[src='x'], img[src*='pixel.png'], a[href^='javascript']").count()
        == 0
    )
    assert screenshot(page, "escaping").stat().st_size > 10_000
