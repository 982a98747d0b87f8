"""Strings from run folders stay text everywhere: hostile model names, folder names and outputs, in Python and in
a real browser (the Dashboard and Error cases tabs), with nothing of them becoming an element or a request."""

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import FIXTURE_DATA
from fixture_runs import write_run
from served_app import free_port, served

from bre_core.ui import dashboard_figures, errors_tab
from bre_core.ui.compare_view import html_text, markdown_text, plot_text
from bre_core.ui.context import AppContext
from bre_core.ui.dashboard_tab import load_dashboard

PORT = free_port()  # nothing listens there: a request to it is recorded by the browser, and fails
URL = f"http:\\\\127.0.0.1:{PORT}\\rt-payload"  # browsers read backslashes as slashes; a model label has no '/'
# Model names shown as the manifest has them (a name's part after its last '/' is its label: none here).
NAME_A = (
    f'<a class="rt-injected" href="{URL}">link <img class="rt-injected" src="{URL}.png"> '
    '<input class="rt-injected" value="typed"> **bold** $$x^2$$ %{x} &lt; www.example.com a@b.co'
)
NAME_B = (
    f'![i]({URL}.png) [md]({URL}) <b class="rt-injected">b<\\b> __x__ `code` # h <script>window.__pwned=1<\\script>'
)
FOLDER = f'<img class="rt-injected" src="{URL}.png">'  # before each run folder's own name
ENTITY = f'<img class="rt-injected" src="{URL}.png">[e](www.example.com)'
INJECTED = f"""() => [...document.querySelectorAll('*')].filter(e => e.classList.contains('rt-injected')
    || [...e.attributes].some(a => /href|src/.test(a.name) && a.value.includes('{PORT}'))).length"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, ui_context):
    """Two comparable DDI runs named NAME_A and NAME_B in folders starting with FOLDER, and a damaged folder."""
    root = tmp_path_factory.mktemp("hostile-runs")
    outputs = {"Lithium_ddi": f"the relation between {ENTITY} and lithium is mechanism."}
    for model, name in (("t5-base", NAME_A), ("scifive-base", NAME_B)):
        folder = write_run(root, model, "ddi", "test", outputs, FIXTURE_DATA)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["model"]["name"] = name
        (folder / "manifest.json").write_text(json.dumps(manifest))
        folder.rename(folder.with_name(FOLDER + folder.name))
    (root / f"{FOLDER}damaged").mkdir()
    (root / f"{FOLDER}damaged" / "predictions.jsonl").write_text("{}\n")
    return AppContext(models=ui_context.models, data_dir=str(FIXTURE_DATA), runs_dirs=[root])


def runs_of(ctx):
    return sorted(str(run.path) for run in ctx.runs()[0])


def raw_in(figure, text: str) -> bool:
    """Whether `text` is shown in the figure as it is (not as plot_text writes it); legend groups are not shown."""
    shown = figure.to_plotly_json()
    shown["data"] = [{k: v for k, v in trace.items() if k != "legendgroup"} for trace in shown["data"]]
    return json.dumps(text)[1:-1] in json.dumps(shown)


def test_the_escapers_leave_no_markup():
    assert markdown_text("www.example.com http://a.b a@b.co $$x$$") == r"www\.example.com http\://a.b a\@b.co \$\$x\$\$"
    assert markdown_text("<img src=x> &lt;") == "&lt;img src=x&gt; &amp;lt;"
    assert plot_text("<a href=x>%{x} &lt;") == "&lt;a href=x&gt;&#37;{x} &amp;lt;"
    assert html_text('<b title="x">') == "&lt;b title=&quot;x&quot;&gt;"


def test_the_dashboard_shows_run_strings_as_text(hostile):
    *_, few_shot, per_class, message = load_dashboard(hostile.runs_dirs, models=hostile.models, samples=20)
    for figure in (few_shot, per_class):
        names = {trace.name for trace in figure.data}
        assert names == {plot_text(f"{NAME_A} (general)"), plot_text(f"{NAME_B} (biomedical)")}
        assert not raw_in(figure, NAME_A) and not raw_in(figure, NAME_B)
        assert all(plot_text(NAME_A) in t.hovertemplate or plot_text(NAME_B) in t.hovertemplate for t in figure.data)
    assert markdown_text(f"{FOLDER}damaged") in message and "<img" not in message
    pair = pd.DataFrame(
        [{"pair": "p", "seed": 42, "a": NAME_A, "b": NAME_B, "dataset": "ddi", "split": "test", "difference": 0.1}]
    ).assign(low=0.0, high=0.2, a_f1=0.1, b_f1=0.2, documents=2, protocol="study")
    rq1 = dashboard_figures.difference_figure(pair, "rq1", f"{FOLDER}full", {}, {})
    assert not raw_in(rq1, NAME_A) and not raw_in(rq1, NAME_B) and not raw_in(rq1, FOLDER)
    assert plot_text(NAME_B) in rq1.data[0].name and plot_text(NAME_A) in rq1.data[0].hovertemplate


def test_error_cases_show_run_strings_as_text(hostile):
    a, b = runs_of(hostile)
    counts, cases, message = errors_tab.analyse(hostile, a, b)
    assert markdown_text(NAME_B) in message and markdown_text(FOLDER) in message and "<" not in message
    assert ENTITY.lower() in " ".join(cases.relation)  # cells hold the text; the table shows it as text
    passage, relations, _ = errors_tab.open_document(hostile, a, b, "Lithium_ddi")
    assert html_text(NAME_A) in relations and html_text(ENTITY.lower()) in relations
    assert "rt-injected" not in relations.replace(html_text('class="rt-injected"'), "")
    figure = errors_tab.confusion_figure(hostile, a, b, "A")
    assert plot_text(NAME_B) in figure.layout.title.text and not raw_in(figure, NAME_B)
    exported = Path(errors_tab.export_cases(hostile, a, b))
    assert exported.is_file() and "<" not in exported.name and "\\" not in exported.name


@pytest.fixture(scope="module")
def page(hostile):
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, FLAGS  # skips this module's browser test where Chromium is absent

    from bre_core.ui.app import CSS

    with served(hostile, css=CSS, max_size=8) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.requests, page.dialogs = [], []
        page.on("request", lambda request: page.requests.append(request.url))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(app.local_url)
        yield page
        browser.close()


def texts(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all("elements => elements.map(e => e.textContent.trim())")


def test_hostile_run_strings_stay_text_in_the_browser(page):
    page.get_by_role("tab", name="Dashboard").click()
    page.get_by_text("1 run folder(s) skipped").first.wait_for()
    page.locator(".js-plotly-plot .legendtext").first.wait_for()
    page.wait_for_timeout(1000)  # every chart drawn
    shown = page.locator("body").inner_text()
    assert NAME_A in shown and NAME_B in shown and f"{FOLDER}damaged" in shown  # the leaderboard, the message
    legends = texts(page, ".js-plotly-plot .legendtext")
    assert f"{NAME_A} (general)" in legends and f"{NAME_B} (biomedical)" in legends
    assert page.evaluate(INJECTED) == 0

    page.get_by_role("tab", name="Error cases").click()
    page.get_by_text("judged under the").first.wait_for()
    page.get_by_text("Document Lithium_ddi").first.wait_for()
    title = page.locator(".js-plotly-plot .gtitle").filter(has_text="gold class")
    title.first.wait_for()
    message = page.get_by_text("judged under the").first.inner_text()
    assert f"A = {NAME_B} ({FOLDER}" in message and f"B = {NAME_A} ({FOLDER}" in message
    assert f"A: {NAME_B}" in texts(page, "h4") and f"B: {NAME_A}" in texts(page, "h4")
    assert f"A = {NAME_B}: gold class" in title.first.text_content()
    assert any(ENTITY.lower() in cell for cell in texts(page, "td"))
    assert page.evaluate(INJECTED) == 0
    assert page.locator(".katex").count() == 0 and page.evaluate("window.__pwned") is None and not page.dialogs
    assert not [url for url in page.requests if str(PORT) in url or "rt-payload" in url]
