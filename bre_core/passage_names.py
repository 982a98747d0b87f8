"""Entity names as the passage spells them: the scorer lower-cases arguments, a reader wants "COX-2"."""

from __future__ import annotations

from bre_core.schema import Document
from bre_core.tasks.base import normalize_space


def passage_spelling(document: Document | None):
    """A function that writes an argument as the passage spells it ("COX-2", not the scorer's "cox-2"): an entity
    name of the document, else the passage's own text where it holds the argument; else the argument as it is."""
    if document is None:
        return lambda name: name
    names: dict[str, str] = {}
    for entity in document.entities:
        for name in entity.names:
            names.setdefault(normalize_space(name).lower(), name)
    lowered = document.text.lower()
    same_length = len(lowered) == len(document.text)  # offsets into the lower-cased text hold in the passage

    def spelled(name: str) -> str:
        key = normalize_space(name).lower()
        if key in names:
            return names[key]
        at = lowered.find(key) if same_length and key else -1
        return document.text[at : at + len(key)] if at >= 0 else name

    return spelled
