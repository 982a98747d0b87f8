"""Error cases tab: two runs over the same documents, relation by relation (buckets, documents, confusion, export)."""

import hashlib
import re
import tempfile
from pathlib import Path

import pandas as pd

from bre_core import error_cases as ec
from bre_core import error_classes
from bre_core.errors import BreError
from bre_core.runs import Manifest, Run, on_shared_protocol
from bre_core.tasks import HEADLINE
from bre_core.ui import protocol_view, taxonomy_figures
from bre_core.ui.compare_view import markdown_text, plot_text
from bre_core.ui.context import AppContext
from bre_core.ui.deep_links import View, parse_view, query_of
from bre_core.ui.errors_view import (  # noqa: F401  (the tab's colours, for callers)
    HEATMAP_SCALES,
    MODEL_COLOURS,
    OUTCOME_COLOURS,
    legend_html,
    passage_html,
    relations_html,
    styled,
)

SHOWN, FORMATS = [c for c in ec.CASE_COLUMNS if c != "key"] + [error_classes.ERROR_COLUMN], ("csv", "jsonl")
ERROR_CLASSES = list(error_classes.TITLES.values())  # the taxonomy's classes, as the filter offers them
NO_RUNS = "**No runs found** under {where}. Make one, e.g. `python -m bre_core evaluate --model flan-t5-base " + (
    "--dataset chemprot --split test --out runs` (or `finetune ... --out runs`), then reload the page."
)
CHOOSE = "Choose a dataset and two runs over the same documents."


def _label(run: Run) -> str:
    return f"{run.name} (micro-F1 {run.metrics.get('micro', {}).get('f1', 0):.3f})"


def _seen(ctx: AppContext, path: str, protocol) -> Run:
    """The run under the chosen protocol; one not scored with it (written before protocols) as it is."""
    run = ctx.run(path)
    return run.under(protocol_view.chosen(protocol)) or run


def _judged(a: Run, b: Run, protocol: str) -> str:
    """Which protocol the pair is judged under (error_cases sees both under one), and why when not the chosen."""
    used = on_shared_protocol(a, b)[0].protocol
    kept = [markdown_text(run.name) for run in (a, b) if protocol not in run.protocols]
    why = f" ({', '.join(kept)}: written before protocols, read as corrected)" if kept else ""
    return f"judged under the **{used}** protocol{why}"


def _corpus(ctx: AppContext, run: Run) -> tuple[list | None, str]:
    """The runs' documents from the corpus (kept by the context), or None and why (looked for again next time)."""
    key = ("error-cases corpus", *(run.manifest.get(k) for k in ("dataset", "split", "split_seed", "data_hash")))
    found = ctx.derived(key, lambda: ec.load_matching_documents(run, ctx.data_dir))
    if found[0] is None:
        ctx.forget(key)  # an absent corpus may appear: the miss is not kept
    return found


def _cases(ctx: AppContext, path_a, path_b, protocol=HEADLINE) -> tuple[pd.DataFrame, str]:
    """The pair's cases, judged once per pair and protocol and kept by the context (every filter, export and
    class list reads them)."""

    run_a, run_b = _seen(ctx, path_a, protocol), _seen(ctx, path_b, protocol)
    documents, note = _corpus(ctx, run_a)
    key = ("error cases", str(path_a), str(path_b), run_a.protocol, documents is not None)  # a corpus may appear
    return ctx.derived(
        key,
        lambda: (error_classes.with_error_classes(ec.buckets(run_a, run_b, documents), run_a, run_b, documents), note),
    )


def _listing(ctx: AppContext, fresh: bool = False) -> list[tuple[str, str, Manifest]]:
    """(label, folder, manifest) of the runs; listed again on a page load (only changed folders are read again)."""
    runs, _ = ctx.runs(refresh=fresh)
    return [(_label(r), str(r.path), r.manifest) for r in runs]


def dataset_choices(ctx: AppContext) -> tuple[list[str], str]:
    """Datasets that have runs (the folders listed again), and the empty-state message when there are none."""
    datasets = sorted({str(m.get("dataset")) for _, _, m in _listing(ctx, fresh=True)})
    where = ", ".join(f"`{r}`" for r in ctx.runs_dirs) or "no folder (none configured)"
    skipped = ctx.runs()[1]
    note = "" if datasets else NO_RUNS.format(where=where)
    if skipped:  # damaged or unfinished run folders: said, not silently left out
        note += f"\n\n⚠️ **{len(skipped)} run folder(s) skipped**:\n" + "\n".join(
            f"- {markdown_text(w)}" for w in skipped
        )
    return datasets, note.strip()


def run_choices(ctx: AppContext, dataset: str | None) -> list[tuple[str, str]]:
    """(label, folder) of each complete run of `dataset`."""
    return [(label, path) for label, path, m in _listing(ctx) if m.get("dataset") == dataset]


def comparable_choices(ctx: AppContext, path_a: str | None) -> list[tuple[str, str]]:
    """(label, folder) of the runs over the same documents as run A (same dataset, split and data hash)."""
    a = ctx.run(path_a).manifest if path_a else None
    same = [r for r in _listing(ctx) if a and r[1] != path_a and r[2].same_documents(a)]
    # Other models first, then the same setting and seed: B defaults to the first, the usual question.
    same.sort(key=lambda run: (run[2].model_label == a.model_label, run[2].setting != a.setting, run[2].seed != a.seed))
    return [(label, path) for label, path, _ in same]


def linked_choice(choices: list[tuple[str, str]], linked: str = "") -> str | None:
    """The choice a link names (a dataset, or a run by its folder's name) when it is offered, else the first.

    >>> linked_choice([("a", "/runs/x"), ("b", "/runs/y")], "y"), linked_choice([("a", "/runs/x")], "z")
    ('/runs/y', '/runs/x')
    """
    named = [value for _, value in choices if linked and (value == linked or Path(value).name == linked)]
    return (named or [value for _, value in choices] or [None])[0]


def _link(request) -> View:
    return parse_view(query_of(request))


def class_choices(ctx: AppContext, path_a, path_b, protocol=HEADLINE) -> list[str]:
    """The classes among the pair's cases (none for runs that cannot be compared: analyse says why)."""
    try:
        return sorted(set(_cases(ctx, path_a, path_b, protocol)[0]["class"])) if path_a and path_b else []
    except (BreError, OSError):
        return []


def analyse(
    ctx: AppContext, path_a, path_b, buckets=(), classes=(), protocol=HEADLINE, errors=()
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(cases per bucket for the chosen classes and error classes, the filtered cases, a message), judged under
    `protocol`."""
    empty = ec.bucket_counts(pd.DataFrame(columns=ec.CASE_COLUMNS)), pd.DataFrame(columns=SHOWN)
    if not (path_a and path_b):
        return *empty, CHOOSE
    try:
        cases, note = _cases(ctx, path_a, path_b, protocol)
        a, b = _seen(ctx, path_a, protocol), _seen(ctx, path_b, protocol)
        judged = _judged(a, b, protocol_view.chosen(protocol))
    except (BreError, OSError) as exc:
        return *empty, f"**Cannot compare these runs.** {markdown_text(exc)}"
    counts = ec.bucket_counts(error_classes.filter_by_error_class(ec.filter_cases(cases, (), classes), errors))
    shown = error_classes.filter_by_error_class(ec.filter_cases(cases, buckets, classes), errors)
    runs = ", ".join(
        f"{slot} = **{markdown_text(run.manifest.model_label)}** ({markdown_text(run.name)})"
        for slot, run in (("A", a), ("B", b))
    )
    message = f"{runs}, {judged}: {len(shown)} of {len(cases)} cases over {len(a.predictions)} documents. {note}"
    return counts, shown[SHOWN], message.strip()


def export_cases(
    ctx: AppContext, path_a, path_b, buckets=(), classes=(), fmt="csv", protocol=HEADLINE, errors=()
) -> str | None:
    """The filtered cases written as CSV or JSON lines under the temp folder; the file's path (None: no runs)."""
    if not (path_a and path_b):
        return None
    shown = ec.filter_cases(_cases(ctx, path_a, path_b, protocol)[0], buckets, classes)
    shown = error_classes.filter_by_error_class(shown, errors)
    # Named by what it holds, so that the same selection never piles up copies and two selections never collide.
    chosen = (path_a, path_b, sorted(buckets or ()), sorted(classes or ()), protocol, *sorted(errors or ()))
    digest = hashlib.sha256(repr(chosen).encode()).hexdigest()
    # Run folder names may hold any character; the file's name (shown by the browser) keeps the safe ones.
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"errors__{ctx.run(path_a).name}__vs__{ctx.run(path_b).name}__{protocol}")
    name = f"{name}.{fmt}"
    return str(ec.export(shown, fmt, Path(tempfile.gettempdir()) / "bre-errors" / digest[:16] / name))


def case_document(evt) -> str:
    """The document id of a selected case row (a gr.SelectData)."""
    return str(evt.row_value[0]) if getattr(evt, "row_value", None) else ""


def open_document(ctx: AppContext, path_a, path_b, doc_id, protocol=HEADLINE) -> tuple[str, str, str]:
    """(passage HTML, gold | A | B relations HTML, message) for one document; all text escaped."""
    if not (path_a and path_b):
        return "", "", CHOOSE
    try:
        run_a, run_b = _seen(ctx, path_a, protocol), _seen(ctx, path_b, protocol)
    except BreError as exc:
        return "", "", f"**Cannot compare these runs.** {markdown_text(exc)}"
    # No id: the first document with gold relations or predictions, which is what a reader wants to see first.
    doc_id = (doc_id or "").strip() or next((p.id for p in run_a.predictions if p.relations or p.missed), "")
    documents, note = _corpus(ctx, run_a)
    try:
        view = ec.document_view(run_a, run_b, doc_id, documents)
    except KeyError:
        sample = markdown_text(", ".join(p.id for p in run_a.predictions[:3]))
        return "", "", f"No document '{markdown_text(doc_id)}' in these runs (ids look like: {sample})."
    except BreError as exc:
        return "", "", f"**Cannot compare these runs.** {markdown_text(exc)}"
    relations = relations_html(view, run_a.manifest.model_label, run_b.manifest.model_label)
    return passage_html(view), relations, f"Document **{markdown_text(doc_id)}**. {note}"


def confusion_figure(ctx: AppContext, path_a, path_b, which="A", protocol=HEADLINE):
    """A plotly heatmap: gold class → predicted class for the same argument pair, of run A or B."""
    import plotly.graph_objects as go

    figure = go.Figure()
    path = path_a if which == "A" else path_b
    if not path:  # no axes: an empty heatmap would draw a meaningless grid
        figure.add_annotation(text=CHOOSE, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
        return figure.update_layout(xaxis_visible=False, yaxis_visible=False, height=160)
    run = _seen(ctx, path, protocol)
    table = ctx.derived(("confusion", str(path), run.protocol), lambda: ec.confusion(run, _corpus(ctx, run)[0]))
    hover = "gold %{y} → predicted %{x}: %{z}<extra></extra>"
    text = [[str(n) if n else "" for n in row] for row in table.values.tolist()]  # zeros left blank: less noise
    labels = {"x": [plot_text(c) for c in table.columns], "y": [plot_text(i) for i in table.index]}
    cells = {"z": table.values.tolist(), **labels, "text": text}
    figure.add_trace(go.Heatmap(**cells, texttemplate="%{text}", colorscale=HEATMAP_SCALES[which], hovertemplate=hover))
    figure.update_xaxes(title="predicted class").update_yaxes(title="gold class", autorange="reversed")
    title = (
        f"{which} = {plot_text(run.manifest.model_label)}: gold class → predicted class (same arguments; "
        f"{run.protocol} protocol)"
    )
    return figure.update_layout(title=title, height=120 + 45 * len(table.index))


def error_class_figure(ctx: AppContext, path_a, path_b, protocol=HEADLINE):
    """A plotly stacked bar per run (A, B): its false positives and false negatives by error class."""
    if not (path_a and path_b):
        return taxonomy_figures.class_bars(pd.DataFrame(), CHOOSE, CHOOSE)
    run_a, run_b = on_shared_protocol(_seen(ctx, path_a, protocol), _seen(ctx, path_b, protocol))
    return taxonomy_figures.pair_figure(run_a, run_b, _corpus(ctx, run_a)[0])


def build(gr, app, ctx: AppContext, tab=None) -> dict:
    """Lay out the tab inside the current gr.Blocks context; the run lists are read again when the tab is opened
    (`tab`'s select; without a tab, when a page loads)."""
    message = gr.Markdown()
    with gr.Row():
        dataset = gr.Dropdown(choices=[], label="Dataset")
        run_a = gr.Dropdown(choices=[], label="Run A")
        run_b = gr.Dropdown(choices=[], label="Run B (same documents as A)")
        protocol = protocol_view.radio(gr)
    gr.HTML(legend_html())
    with gr.Row():
        bucket_filter = gr.Dropdown(choices=list(ec.BUCKETS), multiselect=True, label="Buckets (none: all)")
        class_filter = gr.Dropdown(choices=[], multiselect=True, label="Classes (none: all)")
        error_filter = gr.Dropdown(choices=ERROR_CLASSES, multiselect=True, label="Error classes (none: all)")
    with gr.Row():
        # datatype "str": cells (relation arguments, labels from the runs) are shown as text, never as Markdown
        counts = gr.Dataframe(label="Cases per bucket", interactive=False, scale=1, datatype="str")
        cases = gr.Dataframe(
            label="Cases: select a row to open its document", interactive=False, scale=3, datatype="str"
        )
    with gr.Row():
        fmt = gr.Radio(choices=list(FORMATS), value="csv", label="Export format")
        download = gr.DownloadButton("Download the filtered cases", value=None)
    doc_id = gr.Textbox(label="Document id", placeholder="select a case above, or type an id and press Enter")
    doc_message, passage, relations = gr.Markdown(), gr.HTML(), gr.HTML()
    which, plot = gr.Radio(choices=["A", "B"], value="A", label="Class confusion of run"), gr.Plot()
    error_plot = gr.Plot(label="Error classes of A and B")

    def pick(choices, linked: str = ""):  # new (label, value) choices, the link's (by folder name) or the first chosen
        return gr.Dropdown(choices=choices, value=linked_choice(choices, linked))

    def datasets(request: gr.Request):
        names, note = dataset_choices(ctx)
        link = _link(request)
        return pick([(name, name) for name in names], link.task if link.wants("errors") else ""), note

    def runs_a(name, request: gr.Request):
        link = _link(request)
        return pick(run_choices(ctx, name), link.a if link.wants("errors") else "")

    def runs_b(a, request: gr.Request):
        link = _link(request)
        return pick(comparable_choices(ctx, a), link.b if link.wants("errors") else "")

    def table(a, b, kept, classes, chosen, errors):
        counted, shown, note = analyse(ctx, a, b, kept, classes, chosen, errors)
        return styled(counted), styled(shown), note

    def selected(evt: gr.SelectData) -> str:  # a real class here (no postponed annotations): Gradio fills it in
        return case_document(evt)

    def new_classes(a, b, chosen):
        return gr.Dropdown(choices=class_choices(ctx, a, b, chosen), value=[])

    def export(a, b, kept, classes, form, chosen, errors):
        return export_cases(ctx, a, b, kept, classes, form, chosen, errors)

    # Every handler reads the protocol last (then the error classes): what it judges depends on it.
    filters = [run_a, run_b, bucket_filter, class_filter, protocol, error_filter]
    exported = [run_a, run_b, bucket_filter, class_filter, fmt, protocol, error_filter]
    show = (
        lambda a, b, d, chosen: open_document(ctx, a, b, d, chosen),
        [run_a, run_b, doc_id, protocol],
        [passage, relations, doc_message],
    )
    figure = (
        lambda a, b, w, chosen: confusion_figure(ctx, a, b, w, chosen),
        [run_a, run_b, which, protocol],
        plot,
    )

    def then_all(event, fresh=True):  # what depends on the two runs; user edits only (.input), so nothing runs twice
        event = event.then(new_classes, [run_a, run_b, protocol], class_filter)
        event = event.then(table, filters, [counts, cases, message])
        if fresh:  # other runs: their first document; another protocol: the same document, judged again
            event = event.then(lambda: "", None, doc_id)
        event = event.then(*show).then(*figure).then(export, exported, download)
        event.then(lambda a, b, chosen: error_class_figure(ctx, a, b, chosen), [run_a, run_b, protocol], error_plot)

    (tab.select if tab is not None else app.load)(datasets, None, [dataset, message])
    dataset.change(runs_a, dataset, run_a)
    then_all(run_a.change(runs_b, run_a, run_b))
    then_all(run_b.input(lambda: None, None, None))
    then_all(protocol.input(lambda: None, None, None), fresh=False)
    for control in (bucket_filter, class_filter, error_filter):
        control.input(table, filters, [counts, cases, message]).then(export, exported, download)
    fmt.input(export, exported, download)
    which.input(*figure)
    cases.select(selected, None, doc_id).then(*show)
    doc_id.submit(*show)
    return {"task": dataset, "a": run_a, "b": run_b}  # what a link to the tab names (deep_links)
