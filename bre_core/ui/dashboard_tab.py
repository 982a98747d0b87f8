"""Dashboard tab: leaderboard over seeds, RQ1/RQ2 paired differences, few-shot curves and per-class F1 of the runs."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pandas as pd

from bre_core import analysis
from bre_core.atomic import write_text_atomic
from bre_core.config import ModelsFile
from bre_core.tasks import HEADLINE, PROTOCOLS
from bre_core.ui import dashboard_figures as figures
from bre_core.ui import protocol_view, taxonomy_figures
from bre_core.ui.compare_view import markdown_text, plot_text
from bre_core.ui.context import AppContext
from bre_core.ui.dashboard_data import DashboardData, choices, load_data
from bre_core.ui.deep_links import View, parse_view, query_of, view_link

__all__ = ["DashboardData", "build", "choices", "load_dashboard", "load_data", "render"]

# The leaderboard on screen: (header, leaderboard column, gradio datatype, width), one value per cell; the CSV
# holds the same columns. Add a column here and it appears on screen and in the CSV.
LEADERBOARD = [
    ("model", "model", "str", "10%"),
    ("domain · IFT", "kind", "str", "8%"),
    ("dataset", "data", "str", "7%"),
    ("setting", "setting", "str", "6%"),
    ("micro-F1", "micro_f1", "number", "5%"),
    ("sd", "micro_f1_sd", "number", "5%"),
    ("95% CI low", "micro_f1_low", "number", "5%"),
    ("95% CI high", "micro_f1_high", "number", "5%"),
    ("n seeds", "seeds", "number", "4%"),
    ("macro-F1", "macro_f1", "number", "5%"),
    *[(f"micro-F1 {name}", f"micro_f1_{name}", "number", "5%") for name in PROTOCOLS],
    ("parse fail.", "parse_failures", "number", "4%"),
    ("docs", "documents", "number", "4%"),
    # beside the protocol's score (README: Beyond exact match); empty for runs written before they were recorded
    ("halluc. rate", "hallucination_rate", "number", "5%"),
    ("relaxed F1", "relaxed_f1", "number", "5%"),
    ("GPU-s / 1k docs", "gpu_s_per_1k", "number", "5%"),  # generation cost from the manifests (empty on CPU)
    ("note", "note", "str", "7%"),
]
TABLE_COLUMNS = {header: column for header, column, _, _ in LEADERBOARD}
TABLE_TYPES = [kind for _, _, kind, _ in LEADERBOARD]
NUMBERS = [header for header, _, kind, _ in LEADERBOARD if kind == "number"]
# In the page: open the link a row click made (a "?tab=errors..." query of deep_links), on this page.
FOLLOW_LINK = """(query) => { if (query && query.startsWith("?tab=")) window.location.search = query; }"""
EMPTY_STATE = """### No runs yet
The dashboard reads run folders from `assets/results/` and from the folders in `$BRE_RUNS_DIR` (several
separated by `{sep}`). Looked in: {folders}.

Produce runs, then press **Refresh**:
- `python -m bre_core evaluate --model flan-t5-base --dataset chemprot --split test --out runs`: zero-shot
  generation on a split;
- `python -m bre_core finetune --model t5-base --dataset chemprot --setting full --out runs`: finetune with the
  study's protocol, then test (`--setting k16 --seed 0` for few-shot);
- `python -m bre_core grid experiments/paper.yaml --out runs`: the study's whole grid (`--dry-run` lists it).

Then start the app with `BRE_RUNS_DIR=runs`, or copy the run folders into `assets/results/`."""


_escape = markdown_text  # the name tests/test_ui_dashboard.py knows it by

# Gradio 6's table sorts from a header's menu (⋮ → Sort descending / ascending), not on a click of the header: this
# makes a click on a leaderboard header choose that sort, descending first, then alternating. Browser-only: no
# request reaches the server (tests/test_browser_dashboard.py checks it sorts by the number).
HEADER_CLICK_SORTS = """() => {
  const choose = (order, tries) => {  // the menu opens on the next frames: look for its item a few times
    const item = [...document.querySelectorAll('[role=menuitem]')]
      .find((el) => el.textContent.toLowerCase().includes('sort ' + order));
    if (item) item.click();
    else if (tries > 0) setTimeout(() => choose(order, tries - 1), 50);
  };
  document.addEventListener('click', (event) => {
    if (!event.isTrusted) return;  // the menu button clicked below
    const th = event.target.closest && event.target.closest('#leaderboard thead th');
    const menu = th && th.querySelector('button.cell-menu-button');
    if (!menu || event.target.closest('button.cell-menu-button')) return;  // the menu itself works as before
    const order = th.dataset.breSort === 'descending' ? 'ascending' : 'descending';
    th.closest('thead').querySelectorAll('th').forEach((other) => delete other.dataset.breSort);
    th.dataset.breSort = order;
    event.stopPropagation();  // the table's own handlers would close the menu opened here
    setTimeout(() => { menu.click(); choose(order, 20); }, 0);
  }, true);
}"""


def write_csv(frame: pd.DataFrame, protocol: str = HEADLINE) -> str:
    """The table as CSV in the temp folder (which gradio may serve), named by content so repeats cost nothing."""
    text = frame.to_csv(index=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / "bre-dashboard" / digest / f"leaderboard-{protocol}.csv"
    if not path.is_file():
        write_text_atomic(path, text)
    return str(path)


def _message(data: DashboardData, protocol: str, shown: pd.DataFrame, skipped: list[str], notes: list[str]) -> str:
    where = ", ".join(f"`{f}`" for f in data.folders) or "no folder"
    if not data.runs:
        parts = [EMPTY_STATE.format(sep=os.pathsep, folders=where)]
    else:
        parts = [
            f"**{len(data.runs)} runs** in {where}; {len(shown)} of {len(data.board)} rows shown. Scored under the "
            f"**{protocol}** protocol (micro-F1, macro-F1 and the charts); micro-F1 under each protocol side by side."
        ]
        if shown.empty:
            parts.append("No run matches the filters: clear one of them.")
    # Runs scored without some protocol (written before protocols): their cell for it is empty, and a chart
    # under it shows them as they are; say which, whatever protocol is chosen.
    missing = next((name for name in PROTOCOLS if any(name not in run.protocols for run in data.runs)), None)
    if missing:
        parts.append(protocol_view.read_as_note(data.runs, missing))
    above = analysis.recall_above_1(data.runs)
    if above:
        parts.append(f"⚠️ **Recall above 1** ({protocol_view.RECALL_ABOVE_1}; the row's note says so):")
        parts.append(
            "\n".join(f"- {markdown_text(run.name)}: {name} recall {recall:.3f}" for run, name, recall in above)
        )
    if notes:
        parts.append("ℹ️ **Pairs compared under another protocol** in the RQ charts (one run lacks the chosen one):")
        parts.append("\n".join(f"- {markdown_text(n)}" for n in notes))
    if data.warnings:
        parts.append(f"⚠️ **{len(data.warnings)} run folder(s) skipped**; everything else is shown:")
        parts.append("\n".join(f"- {markdown_text(w)}" for w in data.warnings))
    if skipped:
        parts.append("⚠️ **Pairs of runs not compared** in the RQ charts:")
        parts.append("\n".join(f"- {markdown_text(w)}" for w in skipped))
    return "\n\n".join(parts)


def _notes(board: pd.DataFrame) -> list[str]:
    return [f"⚠️ recall > 1 ({n} run{'s' * (n > 1)})" if n else "" for n in board.recall_above_1]


# The CSV: the leaderboard's numbers and names, without the "mean ± sd (n)" texts (one value per cell).
TEXTS = {"micro", "macro", *(f"micro_{name}" for name in PROTOCOLS)}
CSV_COLUMNS = [c for c in analysis.LEADERBOARD_COLUMNS if c not in TEXTS] + ["note"]


def leaderboard_table(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard's rows as shown: LEADERBOARD's columns, numbers rounded, one value per cell."""
    shown = board.assign(
        kind=[f"{d} · {i}" for d, i in zip(board.domain, board.ift)],
        data=[analysis.data_label(d, s) for d, s in zip(board.dataset, board.split)],
    )
    table = shown[[column for _, column, _, _ in LEADERBOARD]].copy()
    table.columns = [header for header, _, _, _ in LEADERBOARD]
    return table.round({header: 1 if header in ("parse fail.", "GPU-s / 1k docs") else 4 for header in NUMBERS})


def pivot_table(board: pd.DataFrame, setting: str | None) -> pd.DataFrame:
    """Model x dataset: mean micro-F1 over seeds for one setting (blank where a model has no run)."""
    rows = board[board.setting.astype(str) == str(setting)] if setting else board.iloc[0:0]
    if rows.empty:
        return pd.DataFrame({"model": []})
    rows = rows.assign(data=[analysis.data_label(d, s) for d, s in zip(rows.dataset, rows.split)])
    pivot = rows.pivot_table(index="model", columns="data", values="micro_f1", aggfunc="first").round(4)
    pivot = pivot.assign(mean=pivot.mean(axis=1).round(4)).sort_values("mean", ascending=False)
    return pivot.reset_index().rename_axis(columns=None)


def pivot_of(data: DashboardData, rq_setting=None, protocol=HEADLINE) -> pd.DataFrame:
    """The model x dataset view for the RQ setting (the default one when it has no runs) under the protocol."""
    options = choices(data)
    default = "full" if "full" in options["settings"] else next(iter(options["settings"]), None)
    setting = rq_setting if rq_setting in options["settings"] else default
    return pivot_table(data.view(protocol_view.chosen(protocol)).board, setting)


def errors_link(data: DashboardData, row: dict, protocol=HEADLINE) -> str:
    """The link opening Error cases on a leaderboard row's run (its first seed's, as run A); '' for no such row."""
    board = data.view(protocol_view.chosen(protocol)).board
    if board.empty:
        return ""
    shown = [analysis.data_label(d, s) for d, s in zip(board.dataset, board.split)]  # as the "dataset" column
    same = (board.model == row.get("model")) & (pd.Series(shown, index=board.index) == row.get("dataset"))
    same &= board.setting == row.get("setting")
    found = board[same]
    runs = [(run, dataset) for run, dataset in zip(found.first_run, found.dataset) if isinstance(run, str) and run]
    if not runs:
        return ""
    return view_link(View(tab="errors", task=runs[0][1], a=Path(runs[0][0]).name))


def default_class_data(options: dict, datasets) -> str | None:
    """The per-class chart's data: among those the dataset filter keeps, one with most classes (ChemProt, not CDR)."""
    from bre_core.tasks import get_task

    kept = [d for d in options["data"] if not datasets or d.split(" (")[0] in datasets] or options["data"]
    return max(kept, key=lambda d: len(get_task(d.split(" (")[0]).classes), default=None)


def render(
    data: DashboardData,
    datasets=None,
    settings=None,
    domains=None,
    ifts=None,
    rq_setting: str | None = None,
    class_data: str | None = None,
    class_setting: str | None = None,
    protocol: str | None = HEADLINE,
):
    """(table, CSV path, RQ1 figure, RQ2 figure, few-shot figure, per-class figure, message) under the filters.

    Empty filters select everything. The RQ charts follow the dataset filter, the few-shot and per-class charts
    the dataset, domain and IFT filters; the setting filter applies to the table (the charts have their own).
    `protocol` decides the table's micro-F1, macro-F1 and order, and every chart (pivot: see `pivot_of`).
    """
    from bre_core.tasks import get_task

    protocol = protocol_view.chosen(protocol)
    view, options = data.view(protocol), choices(data)
    board = analysis.filter_rows(view.board, dataset=datasets, setting=settings, domain=domains, ift=ifts)
    board = board.assign(note=_notes(board))
    table = leaderboard_table(board)
    csv = write_csv(board[CSV_COLUMNS], protocol) if data.runs else None

    default = "full" if "full" in options["settings"] else next(iter(options["settings"]), None)
    rq_setting = rq_setting if rq_setting in options["settings"] else default
    rq_figures, skipped, notes = [], [], []
    for question in ("rq1", "rq2"):
        frame = data.differences(question, rq_setting, protocol) if rq_setting else pd.DataFrame()
        skipped += frame.attrs.get("skipped", [])
        notes += frame.attrs.get("notes", [])
        frame = analysis.filter_rows(frame, dataset=datasets) if not frame.empty else frame
        rq_figures.append(figures.difference_figure(frame, question, rq_setting, data.colours, data.about, protocol))

    curve = analysis.filter_rows(view.curve, dataset=datasets, domain=domains, ift=ifts)
    few_shot = figures.few_shot_figure(curve, data.colours, data.about, protocol)

    if class_data not in options["data"] or (datasets and class_data.split(" (")[0] not in datasets):
        class_data = default_class_data(options, datasets)
    class_setting = class_setting if class_setting in options["settings"] else rq_setting
    if class_data is None:
        per_class = figures.empty_figure("Per-class F1", "No runs yet: see the message above.")
    else:
        classes = analysis.filter_rows(view.classes, setting=[class_setting], domain=domains, ift=ifts)
        labels = [analysis.data_label(d, s) for d, s in zip(classes.dataset, classes.split)]
        classes = classes[[label == class_data for label in labels]]
        title = figures.titled(
            f"Per-class F1 on {plot_text(class_data)}", f"setting {plot_text(class_setting)} · {protocol} protocol"
        )
        task = get_task(class_data.split(" (")[0])
        per_class = figures.class_figure(classes, title, data.colours, data.about, task.display_label)
    message = _message(data, protocol, table, sorted(set(skipped)), list(dict.fromkeys(notes)))
    return table, csv, *rq_figures, few_shot, per_class, message


def load_dashboard(folders, *filters, models: ModelsFile | None = None, samples: int = 1000, protocol=None):
    """Read the folders afresh and render (see `render` for the filters, the protocol and the outputs)."""
    return render(load_data(folders, models, samples), *filters, **({} if protocol is None else {"protocol": protocol}))


def _updates(gr, data: DashboardData, values: list):
    """New choices for the seven controls after a (re)load, keeping the selections that still exist."""
    options = choices(data)
    datasets, settings, domains, ifts, rq_setting, class_data, class_setting = values
    multi = [(datasets, "datasets"), (settings, "settings"), (domains, "domains"), (ifts, "ifts")]
    updates = [
        gr.Dropdown(choices=options[key], value=[v for v in (chosen or []) if v in options[key]], multiselect=True)
        for chosen, key in multi
    ]
    default = "full" if "full" in options["settings"] else next(iter(options["settings"]), None)
    for chosen, key, fallback in [
        (rq_setting, "settings", default),
        (class_data, "data", next(iter(options["data"]), None)),
        (class_setting, "settings", default),
    ]:
        updates.append(gr.Dropdown(choices=options[key], value=chosen if chosen in options[key] else fallback))
    return updates


def build(gr, app, ctx: AppContext, tab=None) -> dict:
    """Lay out the tab inside the current gr.Blocks context; read the runs when the tab is first opened (`tab`'s
    select; without a tab, when a page loads), again on Refresh."""

    def current(refresh: bool = False) -> DashboardData:
        # One read shared by every visitor, kept by the context; Refresh lists the folders again (new or finished
        # runs) for every tab, and only folders whose files changed are read again.
        if refresh:
            ctx.runs(refresh=True)
        return ctx.derived("dashboard", lambda: load_data(ctx.runs_dirs, ctx.models, reader=ctx.reader))

    message = gr.Markdown()
    with gr.Row():
        datasets = gr.Dropdown(multiselect=True, label="Dataset", info="empty: all")
        settings = gr.Dropdown(multiselect=True, label="Setting", info="table only; empty: all")
        domains = gr.Dropdown(multiselect=True, label="Domain", info="empty: all")
        ifts = gr.Dropdown(multiselect=True, label="IFT", info="instruction finetuning; empty: all")
        refresh = gr.Button("Refresh", scale=0)
    protocol = protocol_view.radio(gr)
    table = gr.Dataframe(
        elem_id="leaderboard",
        label=(
            "Leaderboard: one row per model, dataset and setting; micro-F1 mean over seeds with its sd and 95% CI "
            "(n seeds), under the chosen protocol; click a header to sort, a row for its per-class F1"
        ),
        headers=list(TABLE_COLUMNS),
        datatype=TABLE_TYPES,
        column_widths=[width for *_, width in LEADERBOARD],
        interactive=False,
        wrap=True,
        max_height=720,
    )
    with gr.Row():
        download = gr.DownloadButton("Download the table (CSV)", size="sm")
        # A row click picks a row: its per-class view below, and this button opens its error cases (by a link the
        # page follows, never an href: run names are not put in the page's links).
        open_errors = gr.Button("Error cases of the clicked row", size="sm", interactive=False)
        row_link = gr.Textbox(visible=False)
    rq_setting = gr.Dropdown(
        label="Setting compared in RQ1, RQ2 and the model × dataset view", info="full data: the study's main one"
    )
    pivot = gr.Dataframe(label="Model × dataset: micro-F1 (mean over seeds)", interactive=False, headers=["model"])
    with gr.Row(equal_height=False):
        with gr.Column(min_width=560):
            rq1 = gr.Plot(label="RQ1", show_label=False)
        with gr.Column(min_width=560):
            rq2 = gr.Plot(label="RQ2", show_label=False)
    few_shot = gr.Plot(label="Few-shot", show_label=False)
    with gr.Row():
        class_data = gr.Dropdown(label="Per-class F1: dataset")
        class_setting = gr.Dropdown(label="Per-class F1: setting")
    per_class = gr.Plot(label="Per-class F1", show_label=False)
    error_plot = gr.Plot(label="Error classes per model (the per-class chart's dataset and setting)")

    controls = [datasets, settings, domains, ifts, rq_setting, class_data, class_setting]
    outputs = [table, download, rq1, rq2, few_shot, per_class, message, pivot]
    shown = controls + [protocol]  # the protocol's choices never change: a reload leaves it as it is

    def show(*values):
        data = current()
        shown = (*render(data, *values), pivot_of(data, values[4], values[-1]))
        data.start_warming(protocol_view.chosen(values[-1]))  # the other settings and protocol, for later clicks
        return shown

    def reload(*values):
        return _updates(gr, current(refresh=True), list(values))

    def first(datasets, settings, domains, ifts, rq_setting, class_data, class_setting, request: gr.Request):
        link = parse_view(query_of(request))  # ?tab=dashboard&task=NAME opens the tab filtered to that dataset
        datasets = [link.task] if link.wants("dashboard") else datasets
        return _updates(gr, current(), [datasets, settings, domains, ifts, rq_setting, class_data, class_setting])

    first.__annotations__["request"] = gr.Request  # a class, not a postponed string: Gradio then fills it in

    def errors(*values):
        return taxonomy_figures.dashboard_chart(current(), *values)

    chart = (errors, [class_data, class_setting, domains, ifts, protocol], error_plot)

    def per_class_of(chosen, evt: gr.SelectData):  # a leaderboard row: its per-class view and its error cases
        row = dict(zip(TABLE_COLUMNS, evt.row_value or ()))
        link = errors_link(current(), row, chosen)
        return (
            gr.Dropdown(value=row.get("dataset")),
            gr.Dropdown(value=row.get("setting")),
            link,
            gr.Button(interactive=bool(link)),
        )

    per_class_of.__annotations__["evt"] = gr.SelectData  # a class, not a postponed string: Gradio then fills it in

    app.load(None, None, None, js=HEADER_CLICK_SORTS)  # runs in the page only (fn None: no endpoint)
    opened = tab.select if tab is not None else app.load
    opened(first, controls, controls, api_visibility="undocumented").then(show, shown, outputs).then(*chart)
    refresh.click(reload, controls, controls).then(show, shown, outputs).then(*chart)
    picked = [class_data, class_setting, row_link, open_errors]
    table.select(per_class_of, protocol, picked, api_visibility="undocumented").then(show, shown, outputs).then(*chart)
    open_errors.click(None, row_link, None, js=FOLLOW_LINK)
    for control in shown:
        # .input, not .change: the updates made by a (re)load would otherwise render seven times over
        control.input(show, shown, outputs, api_visibility="undocumented")
    for control in chart[1]:
        control.input(*chart, api_visibility="undocumented")
    return {"task": datasets}  # what a link to the tab names (deep_links: one chosen dataset)
