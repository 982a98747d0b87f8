"""Plotly figures of the Dashboard tab: one fixed colour per model, biomedical models dashed or hatched."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from bre_core.analysis import data_label, setting_order
from bre_core.ui.compare_view import plot_text

PALETTE = list(qualitative.Dark24) + list(qualitative.Light24)
QUESTIONS = {
    "rq1": ("RQ1: biomedical vs general pretraining", "Micro-F1 difference (biomedical − general)"),
    "rq2": ("RQ2: gain from instruction finetuning", "Micro-F1 difference (with IFT − without)"),
}


def model_colours(names) -> dict[str, str]:
    """A colour per model by its rank among the sorted names, so a model keeps its colour in every chart."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(map(str, names))))}


def legend_name(model: str, about: dict) -> str:
    """'scifive-base (biomedical)', 'flan-t5-base (general, general IFT)': the legend says the domain (as text)."""
    domain, ift = about.get(model, (None, None))
    extra = f", {ift} IFT" if ift not in (None, "none") else ""
    return plot_text(f"{model} ({domain or '?'}{extra})")


def is_biomedical(model: str, about: dict) -> bool:
    return about.get(model, (None, None))[0] == "biomedical"


def empty_figure(title: str, note: str) -> go.Figure:
    """A titled figure that says why it is empty, instead of a blank axis."""
    figure = go.Figure()
    figure.add_annotation(text=note, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    figure.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=300)
    return figure


def difference_figure(
    frame: pd.DataFrame, question: str, setting: str, colours: dict, about: dict, protocol: str | None = None
) -> go.Figure:
    """Bars of B − A per dataset with the paired bootstrap 95% CI, one colour per pair (B's), a zero line."""
    title, y_title = QUESTIONS[question]
    scored = f"; {protocol} protocol" if protocol else ""
    title = f"{title} (setting: {plot_text(setting)}{scored}; 95% paired bootstrap CI over documents)"
    if frame.empty:
        return empty_figure(
            title, "No pair of models.yaml has runs of both models on the same dataset, split, setting and seed."
        )
    frame = frame.assign(data=[plot_text(data_label(d, s)) for d, s in zip(frame.dataset, frame.split)])
    several_seeds = frame.seed.nunique(dropna=False) > 1
    figure = go.Figure()
    for (pair, seed), rows in frame.groupby(["pair", "seed"], sort=False, dropna=False):
        a, b = rows.a.iloc[0], rows.b.iloc[0]
        if question == "rq1":
            name = f"{b} ({about.get(b, ('?',))[0]}) − {a} ({about.get(a, ('?',))[0]})"
        else:
            name = f"{b} (IFT: {about.get(b, (None, '?'))[1]}) − {a} (IFT: {about.get(a, (None, '?'))[1]})"
        name, shown_a, shown_b = plot_text(name), plot_text(a), plot_text(b)
        figure.add_bar(
            x=rows.data.tolist(),
            y=rows.difference.tolist(),
            # the observed difference can fall just outside a percentile interval: never a negative bar length
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (rows.high - rows.difference).clip(lower=0).tolist(),
                "arrayminus": (rows.difference - rows.low).clip(lower=0).tolist(),
            },
            name=name + (f", seed {seed}" if several_seeds else ""),
            legendgroup=pair,
            marker_color=colours.get(b),
            customdata=rows[["a_f1", "b_f1", "low", "high", "documents", "protocol"]].to_numpy().tolist(),
            hovertemplate=(
                f"{shown_b} − {shown_a}<br>%{{x}}: %{{y:+.3f}} [%{{customdata[2]:+.3f}}, %{{customdata[3]:+.3f}}]<br>"
                f"{shown_a} %{{customdata[0]:.3f}}, {shown_b} %{{customdata[1]:.3f}}; %{{customdata[4]}} documents; "
                "%{customdata[5]} protocol<extra></extra>"
            ),
        )
    figure.add_hline(y=0, line_color="black", line_width=1)
    figure.update_layout(
        title=title, barmode="group", xaxis_title="Dataset", yaxis_title=y_title, legend_title_text="Pair"
    )
    figure.update_xaxes(categoryorder="category ascending")
    return figure


def _k_label(setting: str) -> str:
    if setting in ("full", "zero-shot") or str(setting).endswith("-full"):
        return "full" if setting != "zero-shot" else plot_text(setting)
    return str(int(setting_order(setting)))


def _curves(frame: pd.DataFrame):
    """One curve per model and method: the study's finetuning, LoRA, in-context k; zero-shot starts each of them."""
    methods = frame["method"] if "method" in frame else pd.Series("finetuning", index=frame.index)
    zero = frame[methods == "zero-shot"]
    for method in sorted(set(methods) - {"zero-shot"}) or ["finetuning"]:
        for model, rows in frame[methods == method].groupby("model", sort=True):
            yield (model, method), pd.concat([zero[zero.model == model], rows])
    for model, rows in zero.groupby("model", sort=True):  # a model with only a zero-shot point still shows
        if not (methods[frame.model == model] != "zero-shot").any():
            yield (model, "finetuning"), rows


def few_shot_figure(curve: pd.DataFrame, colours: dict, about: dict, protocol: str | None = None) -> go.Figure:
    """Micro-F1 against k (zero-shot, 16, 64, full), mean ± sd over seeds, one line per model, a panel per dataset."""
    scored = f"; {protocol} protocol" if protocol else ""
    title = f"Few-shot: micro-F1 by training documents k (mean ± sd over seeds{scored})"
    if curve.empty:
        return empty_figure(title, "No run with a zero-shot, kN or full setting matches the filters.")
    curve = curve.assign(data=[plot_text(data_label(d, s)) for d, s in zip(curve.dataset, curve.split)])
    panels = sorted(curve.data.unique())
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=panels, shared_yaxes=True)
    order = [_k_label(s) for s in sorted(curve.setting.unique(), key=setting_order)]
    shown = set()
    for column, panel in enumerate(panels, start=1):
        for (model, method), rows in _curves(curve[curve.data == panel]):
            rows = rows.sort_values("k")
            biomedical = is_biomedical(model, about)
            dash = "dot" if method != "finetuning" else "dash" if biomedical else "solid"  # in-context, LoRA apart
            suffix = "" if method == "finetuning" else f", {method}"
            figure.add_scatter(
                x=[_k_label(s) for s in rows.setting],
                y=rows.micro_f1.tolist(),
                error_y={"type": "data", "array": rows.sd.fillna(0).tolist(), "visible": True},
                mode="lines+markers",
                name=legend_name(model, about) + suffix,
                legendgroup=f"{model}{suffix}",
                showlegend=(model, method) not in shown,
                line={"color": colours.get(model), "dash": dash},
                marker={"symbol": "square" if biomedical else "circle"},
                customdata=rows.seeds.tolist(),
                hovertemplate=f"{plot_text(model)}<br>k=%{{x}}: %{{y:.3f}} (%{{customdata}} seeds)<extra></extra>",
                row=1,
                col=column,
            )
            shown.add((model, method))
        figure.update_xaxes(
            title_text="k (training documents)",
            type="category",
            categoryorder="array",
            categoryarray=order,
            row=1,
            col=column,
        )
    figure.update_yaxes(title_text="Micro-F1 (mean ± sd over seeds)", row=1, col=1)
    figure.update_layout(title=title, legend_title_text="Model (domain)")
    return figure


def class_figure(summary: pd.DataFrame, title: str, colours: dict, about: dict) -> go.Figure:
    """Grouped bars: per-class F1 (mean over seeds, sd error bars), class on x with its gold count, model as colour."""
    if summary.empty:
        return empty_figure(title, "No run matches this dataset, setting and the filters.")
    support = summary.groupby("label", sort=False).support.max()
    ticks = {label: f"{plot_text(label)} (n={int(n)})" for label, n in support.items()}
    figure = go.Figure()
    for model, rows in summary.groupby("model", sort=True):
        figure.add_bar(
            x=[ticks[label] for label in rows.label],
            y=rows.f1.tolist(),
            error_y={"type": "data", "array": rows.sd.fillna(0).tolist(), "visible": bool((rows.seeds > 1).any())},
            name=legend_name(model, about),
            marker={"color": colours.get(model), "pattern": {"shape": "/" if is_biomedical(model, about) else ""}},
            customdata=rows.seeds.tolist(),
            hovertemplate=f"{plot_text(model)}<br>%{{x}}: F1 %{{y:.3f}} (%{{customdata}} seeds)<extra></extra>",
        )
    figure.update_layout(
        title=title,
        barmode="group",
        xaxis_title="Class (n = gold relations in the documents)",
        yaxis_title="F1 (mean ± sd over seeds)",
        yaxis_range=[0, 1.05],
        legend_title_text="Model (domain)",
    )
    return figure
