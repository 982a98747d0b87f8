"""How the Error cases tab draws a document: outcome and run colours, the marked passage, gold | A | B side by side."""

import itertools

import pandas as pd

from bre_core import error_cases as ec
from bre_core.ui.compare_view import html_text

# One colour per outcome and per model, used by every table, badge and heatmap of the tab.
OUTCOME_COLOURS = {"correct": "#2e7d32", "wrong": "#c62828", "missed": "#9e9e9e"}
MODEL_COLOURS = {"A": "#1f77b4", "B": "#ff7f0e"}
HEATMAP_SCALES = {"A": "Blues", "B": "Oranges"}
_COLOURS = {**OUTCOME_COLOURS, **MODEL_COLOURS}
BUCKET_COLOURS = dict(zip(ec.BUCKETS, (_COLOURS[k] for k in ("correct", "A", "B", "missed", "wrong", "wrong"))))
# Entity types get colours that are none of the outcome or model colours.
ENTITY_PALETTE = ("#6a1b9a", "#00838f", "#8d6e63", "#ad1457", "#283593", "#827717")


def _badge(text: str, colour: str) -> str:
    style = f"background:{colour};color:#fff;border-radius:4px;padding:0 5px;font-size:0.85em"
    return f'<span style="{style}">{html_text(text)}</span>'


def passage_html(view: ec.DocumentView) -> str:
    """The passage with its gold entity mentions marked (type on hover), or why it cannot be shown."""
    document = view.document
    if document is None:
        return "<p><em>Passage not shown: the corpus is not available; relations come from the run folders.</em></p>"
    colours = dict(zip(sorted({e.type for e in document.entities}), itertools.cycle(ENTITY_PALETTE)))
    spans = sorted((s, e, entity.type) for entity in document.entities for s, e in entity.spans if 0 <= s < e)
    parts, at = [], 0
    for start, end, kind in spans:
        if start < at or end > len(document.text):
            continue  # overlapping mentions (CDR composites): the first one is marked
        style = f"background:{colours[kind]}22;border-bottom:2px solid {colours[kind]};padding:0 2px"
        mention = html_text(document.text[start:end])
        parts.append(html_text(document.text[at:start]))
        parts.append(f'<mark title="{html_text(kind)}" style="{style}">{mention}</mark>')
        at = end
    parts.append(html_text(document.text[at:]))
    legend = " ".join(map(_badge, colours, colours.values()))
    return f'<div style="line-height:1.9">{"".join(parts)}</div><p>{legend}</p>'


def _table(frame: pd.DataFrame, marks: list[str]) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html_text(c)}</th>" for c in frame.columns)

    def cell(column, value):
        return _badge(str(value), OUTCOME_COLOURS[value]) if column in marks else html_text(str(value))

    rows = ("".join(f"<td>{cell(c, v)}</td>" for c, v in zip(frame.columns, row)) for row in frame.itertuples(False))
    return f'<table style="width:100%"><tr>{head}</tr>{"".join(f"<tr>{r}</tr>" for r in rows)}</table>'


def relations_html(view: ec.DocumentView, model_a: str, model_b: str) -> str:
    """Gold, A and B side by side, each relation marked correct / wrong / missed, with the raw outputs."""

    def column(title: str, colour: str, body: str, output: str | None = None) -> str:
        pre = f"<pre style='white-space:pre-wrap'>{html_text(output or '')}</pre>"
        raw = f"<details><summary>raw output</summary>{pre}</details>" if output is not None else ""
        head = f'<h4 style="color:{colour}">{html_text(title)}</h4>'
        return f'<div style="flex:1;min-width:18em">{head}{body}{raw}</div>'

    return (
        '<div style="display:flex;gap:1.5em;flex-wrap:wrap">'
        + column("Gold", "inherit", _table(view.gold, ["A", "B"]))
        + column(f"A: {model_a}", MODEL_COLOURS["A"], _table(view.a, ["outcome"]), view.output_a)
        + column(f"B: {model_b}", MODEL_COLOURS["B"], _table(view.b, ["outcome"]), view.output_b)
        + "</div>"
    )


def legend_html() -> str:
    models = " ".join(_badge(f"run {k}", c) for k, c in MODEL_COLOURS.items())
    return f"<p>Outcomes: {' '.join(_badge(k, c) for k, c in OUTCOME_COLOURS.items())} &nbsp; Runs: {models}</p>"


def styled(frame: pd.DataFrame, column: str = "bucket"):
    """The table with its bucket column in the bucket's colour (a pandas Styler, which gr.Dataframe shows)."""
    return frame.style.map(lambda v: f"color:{BUCKET_COLOURS.get(v, 'inherit')};font-weight:600", subset=[column])
