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

__all__ = ["DashboardData", "build", "choices", "load_dashboard", "load_data", "render"]

# On-screen column -> leaderboard column; the CSV keeps the leaderboard's own (numeric) columns.
TABLE_COLUMNS = {
    "model": "model",
    "domain": "domain",
    "IFT": "ift",
    "dataset": "dataset",
    "split": "split",
    "setting": "setting",
    "micro-F1": "micro",  # these three under the chosen protocol
    "macro-F1": "macro",
    **{f"micro-F1 ({name})": f"micro_{name}" for name in PROTOCOLS},  # side by side, whatever is chosen
    "micro-F1 (mean, for sorting)": "micro_f1",
    "seeds": "seeds",
    "parse failures (mean)": "parse_failures",
    "documents": "documents",
    "GPU-s / 1k docs": "gpu_s_per_1k",  # generation cost from the manifests (empty for CPU runs)
    "note": "note",
    "hallucination rate (mean)": "hallucination",  # beside the protocol's score (README: Beyond exact match)
    "relaxed F1 (mean)": "relaxed",
}
TABLE_TYPES = ["str"] * (8 + len(PROTOCOLS)) + ["number"] * 4 + ["str"] * 3
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
    `protocol` decides the table's micro-F1, macro-F1 and order, and every chart.
    """
    protocol = protocol_view.chosen(protocol)
    view, options = data.view(protocol), choices(data)
    board = analysis.filter_rows(view.board, dataset=datasets, setting=settings, domain=domains, ift=ifts)
    board = board.assign(note=_notes(board))
    table = board.rename(columns={v: k for k, v in TABLE_COLUMNS.items()})[list(TABLE_COLUMNS)]
    table = table.round({"micro-F1 (mean, for sorting)": 4, "parse failures (mean)": 1})
    csv = write_csv(board, protocol) if data.runs else None

    rq_setting = rq_setting or ("full" if "full" in options["settings"] else next(iter(options["settings"]), None))
    rq_figures, skipped, notes = [], [], []
    for question in ("rq1", "rq2"):
        frame = data.differences(question, rq_setting, protocol)
        skipped += frame.attrs.get("skipped", [])
        notes += frame.attrs.get("notes", [])
        frame = analysis.filter_rows(frame, dataset=datasets)
        rq_figures.append(
            figures.difference_figure(frame, question, rq_setting or "none", data.colours, data.about, protocol)
        )

    curve = analysis.filter_rows(view.curve, dataset=datasets, domain=domains, ift=ifts)
    few_shot = figures.few_shot_figure(curve, data.colours, data.about, protocol)

    class_data = class_data or next(iter(options["data"]), None)
    class_setting = class_setting or rq_setting
    classes = analysis.filter_rows(view.classes, setting=[class_setting], domain=domains, ift=ifts)
    labels = [analysis.data_label(d, s) for d, s in zip(classes.dataset, classes.split)]
    classes = classes[[label == class_data for label in labels]]
    title = f"Per-class F1 on {plot_text(class_data)} (setting: {plot_text(class_setting)}; {protocol} protocol)"
    per_class = figures.class_figure(classes, title, data.colours, data.about)
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


def build(gr, app, ctx: AppContext) -> None:
    """Lay out the tab inside the current gr.Blocks context; read the runs when a page loads, again on Refresh."""

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
        label=(
            "Leaderboard: one row per model, dataset, split and setting; mean ± sd over seeds (n seeds); micro-F1, "
            "macro-F1 and the order under the chosen protocol, micro-F1 under each protocol side by side"
        ),
        datatype=TABLE_TYPES,
        interactive=False,
    )
    download = gr.DownloadButton("Download the table (CSV)", size="sm")
    rq_setting = gr.Dropdown(label="Setting compared in RQ1 and RQ2", info="full data is the study's main comparison")
    with gr.Row():
        rq1 = gr.Plot(label="RQ1")
        rq2 = gr.Plot(label="RQ2")
    few_shot = gr.Plot(label="Few-shot")
    with gr.Row():
        class_data = gr.Dropdown(label="Per-class F1: dataset")
        class_setting = gr.Dropdown(label="Per-class F1: setting")
    per_class = gr.Plot(label="Per-class F1")
    error_plot = gr.Plot(label="Error classes per model (the per-class chart's dataset and setting)")

    controls = [datasets, settings, domains, ifts, rq_setting, class_data, class_setting]
    outputs = [table, download, rq1, rq2, few_shot, per_class, message]
    shown = controls + [protocol]  # the protocol's choices never change: a reload leaves it as it is

    def show(*values):
        return render(current(), *values)

    def reload(*values):
        return _updates(gr, current(refresh=True), list(values))

    def first(*values):
        return _updates(gr, current(), list(values))

    def errors(*values):
        return taxonomy_figures.dashboard_chart(current(), *values)

    chart = (errors, [class_data, class_setting, domains, ifts, protocol], error_plot)
    app.load(first, controls, controls).then(show, shown, outputs).then(*chart)
    refresh.click(reload, controls, controls).then(show, shown, outputs).then(*chart)
    for control in shown:
        # .input, not .change: the updates made by a (re)load would otherwise render seven times over
        control.input(show, shown, outputs, api_visibility="undocumented")
    for control in chart[1]:
        control.input(*chart, api_visibility="undocumented")
