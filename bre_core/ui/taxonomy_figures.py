"""Plotly figures of the error taxonomy: a stacked bar of error classes per model (Error cases and Dashboard)."""

from __future__ import annotations

import pandas as pd

from bre_core.analysis import data_label, filter_rows
from bre_core.error_classes import class_count_rows, mean_over_runs
from bre_core.tasks import HEADLINE
from bre_core.taxonomy import CLASSES, TITLES
from bre_core.ui import protocol_view
from bre_core.ui.compare_view import plot_text
from bre_core.ui.dashboard_data import choices
from bre_core.ui.grounding_view import CLASS_COLOURS

Y_TITLE = "Errors (false positives + false negatives)"


def _empty(title: str, note: str):
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.add_annotation(text=plot_text(note), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    return figure.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=300)


def class_bars(frame: pd.DataFrame, title: str, empty_note: str, y_title: str = Y_TITLE):
    """One stacked bar per model (frame.model, in order of appearance), one segment per error class.

    `frame` has error_classes.COUNT_COLUMNS (and "runs" when counts are means over runs). `title` is plotly text
    already escaped by the caller; every label taken from the frame is escaped here.
    """
    import plotly.graph_objects as go

    if frame.empty:
        return _empty(title, empty_note)
    models = list(dict.fromkeys(frame.model))
    figure = go.Figure()
    for name in CLASSES:
        rows = frame[frame["class"] == name].set_index("model").reindex(models)
        runs = rows["runs"].fillna(0).tolist() if "runs" in rows else [1] * len(models)
        figure.add_bar(
            x=[plot_text(m) for m in models],
            y=rows.errors.fillna(0).tolist(),
            name=plot_text(TITLES[name]),
            marker={"color": CLASS_COLOURS[name]},
            customdata=list(zip(rows.false_positives.fillna(0), rows.false_negatives.fillna(0), runs)),
            hovertemplate=(
                f"%{{x}}<br>{plot_text(TITLES[name])}: %{{y:.1f}} "
                "(%{customdata[0]:.1f} false positives, %{customdata[1]:.1f} false negatives; "
                "%{customdata[2]} run(s))<extra></extra>"
            ),
        )
    return figure.update_layout(
        title=title, barmode="stack", yaxis_title=y_title, xaxis_title="Model", legend_title_text="Error class"
    )


def pair_figure(run_a, run_b, documents=None):
    """The Error cases tab's chart: the error classes of runs A and B (seen under one protocol), one bar each."""
    labels = [f"{slot} = {run.manifest.model_label}" for slot, run in (("A", run_a), ("B", run_b))]
    counts, unavailable = class_count_rows([run_a, run_b], labels, [documents, documents])
    title = f"Error classes of A and B ({plot_text(run_a.protocol)} protocol)"
    if unavailable:
        names = plot_text(", ".join(run.name for run in unavailable))
        title += f"<br><sup>Unavailable (written before error classes, corpus not at hand): {names}</sup>"
    return class_bars(counts, title, "Neither run records error classes, and their documents are not at hand.")


def dashboard_figure(view, class_data: str | None, setting: str | None, domains=None, ifts=None):
    """The Dashboard's chart: error classes per model, mean over seeds, for one dataset and setting.

    `view` is the dashboard's ProtocolView (runs seen under the chosen protocol); runs that do not record error
    classes (written before them) are named under the title, not counted.
    """
    title = (
        f"Error classes per model on {plot_text(class_data or 'no data')} (setting: {plot_text(setting or 'none')}; "
        f"{plot_text(view.protocol)} protocol; mean over seeds)"
    )
    runs = []
    for run in view.runs:
        manifest, spec = run.manifest, run.manifest.get("model", {})
        about = {"domain": [spec.get("domain")], "ift": [spec.get("ift")]}
        if data_label(manifest.get("dataset"), manifest.get("split")) != class_data or manifest.setting != setting:
            continue
        if filter_rows(pd.DataFrame(about), domain=domains, ift=ifts).empty:
            continue
        runs.append(run)
    counts, unavailable = class_count_rows(runs, [run.manifest.model_label for run in runs])
    counts = mean_over_runs(counts).sort_values("model", kind="stable")
    if unavailable:  # said under the title, not silently left out
        names = plot_text(", ".join(run.name for run in unavailable))
        title += f"<br><sup>Not counted ({len(unavailable)} run(s) written before error classes): {names}</sup>"
    empty = "No run with error classes matches this dataset, setting and the filters."
    return class_bars(counts, title, empty, Y_TITLE + ", mean over seeds")


def dashboard_chart(data, class_data=None, class_setting=None, domains=None, ifts=None, protocol=None):
    """dashboard_figure for the Dashboard's data under `protocol`, the per-class chart's dataset and setting
    (defaults as there: the first dataset, full data when there is some)."""
    options = choices(data)
    class_data = class_data or next(iter(options["data"]), None)
    default = "full" if "full" in options["settings"] else next(iter(options["settings"]), None)
    view = data.view(protocol_view.chosen(protocol or HEADLINE))
    return dashboard_figure(view, class_data, class_setting or default, domains, ifts)
