"""Dashboard tab: leaderboard over seeds, RQ1/RQ2 paired differences, few-shot curves and per-class F1 of the runs."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bre_core import analysis
from bre_core.atomic import write_text_atomic
from bre_core.config import ModelsFile, load_models_file
from bre_core.results import Run
from bre_core.run_sets import find_runs, runs_table
from bre_core.ui import dashboard_figures as figures

# On-screen column -> leaderboard column; the CSV keeps the leaderboard's own (numeric) columns.
TABLE_COLUMNS = {
    "model": "model",
    "domain": "domain",
    "IFT": "ift",
    "dataset": "dataset",
    "split": "split",
    "setting": "setting",
    "micro-F1": "micro",
    "macro-F1": "macro",
    "micro-F1 (mean, for sorting)": "micro_f1",
    "seeds": "seeds",
    "parse failures (mean)": "parse_failures",
    "documents": "documents",
}
TABLE_TYPES = ["str"] * 8 + ["number"] * 4
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


def _escape(text: str) -> str:
    """Markdown-safe text: run folder names are full of '__', which would otherwise turn bold."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in str(text))


@dataclass
class DashboardData:
    """The runs of the folders and what is computed from them once per (re)load."""

    folders: list[str]
    runs: list[Run]
    warnings: list[str]
    board: pd.DataFrame
    curve: pd.DataFrame
    classes: pd.DataFrame  # per-class F1 summarised over seeds
    pairs: dict[str, list]
    colours: dict[str, str]
    about: dict[str, tuple]  # model -> (domain, ift)
    samples: int = 1000
    _differences: dict = field(default_factory=dict)

    def differences(self, question: str, setting: str | None) -> pd.DataFrame:
        """Paired differences of one question and setting, bootstrapped when first asked for, then kept."""
        key = (question, setting)
        if key not in self._differences:  # a race only computes the same seeded numbers twice
            settings = None if setting is None else [setting]
            pairs = self.pairs.get(question, [])
            self._differences[key] = analysis.pair_differences(
                self.runs, pairs, settings=settings, samples=self.samples
            )
        return self._differences[key]


def load_data(folders, models: ModelsFile | None = None, samples: int = 1000) -> DashboardData:
    """Read every complete run under `folders` (skipped folders become warnings) and summarise them."""
    folders = [str(f) for f in ([folders] if isinstance(folders, (str, Path)) else folders) if f]
    models = models or load_models_file()
    found, warnings = find_runs(*folders)
    runs, duplicates = analysis.unique_runs(found)
    table = runs_table(runs)
    about = {m.name: (m.domain, m.ift) for m in models.models}
    about |= {row.model: (row.domain, row.ift) for row in table.itertuples(index=False)}
    return DashboardData(
        folders=folders,
        runs=runs,
        warnings=warnings + duplicates,
        board=analysis.leaderboard(table),
        curve=analysis.few_shot_curve(table),
        classes=analysis.per_class_summary(analysis.per_class(runs)),
        pairs={k: [tuple(p) for p in v] for k, v in models.pairs.items()},
        colours=figures.model_colours(about),
        about=about,
        samples=samples,
    )


def choices(data: DashboardData) -> dict[str, list[str]]:
    """The values each control can take, from the runs: filters, the RQ setting, the per-class data and setting."""
    board = data.board
    settings = sorted(board.setting.dropna().astype(str).unique(), key=analysis.setting_rank)
    return {
        "datasets": sorted(board.dataset.dropna().astype(str).unique()),
        "settings": settings,
        "domains": sorted(board.domain.dropna().astype(str).unique()),
        "ifts": sorted(board.ift.dropna().astype(str).unique()),
        "data": sorted({analysis.data_label(d, s) for d, s in zip(board.dataset, board.split)}),
    }


def write_csv(frame: pd.DataFrame) -> str:
    """The table as CSV in the temp folder (which gradio may serve), named by content so repeats cost nothing."""
    text = frame.to_csv(index=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / "bre-dashboard" / digest / "leaderboard.csv"
    if not path.is_file():
        write_text_atomic(path, text)
    return str(path)


def _message(data: DashboardData, shown: pd.DataFrame, skipped: list[str]) -> str:
    where = ", ".join(f"`{f}`" for f in data.folders) or "no folder"
    if not data.runs:
        parts = [EMPTY_STATE.format(sep=os.pathsep, folders=where)]
    else:
        parts = [f"**{len(data.runs)} runs** in {where}; {len(shown)} of {len(data.board)} rows shown."]
        if shown.empty:
            parts.append("No run matches the filters: clear one of them.")
    if data.warnings:
        parts.append(f"⚠️ **{len(data.warnings)} run folder(s) skipped**; everything else is shown:")
        parts.append("\n".join(f"- {_escape(w)}" for w in data.warnings))
    if skipped:
        parts.append("⚠️ **Pairs of runs not compared** in the RQ charts:")
        parts.append("\n".join(f"- {_escape(w)}" for w in skipped))
    return "\n\n".join(parts)


def render(
    data: DashboardData,
    datasets=None,
    settings=None,
    domains=None,
    ifts=None,
    rq_setting: str | None = None,
    class_data: str | None = None,
    class_setting: str | None = None,
):
    """(table, CSV path, RQ1 figure, RQ2 figure, few-shot figure, per-class figure, message) under the filters.

    Empty filters select everything. The RQ charts follow the dataset filter, the few-shot and per-class charts
    the dataset, domain and IFT filters; the setting filter applies to the table (the charts have their own).
    """
    options = choices(data)
    board = analysis.filter_rows(data.board, dataset=datasets, setting=settings, domain=domains, ift=ifts)
    table = board.rename(columns={v: k for k, v in TABLE_COLUMNS.items()})[list(TABLE_COLUMNS)]
    table = table.round({"micro-F1 (mean, for sorting)": 4, "parse failures (mean)": 1})
    csv = write_csv(board) if data.runs else None

    rq_setting = rq_setting or ("full" if "full" in options["settings"] else next(iter(options["settings"]), None))
    rq_figures, skipped = [], []
    for question in ("rq1", "rq2"):
        frame = data.differences(question, rq_setting)
        skipped += frame.attrs.get("skipped", [])
        frame = analysis.filter_rows(frame, dataset=datasets)
        rq_figures.append(figures.difference_figure(frame, question, rq_setting or "none", data.colours, data.about))

    curve = analysis.filter_rows(data.curve, dataset=datasets, domain=domains, ift=ifts)
    few_shot = figures.few_shot_figure(curve, data.colours, data.about)

    class_data = class_data or next(iter(options["data"]), None)
    class_setting = class_setting or rq_setting
    classes = analysis.filter_rows(data.classes, setting=[class_setting], domain=domains, ift=ifts)
    labels = [analysis.data_label(d, s) for d, s in zip(classes.dataset, classes.split)]
    classes = classes[[label == class_data for label in labels]]
    title = f"Per-class F1 on {class_data} (setting: {class_setting})"
    per_class = figures.class_figure(classes, title, data.colours, data.about)
    return table, csv, *rq_figures, few_shot, per_class, _message(data, table, sorted(set(skipped)))


def load_dashboard(folders, *filters, models: ModelsFile | None = None, samples: int = 1000):
    """Read the folders afresh and render (see `render` for the filters and the outputs)."""
    return render(load_data(folders, models, samples), *filters)


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


def build(gr, app, runs_dirs, models: ModelsFile | None = None) -> None:
    """Lay out the tab inside the current gr.Blocks context; read the runs when a page loads, again on Refresh."""
    lock, state = threading.Lock(), {}

    def current(refresh: bool = False) -> DashboardData:
        # One read shared by every visitor; Refresh re-reads the folders (new or finished runs).
        with lock:
            if refresh or "data" not in state:
                state["data"] = load_data(runs_dirs, models)
            return state["data"]

    message = gr.Markdown()
    with gr.Row():
        datasets = gr.Dropdown(multiselect=True, label="Dataset", info="empty: all")
        settings = gr.Dropdown(multiselect=True, label="Setting", info="table only; empty: all")
        domains = gr.Dropdown(multiselect=True, label="Domain", info="empty: all")
        ifts = gr.Dropdown(multiselect=True, label="IFT", info="instruction finetuning; empty: all")
        refresh = gr.Button("Refresh", scale=0)
    table = gr.Dataframe(
        label="Leaderboard: one row per model, dataset, split and setting; mean ± sd over seeds (n seeds)",
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

    controls = [datasets, settings, domains, ifts, rq_setting, class_data, class_setting]
    outputs = [table, download, rq1, rq2, few_shot, per_class, message]

    def show(*values):
        return render(current(), *values)

    def reload(*values):
        return _updates(gr, current(refresh=True), list(values))

    def first(*values):
        return _updates(gr, current(), list(values))

    app.load(first, controls, controls).then(show, controls, outputs)
    refresh.click(reload, controls, controls).then(show, controls, outputs)
    for control in controls:
        # .input, not .change: the updates made by a (re)load would otherwise render seven times over
        control.input(show, controls, outputs, api_visibility="undocumented")
