"""Corpus tab: per-split statistics with the format ceiling, and one document's source, target and gold."""

from __future__ import annotations

import pandas as pd

from bre_core.datasets import DATASETS, SPLITS, load_documents
from bre_core.errors import BreError
from bre_core.stats import dataset_stats
from bre_core.tasks import get_task
from bre_core.ui.compare_view import markdown_text

STATS_COLUMNS = ["split", "documents", "relations", "annotated", "ceiling_f1", "by_label"]
RELATION_COLUMNS = ["label", "arguments"]


def corpus_overview(dataset: str, data_dir: str | None = None) -> tuple[pd.DataFrame, str]:
    """(statistics table, message); the message says how to get the data when it is missing."""
    try:
        stats = dataset_stats(dataset, data_dir)
    except BreError as exc:
        return pd.DataFrame(columns=STATS_COLUMNS), f"**Cannot read {markdown_text(dataset)}.** {markdown_text(exc)}"
    rows = [
        {
            "split": split,
            **{k: row[k] for k in STATS_COLUMNS[1:5]},
            "by_label": ", ".join(f"{label} {n}" for label, n in row["by_label"].items()),
        }
        for split, row in stats["splits"].items()
    ]
    return pd.DataFrame(rows, columns=STATS_COLUMNS), ""


def show_document(dataset: str, split: str, query: str, data_dir: str | None = None):
    """(passage, source, target, gold relations table, message) for the document whose id or text matches query."""
    empty = pd.DataFrame(columns=RELATION_COLUMNS)
    try:
        documents = load_documents(dataset, split, data_dir)
    except BreError as exc:
        return (
            "",
            "",
            "",
            empty,
            f"**Cannot read {markdown_text(dataset)} {markdown_text(split)}.** {markdown_text(exc)}",
        )
    if not documents:
        return "", "", "", empty, f"{dataset} {split} has no documents."
    query = (query or "").strip()
    found = next((d for d in documents if d.id == query), None)
    if found is None and query:
        found = next((d for d in documents if query.lower() in d.text.lower()), None)
        if found is None:
            return (
                "",
                "",
                "",
                empty,
                f"No {dataset} {split} document has the id or contains the words '{markdown_text(query)}'.",
            )
    document = found or documents[0]
    row = get_task(dataset).example(document)
    relations = pd.DataFrame(
        [
            {"label": r["label"], "arguments": " | ".join(names[0] if names else "?" for names in r["names"])}
            for r in row["relations"]
        ],
        columns=RELATION_COLUMNS,
    )
    return document.text, row["source"], row["target"], relations, f"Document **{document.id}** of {len(documents)}."


def build(gr, app, data_dir: str | None = None) -> None:
    """Lay out the tab inside the current gr.Blocks context; fill it when a page loads."""
    with gr.Row():
        dataset = gr.Dropdown(choices=sorted(DATASETS), value="chemprot", label="Dataset")
        split = gr.Dropdown(choices=list(SPLITS), value="test", label="Split")
        query = gr.Textbox(label="Document id or words", placeholder="empty: the first document")
    message = gr.Markdown()
    stats = gr.Dataframe(
        label="Splits: distinct relations as scored, and the best F1 the output format allows", interactive=False
    )
    passage = gr.Textbox(label="Passage", lines=6, interactive=False)
    with gr.Row():
        source = gr.Textbox(label="Source (model input)", lines=8, interactive=False)
        target = gr.Textbox(label="Target (training output)", lines=8, interactive=False)
    gold = gr.Dataframe(label="Gold relations", interactive=False)

    def overview(name):
        return corpus_overview(name, data_dir)

    def document(name, part, words):
        return show_document(name, part, words, data_dir)

    outputs = [passage, source, target, gold, message]
    dataset.change(overview, dataset, [stats, message]).then(document, [dataset, split, query], outputs)
    split.change(document, [dataset, split, query], outputs)
    query.submit(document, [dataset, split, query], outputs)
    app.load(overview, dataset, [stats, message]).then(document, [dataset, split, query], outputs)
