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


LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0, "title_text": ""}
SIGNIFICANT = "*"  # printed after a difference whose paired 95% CI excludes 0


def titled(title: str, subtitle: str) -> dict:
    """A chart title on two lines (the question, then how it was computed) that fits a narrow chart."""
    return {"text": f"{title}<br><sup>{subtitle}</sup>", "x": 0, "xanchor": "left", "font": {"size": 15}}


def difference_figure(
    frame: pd.DataFrame, question: str, setting: str | None, colours: dict, about: dict, protocol: str | None = None
) -> go.Figure:
    """Bars of B − A per dataset, pooled over seeds, with the 95% CI over seeds and documents, one colour per pair
    (B's), the difference printed on each bar ("*": its CI excludes 0), a zero line and the legend below."""
    title, y_title = QUESTIONS[question]
    scored = f" · {protocol} protocol" if protocol else ""
    if setting is None:
        return empty_figure(title, "No run has a setting to compare yet.")
    subtitle = (
        f"setting {plot_text(setting)}{scored} · mean over seeds, 95% paired CI over seeds and documents · "
        f"{SIGNIFICANT} CI excludes 0"
    )
    if frame.empty:
        return empty_figure(
            title, "No pair of models.yaml has runs of both models on the same dataset, split and setting."
        )
    frame = frame.assign(data=[plot_text(data_label(d, s)) for d, s in zip(frame.dataset, frame.split)])
    if "seeds" not in frame:  # one seed's differences (analysis.pair_differences' rows)
        frame = frame.assign(seeds=1, significant=(frame.low > 0) | (frame.high < 0))
    traces = []
    for pair, rows in frame.groupby("pair", sort=False):
        a, b = rows.a.iloc[0], rows.b.iloc[0]
        if question == "rq1":
            name = f"{b} ({about.get(b, ('?',))[0]}) − {a} ({about.get(a, ('?',))[0]})"
        else:
            name = f"{b} (IFT: {about.get(b, (None, '?'))[1]}) − {a} (IFT: {about.get(a, (None, '?'))[1]})"
        name, shown_a, shown_b = plot_text(name), plot_text(a), plot_text(b)
        labels = [f"{d:+.3f}{SIGNIFICANT if s else ''}" for d, s in zip(rows.difference, rows.significant)]
        bar = dict(
            type="bar",
            x=rows.data.tolist(),
            y=rows.difference.tolist(),
            # the observed difference can fall just outside a percentile interval: never a negative bar length
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (rows.high - rows.difference).clip(lower=0).tolist(),
                "arrayminus": (rows.difference - rows.low).clip(lower=0).tolist(),
            },
            text=labels,
            textposition="outside",
            cliponaxis=False,
            name=name,
            legendgroup=pair,
            marker={"color": colours.get(b)},
            customdata=rows[["a_f1", "b_f1", "low", "high", "documents", "protocol", "seeds"]].to_numpy().tolist(),
            hovertemplate=(
                f"{shown_b} − {shown_a}<br>%{{x}}: %{{y:+.3f}} [%{{customdata[2]:+.3f}}, %{{customdata[3]:+.3f}}]<br>"
                f"{shown_a} %{{customdata[0]:.3f}}, {shown_b} %{{customdata[1]:.3f}} (mean of n=%{{customdata[6]}} "
                "seeds); %{customdata[4]} documents; %{customdata[5]} protocol<extra></extra>"
            ),
        )
        traces.append(bar)
    figure = go.Figure(data=traces, _validate=False)  # plain data: plotly's per-property checks cost seconds
    figure.add_hline(y=0, line_color="black", line_width=1)
    seeds = sorted(set(frame.seeds))
    n = f"n = {seeds[0]} seed{'s' if seeds[0] > 1 else ''}" if len(seeds) == 1 else f"n = {seeds[0]}–{seeds[-1]} seeds"
    figure.update_layout(
        title=titled(title, subtitle),
        barmode="group",
        xaxis={"title": {"text": f"Dataset ({n} per bar)"}},  # nested: a figure built unvalidated keeps it so
        yaxis={"title": {"text": y_title}},
        legend=LEGEND_BELOW,
        showlegend=True,  # also for one pair: the legend names the two models compared
        margin={"t": 80, "r": 10},
        uniformtext={"minsize": 8, "mode": "hide"},
        height=460 + 22 * frame.pair.nunique(),
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
    """Micro-F1 against k (zero-shot, 16, 64, then full set apart), mean ± sd over seeds, one line per model, a
    panel per dataset, the legend below."""
    scored = f" · {protocol} protocol" if protocol else ""
    title = "Few-shot: micro-F1 by the number of training documents k"
    subtitle = f"mean ± sd over seeds (n in the hover){scored} · full: all training documents"
    if curve.empty:
        return empty_figure(title, "No run with a zero-shot, kN or full setting matches the filters.")
    curve = curve.assign(data=[plot_text(data_label(d, s)) for d, s in zip(curve.dataset, curve.split)])
    panels = sorted(curve.data.unique())
    grid = make_subplots(rows=1, cols=len(panels), subplot_titles=panels, shared_yaxes=True, horizontal_spacing=0.03)
    order = [_k_label(s) for s in sorted(curve.setting.unique(), key=setting_order)]
    traces, shapes, shown = [], [], set()
    for column, panel in enumerate(panels, start=1):
        axis = "" if column == 1 else str(column)
        for (model, method), rows in _curves(curve[curve.data == panel]):
            rows = rows.sort_values("k")
            biomedical = is_biomedical(model, about)
            dash = "dot" if method != "finetuning" else "dash" if biomedical else "solid"  # in-context, LoRA apart
            suffix = "" if method == "finetuning" else f", {method}"
            full = (rows.setting == "full").to_numpy()
            # the line joins zero-shot and the k's; full data is a point set apart, not on the line
            for part, mode in ((rows[~full], "lines+markers"), (rows[full], "markers")):
                if part.empty:
                    continue
                traces.append(
                    {
                        "type": "scatter",
                        "xaxis": f"x{axis}",
                        "yaxis": f"y{axis}",
                        "x": [_k_label(s) for s in part.setting],
                        "y": part.micro_f1.tolist(),
                        "error_y": {"type": "data", "array": part.sd.fillna(0).tolist(), "visible": True},
                        "mode": mode,
                        "name": legend_name(model, about) + suffix,
                        "legendgroup": f"{model}{suffix}",
                        "showlegend": (model, method) not in shown,
                        "line": {"color": colours.get(model), "dash": dash},
                        "marker": {"symbol": "square" if biomedical else "circle", "color": colours.get(model)},
                        "customdata": part.seeds.tolist(),
                        "hovertemplate": (
                            f"{plot_text(model)}<br>k=%{{x}}: %{{y:.3f}} (n=%{{customdata}} seeds)<extra></extra>"
                        ),
                    }
                )
                shown.add((model, method))
        grid.update_xaxes(type="category", categoryorder="array", categoryarray=order, row=1, col=column)
        if "full" in order and len(order) > 1:  # full data set apart from the k axis by a dotted line
            x = len(order) - 1.5
            line = {"type": "line", "xref": f"x{axis}", "yref": f"y{axis} domain", "x0": x, "x1": x, "y0": 0, "y1": 1}
            shapes.append({**line, "line": {"dash": "dot", "color": "#888", "width": 1}})
    # Traces as plain data, not validated one property at a time: a hundred lines would take seconds.
    figure = go.Figure(data=traces, layout=grid.layout, _validate=False)
    figure.update_layout(shapes=shapes)
    figure.update_layout(
        yaxis_title="Micro-F1",
        title=titled(title, subtitle),
        legend={**LEGEND_BELOW, "y": -0.3},
        margin={"t": 90, "r": 10, "b": 40},
        height=520,
    )
    figure.add_annotation(
        text="k (training documents)", x=0.5, y=-0.13, xref="paper", yref="paper", showarrow=False, yanchor="top"
    )
    return figure


def wrapped(text: str, width: int = 14) -> str:
    """A tick label on lines of about `width` characters, broken at spaces (plotly's <br>).

    >>> wrapped("CPR:9 substrate and/or product (n=0)")
    'CPR:9<br>substrate<br>and/or product<br>(n=0)'
    """
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def class_figure(summary: pd.DataFrame, title: str, colours: dict, about: dict, display=None) -> go.Figure:
    """Grouped bars: per-class F1 (mean over seeds, sd error bars), class on x (as `display` shows it: "CPR:4
    downregulation") with its gold count, model as colour, the legend below."""
    if summary.empty:
        return empty_figure(title, "No run matches this dataset, setting and the filters.")
    support = summary.groupby("label", sort=False).support.max()
    shown = display or (lambda label: label)
    ticks = {label: f"{plot_text(shown(label))} (n={int(n)})" for label, n in support.items()}
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
        # class names on a few short lines, the legend at the chart's foot: nothing overlaps at 800 px
        xaxis={"tickmode": "array", "tickvals": list(ticks.values()), "ticktext": [wrapped(t) for t in ticks.values()]},
        legend={**LEGEND_BELOW, "yref": "container", "y": 0, "yanchor": "bottom"},
        margin={"b": 60},
        height=560,
    )
    return figure
