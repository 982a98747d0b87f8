"""Compare's grounding panel as HTML: each predicted entity marked by grounding level, the entities not in the
passage listed, and each relation coloured by its error class, with legends; every string escaped."""

from __future__ import annotations

from bre_core.error_classes import CORRECT, AnswerReading, read_answer
from bre_core.grounding import CASE, EXACT, NORMALIZED, Grounding
from bre_core.taxonomy import BOUNDARY, HALLUCINATED, MISSED, REVERSED, SPURIOUS, TITLES, WRONG_LABEL
from bre_core.ui.compare_view import html_text

# Solid fills for the levels at which an entity is in the passage (an absent one has no place to mark).
LEVEL_COLOURS = {EXACT: "#b9e4c9", CASE: "#bcd7f2", NORMALIZED: "#e3cdf2"}
LEVEL_TITLES = {
    EXACT: "exact: verbatim",
    CASE: "case: ignoring case",
    NORMALIZED: "normalized: after normalising spaces, hyphens, Greek letters, plural s, abbreviations",
}
# One colour per error class (and for correct relations), shared by Compare and the class charts.
CLASS_COLOURS = {
    CORRECT: "#2e7d32",
    WRONG_LABEL: "#c62828",
    REVERSED: "#6a1b9a",
    BOUNDARY: "#ef6c00",
    HALLUCINATED: "#ad1457",
    SPURIOUS: "#1565c0",
    MISSED: "#757575",
}
CLASS_TITLES = {CORRECT: "correct", **TITLES}
NOT_IN_PASSAGE = "not in passage"


def _chip(text: str, colour: str, tip: str = "") -> str:
    style = f"background:{colour};color:#fff;border-radius:4px;padding:0 5px;font-size:0.85em;white-space:nowrap"
    title = f' title="{html_text(tip)}"' if tip else ""
    return f'<span style="{style}"{title}>{html_text(text)}</span>'


def level_legend() -> str:
    marks = " ".join(
        f'<mark style="background:{colour}">{html_text(LEVEL_TITLES[level])}</mark>'
        for level, colour in LEVEL_COLOURS.items()
    )
    return f"<p class='bre-legend'>Entities by grounding level: {marks}</p>"


def class_legend() -> str:
    chips = " ".join(_chip(CLASS_TITLES[name], colour) for name, colour in CLASS_COLOURS.items())
    return f"<p class='bre-legend'>Relations by error class: {chips}</p>"


def _marks(groundings: dict[str, Grounding]) -> list[tuple[int, int, Grounding]]:
    """Non-overlapping (start, end, grounding): leftmost first, the longer span where two start together."""
    spans = sorted(
        ((start, end, found) for found in groundings.values() for start, end in found.spans),
        key=lambda mark: (mark[0], mark[0] - mark[1]),
    )
    kept, reached = [], 0
    for start, end, found in spans:
        if start >= reached:
            kept.append((start, end, found))
            reached = end
    return kept


def marked_passage(text: str, groundings: dict[str, Grounding]) -> str:
    """The passage with every span of a grounded entity in its level's colour (the entity and level on hover)."""
    pieces, last = [], 0
    for start, end, found in _marks(groundings):
        tip = f"{found.text}: {found.level}"
        pieces.append(html_text(text[last:start]))
        style = f"background:{LEVEL_COLOURS[found.level]}"
        pieces.append(f'<mark style="{style}" title="{html_text(tip)}">{html_text(text[start:end])}</mark>')
        last = end
    pieces.append(html_text(text[last:]))
    return f"<div class='bre-passage'>{''.join(pieces)}</div>"


def absent_list(reading: AnswerReading) -> str:
    names = reading.absent
    if not names:
        return ""
    items = ", ".join(f"<q>{html_text(name)}</q>" for name in names)
    return f"<p><strong>{html_text(NOT_IN_PASSAGE.capitalize())}</strong> (hallucinated entities): {items}</p>"


def relations_by_class(task, reading: AnswerReading) -> str:
    """Each relation (then each gold relation missed) with a chip in its class's colour; empty without gold."""
    if not reading.judged:
        return ""
    rows = [*reading.relations, *reading.missed]
    if not rows:
        return "<p><em>No relation predicted and none in the gold.</em></p>"
    lines = []
    for i, relation in enumerate(rows):
        gold = " (gold, not found)" if i >= len(reading.relations) else ""
        text = f"{task.display_label(relation.label)}: {task.relation_text(relation.args)}{gold}"
        chip = _chip(CLASS_TITLES.get(relation.error, relation.error), CLASS_COLOURS.get(relation.error, "#455a64"))
        lines.append(f"<tr><td>{chip}</td><td>{html_text(text)}</td></tr>")
    return f"<table style='width:100%'>{''.join(lines)}</table>"


def panel(task, text: str, record, document=None) -> str:
    """The whole panel for one model's answer (`record`) on the passage `text`; "" when there is no answer."""
    if record is None:
        return ""
    reading = read_answer(task, text, record.parse_result(), document)
    parts = [level_legend(), marked_passage(text, reading.groundings), absent_list(reading)]
    if reading.judged:
        parts += [class_legend(), relations_by_class(task, reading)]
    return "".join(parts)
