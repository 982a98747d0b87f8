"""A corpus passage as HTML with its gold entities highlighted by type (from their character spans), and a legend."""

from __future__ import annotations

from bre_core.schema import Document
from bre_core.ui.compare_view import html_text

# Background colours by entity type (lower-cased), light enough for black text; other types take PALETTE in turn.
TYPE_COLOURS = {
    "chemical": "#cfe3fb",
    "gene-y": "#e3d5f5",
    "gene-n": "#f1e2fa",
    "disease": "#fbd9c4",
    "drug": "#cfe3fb",
    "brand": "#d4f0ec",
    "group": "#f6efc0",
    "drug_n": "#e6e6e6",
}
PALETTE = ("#d9ead3", "#fce5cd", "#d0e0e3", "#ead1dc", "#fff2cc")


def type_colours(types) -> dict[str, str]:
    """A colour for each entity type, fixed for the known ones."""
    colours, unknown = {}, 0
    for kind in sorted(set(types)):
        colours[kind] = TYPE_COLOURS.get(kind.lower()) or PALETTE[unknown % len(PALETTE)]
        unknown += kind.lower() not in TYPE_COLOURS
    return colours


def entity_spans(document: Document) -> list[tuple[int, int, str]]:
    """(start, end, type) of every mention, in order; a mention overlapping an earlier one is left out."""
    spans = sorted(
        ((start, end, entity.type) for entity in document.entities for start, end in entity.spans),
        key=lambda span: (span[0], -span[1]),
    )
    kept, reached = [], 0
    for start, end, kind in spans:
        if start >= reached and 0 <= start < end <= len(document.text):
            kept.append((start, end, kind))
            reached = end
    return kept


def entity_passage(document: Document) -> str:
    """The passage, escaped, each gold entity mention marked in its type's colour (hover: the type)."""
    spans = entity_spans(document)
    colours = type_colours(kind for *_, kind in spans)
    pieces, last = [], 0
    for start, end, kind in spans:
        pieces.append(html_text(document.text[last:start]))
        style = f"background: {colours[kind]}"
        pieces.append(f"<mark style='{style}' title='{html_text(kind)}'>{html_text(document.text[start:end])}</mark>")
        last = end
    pieces.append(html_text(document.text[last:]))
    return f"{legend(colours)}<div class='bre-passage'>{''.join(pieces)}</div>"


def legend(colours: dict[str, str]) -> str:
    if not colours:
        return "<div class='bre-legend'>No entity of this document has a position in the passage.</div>"
    items = " ".join(f"<mark style='background: {c}'>{html_text(kind)}</mark>" for kind, c in colours.items())
    return f"<div class='bre-legend'>Gold entities by type: {items}</div>"
