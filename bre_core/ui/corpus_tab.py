"""Corpus tab: per-split statistics with the format ceiling, and one document's source, target and gold."""

# No postponed annotations: Gradio fills in a parameter annotated gr.Request only when it sees the class.

import pandas as pd

from bre_core.datasets import DATASETS, SPLITS, load_documents
from bre_core.errors import BreError
from bre_core.stats import dataset_stats
from bre_core.tasks import get_task
from bre_core.ui.compare_view import markdown_text
from bre_core.ui.deep_links import parse_view, query_of
from bre_core.ui.passage_view import entity_passage

# data stats' keys -> the headers shown
STATS_HEADERS = {
    "split": "split",
    "documents": "documents",
    "relations": "relations (as scored)",
    "annotated": "relations annotated",
    "ceiling_f1": "best F1 the format allows",
    "by_label": "relations by class",
}
STATS_COLUMNS = list(STATS_HEADERS.values())
RELATION_COLUMNS = ["class", "arguments"]


def count(n: int) -> str:
    return f"{n:,}"


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def corpus_overview(dataset: str, data_dir: str | None = None) -> tuple[pd.DataFrame, str]:
    """(statistics table as shown: counts with thousands separators, F1 to 4 places, classes named; message); the
    message says how to get the data when it is missing."""
    try:
        stats = dataset_stats(dataset, data_dir)
    except BreError as exc:
        return pd.DataFrame(columns=STATS_COLUMNS), f"**Cannot read {markdown_text(dataset)}.** {markdown_text(exc)}"
    task = get_task(dataset)
    rows = [
        {
            "split": split,
            "documents": count(row["documents"]),
            "relations": count(row["relations"]),
            "annotated": count(row["annotated"]),
            "ceiling_f1": score(row["ceiling_f1"]),
            "by_label": ", ".join(f"{task.display_label(label)} {count(n)}" for label, n in row["by_label"].items()),
        }
        for split, row in stats["splits"].items()
    ]
    return pd.DataFrame(rows).rename(columns=STATS_HEADERS).reindex(columns=STATS_COLUMNS), ""


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
    task = get_task(dataset)
    row = task.example(document)
    relations = pd.DataFrame(
        [
            {
                "class": task.display_label(r["label"]),
                "arguments": " | ".join(names[0] if names else "?" for names in r["names"]),
            }
            for r in row["relations"]
        ],
        columns=RELATION_COLUMNS,
    )
    place = next(i for i, d in enumerate(documents, 1) if d is document)
    message = f"Document **{markdown_text(document.id)}** ({place:,} of {len(documents):,} in {dataset} {split})."
    return entity_passage(document), row["source"], row["target"], relations, message


def build(gr, app, data_dir: str | None = None) -> dict:
    """Lay out the tab inside the current gr.Blocks context; fill it when a page loads (as a link names it).
    Returns the controls a link to it names."""
    with gr.Row():
        dataset = gr.Dropdown(choices=sorted(DATASETS), value="chemprot", label="Dataset")
        split = gr.Dropdown(choices=list(SPLITS), value="test", label="Split")
        query = gr.Textbox(label="Document id or words", placeholder="empty: the first document")
    message = gr.Markdown()
    stats = gr.Dataframe(
        value=pd.DataFrame(columns=STATS_COLUMNS),
        label="Splits: distinct relations as scored, and the best F1 the output format allows",
        interactive=False,
        datatype="str",
    )
    passage = gr.HTML(label="Passage")
    with gr.Row():
        source = gr.Textbox(label="Source (model input)", lines=8, interactive=False)
        target = gr.Textbox(label="Target (training output)", lines=8, interactive=False)
    gold = gr.Dataframe(
        value=pd.DataFrame(columns=RELATION_COLUMNS), label="Gold relations", interactive=False, datatype="str"
    )

    def overview(name):
        return corpus_overview(name, data_dir)

    def document(name, part, words):
        return show_document(name, part, words, data_dir)

    def opened(name, part, words, request: gr.Request):
        """The dataset, split and document a link names (deep_links), else the defaults."""
        link = parse_view(query_of(request))
        if link.wants("corpus"):
            name, part, words = link.task, link.split, link.id
        return name, part, words, *overview(name)

    outputs = [passage, source, target, gold, message]
    # .input: a link's values set on load must not start a second, competing reading
    dataset.input(overview, dataset, [stats, message]).then(document, [dataset, split, query], outputs)
    split.input(document, [dataset, split, query], outputs)
    query.submit(document, [dataset, split, query], outputs)
    app.load(opened, [dataset, split, query], [dataset, split, query, stats, message]).then(
        document, [dataset, split, query], outputs
    )
    return {"task": dataset, "split": split, "id": query}
