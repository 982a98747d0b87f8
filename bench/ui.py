"""The Dashboard and Error cases tabs at the study's scale (612 runs), cold and warm, and page load; prints JSON.

    python bench/ui.py                 # build the grid in a temp folder, time, delete it
    python bench/ui.py --keep DIR      # build it in DIR (or reuse a complete one there), keep it
    python bench/ui.py --profile OUT   # also write a cProfile of the cold Dashboard render to OUT

Goals on this project's 2-core CPU: Dashboard first render < 3 s, any control < 1 s; Error cases open < 2 s,
dataset or run switch < 2 s, row click < 0.3 s; page load to an idle Compare tab < 3 s. The outputs are gold
with seeded corruption (bench/ui_grid.py): no model is involved and the numbers describe none.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (offline set-up, the repository on sys.path)
from ui_grid import build_grid, data_folder

from bre_core.config import load_models_file
from bre_core.ui import dashboard_tab, errors_tab
from bre_core.ui.context import AppContext
from bre_core.ui.dashboard_data import load_data

GOALS = {
    "dashboard_first_render": 3.0,
    "dashboard_control": 1.0,
    "errors_open": 2.0,
    "errors_switch": 2.0,
    "errors_row_click": 0.3,
    "page_load_compare_idle": 3.0,
}


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def dashboard(ctx: AppContext, *filters, **options):
    """What opening the tab or moving a control does: the context's data (read once), then a render."""
    data = ctx.derived("dashboard", lambda: load_data(ctx.runs_dirs, ctx.models, reader=ctx.reader))
    return dashboard_tab.render(data, *filters, **options)


def errors_pair(ctx: AppContext, dataset: str) -> tuple[str, str]:
    """What choosing a dataset does: its runs, run A the first, B the first comparable; then the whole chain."""
    a = errors_tab.run_choices(ctx, dataset)[0][1]
    b = errors_tab.comparable_choices(ctx, a)[0][1]
    errors_tab.class_choices(ctx, a, b)
    errors_tab.analyse(ctx, a, b)
    errors_tab.open_document(ctx, a, b, "")
    errors_tab.confusion_figure(ctx, a, b, "A")
    errors_tab.export_cases(ctx, a, b)
    return a, b


def time_tabs(runs: Path, data_dir: Path, profile: str | None) -> dict:
    ctx = AppContext(models=load_models_file(), data_dir=str(data_dir), runs_dirs=[runs])
    figures = {}
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    figures["dashboard_first_render"], _ = timed(dashboard, ctx)
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    figures["dashboard_warm_render"], _ = timed(dashboard, ctx)
    # Before the background warm-up: what a click costs when it is the first to need a setting's 260 runs.
    cold = (None, None, None, None, "k16")
    figures["dashboard_rq_k16_before_warm_up"], _ = timed(dashboard, ctx, *cold)
    # What the tab starts after its first render (DashboardData.start_warming): every setting and protocol.
    data = ctx.derived("dashboard", lambda: None)
    figures["dashboard_background_warm_up"], _ = timed(lambda: data.start_warming().join())
    controls = {
        "dataset filter chemprot": ((["chemprot"],), {}),
        "RQ setting k64 (first time, after the warm-up)": ((None, None, None, None, "k64"), {}),
        "RQ setting zero-shot (first time, after the warm-up)": ((None, None, None, None, "zero-shot"), {}),
        "protocol corrected (first time, after the warm-up)": ((), {"protocol": "corrected"}),
        "per-class dataset ddi": ((None, None, None, None, None, "ddi"), {}),
        "domain filter biomedical": ((None, None, ["biomedical"]), {}),
    }
    figures["dashboard_controls"] = {name: timed(dashboard, ctx, *a, **k)[0] for name, (a, k) in controls.items()}
    figures["dashboard_control"] = max(figures["dashboard_controls"].values())

    def open_errors():
        datasets, _ = errors_tab.dataset_choices(ctx)
        return errors_pair(ctx, datasets[0])

    figures["errors_open"], (a, b) = timed(open_errors)
    switches = {
        "dataset ddi": lambda: errors_pair(ctx, "ddi"),
        "dataset chemprot": lambda: errors_pair(ctx, "chemprot"),
    }
    chemprot = errors_tab.run_choices(ctx, "chemprot")
    switches["run B: another chemprot run"] = lambda: _run_switch(ctx, chemprot[0][1], chemprot[5][1])
    figures["errors_switches"] = {name: timed(switch)[0] for name, switch in switches.items()}
    figures["errors_switch"] = max(figures["errors_switches"].values())
    a, b = chemprot[0][1], chemprot[5][1]
    ids = [record.id for record in ctx.run(a).predictions[:20]]
    clicks = [timed(errors_tab.open_document, ctx, a, b, doc_id)[0] for doc_id in ids]
    figures["errors_row_click"] = max(clicks)
    figures["errors_row_click_median"] = sorted(clicks)[len(clicks) // 2]
    return figures


def _run_switch(ctx, a, b):
    errors_tab.class_choices(ctx, a, b)
    errors_tab.analyse(ctx, a, b)
    errors_tab.open_document(ctx, a, b, "")
    errors_tab.confusion_figure(ctx, a, b, "A")
    errors_tab.export_cases(ctx, a, b)


def page_load(runs: Path, data_dir: Path) -> float | str:
    """Seconds from navigation to an idle Compare tab in Chromium (no request in flight, no spinner)."""
    sys.path.insert(0, str(common.ROOT / "tests"))
    try:
        from playwright.sync_api import sync_playwright
        from served_app import served
    except ImportError as exc:
        return f"not measured: {exc}"
    if not Path("/usr/bin/chromium").exists():
        return "not measured: no Chromium at /usr/bin/chromium"
    ctx = AppContext(models=load_models_file(), data_dir=str(data_dir), runs_dirs=[runs])
    with served(ctx) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        start = time.perf_counter()
        try:
            # not "networkidle": the page keeps its event stream open, so the network is never idle
            page.goto(app.local_url, wait_until="load")
            page.get_by_role("button", name="Compare", exact=True).wait_for()
            page.wait_for_function("document.querySelectorAll('.pending, .generating').length === 0")
            seconds = time.perf_counter() - start
        except Exception as exc:  # the tab figures above still get printed
            seconds = f"not measured: {type(exc).__name__}: {exc}".splitlines()[0]
        browser.close()
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", help="build the grid here (reused when it holds 612 complete runs) and keep it")
    parser.add_argument("--profile", help="write a cProfile of the cold Dashboard render to this file")
    parser.add_argument("--no-browser", action="store_true", help="skip the page-load timing")
    args = parser.parse_args(argv)
    data_dir, data_note = data_folder()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bre-bench-ui-"))
    try:
        built = sum(1 for _ in root.glob("*/manifest.json"))
        build_seconds = 0.0
        if built < 612:
            build_seconds, folders = timed(build_grid, root, data_dir)
            built = len(folders)
        figures = time_tabs(root, data_dir, args.profile)
        figures["page_load_compare_idle"] = "skipped" if args.no_browser else page_load(root, data_dir)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    met = {k: isinstance(figures[k], float) and figures[k] < goal for k, goal in GOALS.items()}
    report = {"runs": built, "data": data_note, "build_seconds": round(build_seconds, 1), "goals_s": GOALS}
    report |= {"met": met, "seconds": _rounded(figures)}
    print(json.dumps(report, indent=2))
    return 0


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 3) if isinstance(value, float) else value


if __name__ == "__main__":
    raise SystemExit(main())
