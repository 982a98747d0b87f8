"""Benchmark examples for the Compare tab: search, random pick (one label format for both) and a preview."""

from __future__ import annotations

import random

from bre_core.errors import BreError
from bre_core.schema import Document
from bre_core.tasks import get_task
from bre_core.ui.compare_view import html_text
from bre_core.ui.context import AppContext
from bre_core.ui.passage_view import entity_passage

LABEL_CHARS = 90  # of the passage, after the id


def example_label(document: Document) -> str:
    """How an example is named in the picker, whichever way it was found."""
    text = " ".join(document.text.split())
    return f"{document.id} — {text[:LABEL_CHARS]}{'…' if len(text) > LABEL_CHARS else ''}"


def find_examples(ctx: AppContext, dataset: str, split: str, query: str = "", limit: int = 50) -> list[tuple[str, str]]:
    """(label, id) of the examples whose id or text contains the query (case-insensitive)."""
    query = (query or "").strip().lower()
    found = []
    for document in ctx.documents(dataset, split):
        if not query or query in document.id.lower() or query in document.text.lower():
            found.append((example_label(document), document.id))
            if len(found) >= limit:
                break
    return found


def random_example(ctx: AppContext, dataset: str, split: str, rng: random.Random | None = None) -> tuple[str, str]:
    """(label, id) of an example drawn at random."""
    document = (rng or random).choice(ctx.documents(dataset, split))
    return example_label(document), document.id


def find_document(ctx: AppContext, dataset: str, split: str, document_id: str) -> Document:
    for document in ctx.documents(dataset, split):
        if document.id == document_id:
            return document
    raise BreError(f"No {dataset} {split} example has the id '{document_id}'.")


def choices_with(ctx: AppContext, dataset: str, split: str, document_id: str) -> list[tuple[str, str]]:
    """The picker's choices with `document_id` first (as a link or a random pick opens it), then the first ones."""
    chosen = find_document(ctx, dataset, split, document_id)
    rest = [choice for choice in find_examples(ctx, dataset, split) if choice[1] != document_id]
    return [(example_label(chosen), chosen.id), *rest]


def example_preview(ctx: AppContext, dataset: str, split: str, document_id) -> str:
    """HTML: the example's id, its gold relation count and its passage with the gold entities highlighted."""
    if not isinstance(document_id, str) or not document_id:
        return ""
    try:
        document = find_document(ctx, dataset, split, document_id)
    except BreError:
        return ""  # the summary says why
    gold = len(get_task(dataset).distinct_relations(document))
    head = (
        f"<div class='bre-example-head'>Example <b class='bre-example-id'>{html_text(document.id)}</b> · "
        f"{html_text(dataset)} {html_text(split)} · {gold} gold relation(s)</div>"
    )
    return head + entity_passage(document)
