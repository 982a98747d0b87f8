"""What the Compare tab shows, as plain data: relation tables with outcomes, highlighted passages, summaries."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pandas as pd

from bre_core.runs import PredictionRecord
from bre_core.schema import Document, ParsedRelation
from bre_core.side_by_side import Side
from bre_core.tasks import Task
from bre_core.tasks.base import normalize_space

RELATION_COLUMNS = ["head", "relation", "tail", "outcome"]
CORRECT, WRONG, MISSED = "✓ correct", "✗ wrong", "○ missed (gold)"
OUTCOME_CLASS = {CORRECT: "bre-correct", WRONG: "bre-wrong", MISSED: "bre-missed", "": "bre-found"}
# What each highlight colour of a passage means (the classes are styled in app.CSS).
LEGEND = (
    ("bre-correct", "in a correct relation"),
    ("bre-wrong", "in a wrong relation"),
    ("bre-missed", "in a gold relation the model missed"),
    ("bre-found", "named by the model (free text: no gold to judge)"),
)
SCORE_COLUMNS = ["model", "precision", "recall", "F1", "correct", "wrong", "missed"]


def legend_html() -> str:
    """The highlight legend shown above the two models' passages."""
    items = " ".join(f"<mark class='{css}'>{html_text(meaning)}</mark>" for css, meaning in LEGEND)
    return f"<div class='bre-legend'>Entity strings highlighted in the passages: {items}</div>"


def passage_form(name: str, passage: str) -> str:
    """`name` as the passage writes it, when the passage holds it up to case (ChemProt's gold is lower-cased)."""
    if not name.strip():
        return name
    # a whole name, not part of a word ("x" is not the X of "COX-2")
    match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", passage, re.IGNORECASE)
    return match.group(0) if match else name


def relation_row(
    task: Task, label: str, args: list[str] | tuple[str, ...], outcome: str, passage: str | None = None
) -> dict:
    """One table row; with `passage`, each name as the passage writes it (for names whose case the format folds)."""
    args = [passage_form(a, passage) for a in args] if passage else list(args)
    label = task.display_label(label)
    if task.n_ary:  # the drug set in one cell
        return {"head": " + ".join(args), "relation": label, "tail": "", "outcome": outcome}
    head, tail = (args + ["", ""])[:2]
    return {"head": head, "relation": label, "tail": tail, "outcome": outcome}


def relations_table(task: Task, record: PredictionRecord | None, judged: bool, passage: str = "") -> pd.DataFrame:
    """The model's relations, each marked correct or wrong when there is gold, then the gold it missed.

    Gold names are shown as the passage writes them; the model's too where the task lower-cases names (ChemProt),
    since matching ignores their case there (elsewhere a case the model changed is part of its answer)."""
    if record is None:
        return pd.DataFrame(columns=RELATION_COLUMNS)
    own = passage if getattr(task, "lowercase", False) else None
    rows = []
    for i, relation in enumerate(record.relations):
        outcome = (CORRECT if record.correct[i] else WRONG) if judged and i < len(record.correct) else ""
        rows.append(relation_row(task, relation.label, relation.args, outcome, own))
    rows += [relation_row(task, m["label"], m["args"], MISSED, passage) for m in record.missed] if judged else []
    return pd.DataFrame(rows, columns=RELATION_COLUMNS)


def gold_table(task: Task, gold: tuple[dict, ...] | None, passage: str = "") -> pd.DataFrame:
    rows = [relation_row(task, g["label"], g["args"], "", passage) for g in gold or ()]
    return pd.DataFrame(rows, columns=RELATION_COLUMNS).drop(columns="outcome")


def highlight(text: str, marks: dict[str, str]) -> str:
    """The passage as HTML with each string of `marks` highlighted in its CSS class; everything escaped."""
    names = sorted((n for n in marks if n.strip()), key=len, reverse=True)
    if not names:
        return f"<div class='bre-passage'>{html_text(text)}</div>"
    pattern = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE)
    lookup = {n.lower(): marks[n] for n in names}
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces.append(html_text(text[last : match.start()]))
        css = lookup.get(match.group(0).lower(), "bre-found")
        pieces.append(f"<mark class='{css}'>{html_text(match.group(0))}</mark>")
        last = match.end()
    pieces.append(html_text(text[last:]))
    return f"<div class='bre-passage'>{''.join(pieces)}</div>"


def passage_marks(record: PredictionRecord | None, judged: bool) -> dict[str, str]:
    """Entity strings the model named, classed by the outcome of the relations naming them (correct wins), then
    the names of gold relations it missed that it did not name."""
    marks: dict[str, str] = {}
    if record is None:
        return marks
    for i, relation in enumerate(record.relations):
        ok = judged and i < len(record.correct) and record.correct[i]
        css = "bre-correct" if ok else "bre-wrong" if judged else "bre-found"
        for name in relation.args:
            if marks.get(name) != "bre-correct":
                marks[name] = css
    named = {name.lower() for name in marks}
    for missed in record.missed if judged else ():
        for name in missed["args"]:
            if name.lower() not in named:
                marks.setdefault(name, "bre-missed")
    return marks


def relation_keys(task: Task, document: Document | None, relations: tuple[ParsedRelation, ...]) -> set:
    """Scoring keys (with a document) or normalised strings (free text), to tell which relations both found."""
    if document is not None:
        return {key for r in relations for key in task.prediction_keys(document, [r])}
    return {(r.label, tuple(normalize_space(a).lower() for a in r.args)) for r in relations}


@dataclass
class Summary:
    both: int
    only_a: int
    only_b: int
    scores: pd.DataFrame | None  # per model P/R/F1 on this example, when it has gold


def summarise(task: Task, document: Document | None, a: Side, b: Side) -> Summary:
    keys_a = relation_keys(task, document, a.record.relations) if a.record else set()
    keys_b = relation_keys(task, document, b.record.relations) if b.record else set()
    scores = None
    if document is not None:
        rows = []
        for side in (a, b):
            r = side.record
            if r is None:
                continue
            p = r.tp / (r.tp + r.fp) if r.tp + r.fp else 0.0
            rec = r.tp / (r.tp + r.fn) if r.tp + r.fn else 0.0
            f1 = 2 * r.tp / (2 * r.tp + r.fp + r.fn) if r.tp + r.fp + r.fn else 0.0
            rows.append(
                {
                    "model": side.model,
                    "precision": round(p, 3),
                    "recall": round(rec, 3),
                    "F1": round(f1, 3),
                    "correct": r.tp,
                    "wrong": r.fp,
                    "missed": r.fn,
                }
            )
        scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    return Summary(len(keys_a & keys_b), len(keys_a - keys_b), len(keys_b - keys_a), scores)


# One escaping helper per kind of output, so that every string from a user, a model or a run folder (model
# names, run folder names, datasets, settings, outputs, relation arguments, labels) is shown as written:
# markdown_text for Markdown components, html_text for HTML components, plot_text for plotly labels, legends,
# titles and hover text. Dataframe cells need none: the app's tables are of datatype "str", shown as text.
_MARKDOWN_SPECIALS = re.compile(r"[\\`*_\[\]!~|#$@]")  # markup, KaTeX's $$ maths, e-mail links (a@b.c)
_AUTOLINKS = re.compile(r"(?i)(?<=www)\.|:(?=//)")  # GFM links bare www.site and scheme:// addresses


def markdown_text(value) -> str:
    """Text for a Markdown component, shown as written: HTML escaped, Markdown punctuation backslashed.

    So a model name, an error quoting user input, or a run name can never become a link, an image or markup.
    """
    text = _MARKDOWN_SPECIALS.sub(r"\\\g<0>", html.escape(str(value), quote=False))
    return _AUTOLINKS.sub(r"\\\g<0>", text)


def html_text(value) -> str:
    """Text for an HTML component or attribute, shown as written."""
    return html.escape(str(value))


def plot_text(value) -> str:
    """Text for a plotly label, legend, title or hover line, shown as written.

    Plotly draws <a href>, <b>, <br> and entities in them, and fills %{...} in hover templates.
    """
    return html.escape(str(value), quote=False).replace("%", "&#37;")


def side_caption(side: Side, provenance: str | None, cut_at: int | None = None) -> str:
    """One line under a model's name: timing and tokens, or where precomputed predictions come from, or the error;
    `cut_at`: the passage was cut at that many tokens (the model's limit)."""
    name = f"**{markdown_text(side.model)}**"
    if side.error:
        return f"{name} — ⚠️ {markdown_text(side.error)}"
    r = side.record
    how = f"precomputed · {markdown_text(provenance)}" if provenance else f"live · {r.seconds:.2f} s"
    caption = f"{name} — {how} · {r.input_tokens} tokens in, {r.output_tokens} out"
    if r.unreadable:
        caption += f" · {r.unreadable} unreadable piece(s)"
    if side.note:
        caption += f" · ⏱ {markdown_text(side.note)}"
    if cut_at:
        caption += f" · ✂️ **passage cut at {cut_at} tokens** (the model's limit): it did not read the rest"
    return caption
