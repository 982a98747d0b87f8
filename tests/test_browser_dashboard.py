"""The Dashboard in Chromium (Playwright): the RQ legend below its plot, no overlapping chart text at 800 px, a
leaderboard header click that sorts by the number, and a row click that opens the row's error cases."""

import re

import pytest
from served_app import served
from test_browser import CHROMIUM, FLAGS, playwright, screenshot

pytestmark = pytest.mark.browser

# Every text element of a chart that draws something, with its box in page coordinates.
TEXT_BOXES = """(root) => [...root.querySelectorAll('svg text')].filter(t => {
    const s = getComputedStyle(t); return t.textContent.trim() && s.display !== 'none' && s.opacity !== '0';
}).map(t => { const b = t.getBoundingClientRect();
    return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height}; }).filter(b => b.w > 0 && b.h > 0)"""


@pytest.fixture(scope="module")
def browser(ui_context):
    from bre_core.ui.app import CSS

    with served(ui_context, css=CSS, max_size=8) as app, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser, app.local_url
        browser.close()


def dashboard(browser, width: int):
    chromium, url = browser
    page = chromium.new_page(viewport={"width": width, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_role("tab", name="Dashboard").click()
    page.locator(".js-plotly-plot").filter(has_text="RQ1: biomedical vs general").first.wait_for()
    page.locator(".js-plotly-plot").filter(has_text="Per-class F1 on").first.wait_for()
    page.wait_for_function("document.querySelectorAll('.pending, .generating').length === 0")
    return page


def overlaps(a: dict, b: dict, slack: float = 1.0) -> bool:
    return (
        a["x"] + slack < b["x"] + b["w"]
        and b["x"] + slack < a["x"] + a["w"]
        and a["y"] + slack < b["y"] + b["h"]
        and b["y"] + slack < a["y"] + a["h"]
    )


def test_rq_legend_is_below_the_plot(browser):
    page = dashboard(browser, 1400)
    rq1 = page.locator(".js-plotly-plot").filter(has_text="RQ1: biomedical vs general").first
    plot_area = rq1.locator("rect.nsewdrag").first.bounding_box()
    legend = rq1.locator("g.legend").first.bounding_box()
    assert legend["y"] >= plot_area["y"] + plot_area["height"]  # under the bars and their axis, not beside them
    assert legend["x"] < plot_area["x"] + plot_area["width"] / 2  # starts at the left, full width available
    assert rq1.locator("text.bartext").count() == 3  # the difference printed on each of the three bars
    assert screenshot(page, "dashboard-1400").stat().st_size > 10_000
    page.close()


def test_no_chart_text_overlaps_at_800_px(browser):
    page = dashboard(browser, 800)
    charts = page.locator(".js-plotly-plot")
    assert charts.count() == 5  # RQ1, RQ2, few-shot, per-class, error classes
    for index in range(charts.count()):
        boxes = charts.nth(index).evaluate(TEXT_BOXES)
        assert len(boxes) >= 2  # a title and its note at least (RQ2 has no fixture pair: its empty state)
        clashes = [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if overlaps(a, b)]
        assert clashes == [], f"chart {index}: {clashes}"
    # the RQ charts stack: the second starts below the first
    first, second = (charts.nth(i).bounding_box() for i in (0, 1))
    assert second["y"] >= first["y"] + first["height"] - 1
    assert screenshot(page, "dashboard-800").stat().st_size > 10_000
    page.close()


def test_a_header_click_sorts_the_leaderboard_by_number(browser):
    page = dashboard(browser, 1280)
    board = page.locator(".virtual-table-viewport").filter(has_text="domain · IFT").first
    headers = board.locator("thead th")
    names = [headers.nth(i).inner_text().replace("⋮", "").strip() for i in range(headers.count())]
    column = names.index("micro-F1")
    # all columns visible at 1280 px: the table needs no horizontal scroll
    scroll, width = board.evaluate("v => [v.scrollWidth, v.clientWidth]")
    assert scroll <= width + 1

    def values():  # gradio 6 draws the body as div[role=gridcell] cells (a virtual list), not as td
        cells = board.locator(f'[role=gridcell][data-col="{column}"]')
        return [float(cells.nth(i).text_content()) for i in range(cells.count())]

    before = values()
    assert len(before) == 18 and before != sorted(before)  # ordered by dataset and setting first
    headers.nth(column).locator("span.header").first.click()
    page.wait_for_timeout(500)
    after = values()
    assert after == sorted(before, reverse=True)  # by the number, best first
    headers.nth(column).locator("span.header").first.click()  # a second click: ascending
    page.wait_for_timeout(500)
    assert values() == sorted(before)
    screenshot(page, "dashboard-sorted")
    page.close()


def test_a_row_click_opens_that_rows_error_cases(browser):
    from urllib.parse import parse_qs, urlparse

    page = dashboard(browser, 1400)
    board = page.locator(".virtual-table-viewport").filter(has_text="domain · IFT").first
    button = page.get_by_role("button", name="Error cases of the clicked row")
    assert button.is_disabled()  # no row chosen yet
    board.locator("[role=gridcell]").filter(has_text=re.compile(r"^\s*t5-base\s*$")).first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some(b => b.innerText.includes('clicked row') && !b.disabled)"
    )
    button.click()
    page.wait_for_url("**?tab=errors*")
    link = parse_qs(urlparse(page.url).query)
    assert link["a"][0].startswith("t5-base__") and link["a"][0].split("__")[1] == link["task"][0]
    # Error cases opens on that run as run A
    page.wait_for_function("() => [...document.querySelectorAll('input')].some(e => e.value.includes('__seed'))")
    assert page.get_by_label("Run A").input_value().startswith(link["a"][0] + " (micro-F1 ")
    assert page.get_by_role("tab", name="Error cases").get_attribute("aria-selected") == "true"
    page.close()
