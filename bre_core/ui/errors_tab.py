"""Error cases tab: two runs over the same documents, relation by relation (buckets, documents, confusion, export)."""

import hashlib
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

from bre_core import error_cases as ec
from bre_core.errors import BreError
from bre_core.results import MANIFEST, Run, on_shared_protocol, read_run
from bre_core.run_sets import find_runs
from bre_core.tasks import HEADLINE
from bre_core.ui import protocol_view
from bre_core.ui.compare_view import markdown_text
from bre_core.ui.errors_view import (  # noqa: F401  (the tab's colours, for callers)
    HEATMAP_SCALES,
    MODEL_COLOURS,
    OUTCOME_COLOURS,
    legend_html,
    passage_html,
    relations_html,
    styled,
)

SHOWN, FORMATS = [c for c in ec.CASE_COLUMNS if c != "key"], ("csv", "jsonl")
NO_RUNS = "**No runs found** under {where}. Make one, e.g. `python -m bre_core evaluate --model flan-t5-base " + (
    "--dataset chemprot --split test --out runs` (or `finetune ... --out runs`), then reload the page."
)
CHOOSE = "Choose a dataset and two runs over the same documents."
# Caches: runs by folder and manifest time (a run re-made in place is read again); a few corpora (they are large)
# by what identifies their documents; per set of folders, (label, folder, manifest) of the runs at the last page load.
_read = lru_cache(maxsize=16)(lambda path, stamp: read_run(path))
_CORPORA: dict[tuple, list] = {}
_LISTS: dict[tuple, list] = {}
_SKIPPED: dict[tuple, list[str]] = {}  # why folders under the roots were left out, by roots


def _roots(runs_dirs) -> list:
    return [runs_dirs] if isinstance(runs_dirs, str | Path) else [r for r in runs_dirs or () if r]


def _key(runs_dirs) -> tuple[str, ...]:
    return tuple(str(r) for r in _roots(runs_dirs))


def _label(run: Run) -> str:
    return f"{run.name} (micro-F1 {run.metrics.get('micro', {}).get('f1', 0):.3f})"


def _model(manifest: dict) -> str:
    return Path(str(manifest.get("model", {}).get("name", "?"))).name


def _run(path: str) -> Run:
    return _read(str(path), (Path(path) / MANIFEST).stat().st_mtime_ns)


def _seen(path: str, protocol) -> Run:
    """The run under the chosen protocol; one not scored with it (written before protocols) as it is."""
    run = _run(path)
    return run.under(protocol_view.chosen(protocol)) or run


def _judged(a: Run, b: Run, protocol: str) -> str:
    """Which protocol the pair is judged under (error_cases sees both under one), and why when not the chosen."""
    used = on_shared_protocol(a, b)[0].protocol
    kept = [markdown_text(run.name) for run in (a, b) if protocol not in run.protocols]
    why = f" ({', '.join(kept)}: written before protocols, read as corrected)" if kept else ""
    return f"judged under the **{used}** protocol{why}"


def _corpus(run: Run, data_dir) -> tuple[list | None, str]:
    """The runs' documents from the corpus (cached), or None and why; a corpus that is absent is looked for again."""
    key = (*(run.manifest.get(k) for k in ("dataset", "split", "split_seed", "data_hash")), str(data_dir))
    if key not in _CORPORA:
        documents, note = ec.load_matching_documents(run, data_dir)
        if documents is None:
            return None, note
        while len(_CORPORA) >= 4:
            _CORPORA.pop(next(iter(_CORPORA)))
        _CORPORA[key] = documents
    return _CORPORA[key], ""


def _cases(path_a, path_b, data_dir, protocol=HEADLINE) -> tuple[pd.DataFrame, str]:
    run_a, run_b = _seen(path_a, protocol), _seen(path_b, protocol)
    documents, note = _corpus(run_a, data_dir)
    return ec.buckets(run_a, run_b, documents), note


def _listing(runs_dirs, fresh: bool = False) -> list[tuple[str, str, dict]]:
    """The runs under the folders; read afresh only on a page load, since find_runs reads every prediction."""
    key = _key(runs_dirs)
    if fresh or key not in _LISTS:
        runs, _SKIPPED[key] = find_runs(*_roots(runs_dirs))
        _LISTS[key] = [(_label(r), str(r.path), r.manifest) for r in runs]
    return _LISTS[key]


def dataset_choices(runs_dirs) -> tuple[list[str], str]:
    """Datasets that have runs (the folders read again), and the empty-state message when there are none."""
    datasets = sorted({str(m.get("dataset")) for _, _, m in _listing(runs_dirs, fresh=True)})
    where = ", ".join(f"`{r}`" for r in _roots(runs_dirs)) or "no folder (none configured)"
    skipped = _SKIPPED.get(_key(runs_dirs), [])
    note = "" if datasets else NO_RUNS.format(where=where)
    if skipped:  # damaged or unfinished run folders: said, not silently left out
        note += f"\n\n⚠️ **{len(skipped)} run folder(s) skipped**:\n" + "\n".join(
            f"- {markdown_text(w)}" for w in skipped
        )
    return datasets, note.strip()


def run_choices(dataset: str | None, runs_dirs) -> list[tuple[str, str]]:
    """(label, folder) of each complete run of `dataset`."""
    return [(label, path) for label, path, m in _listing(runs_dirs) if m.get("dataset") == dataset]


def comparable_choices(path_a: str | None, runs_dirs) -> list[tuple[str, str]]:
    """(label, folder) of the runs over the same documents as run A (same dataset, split and data hash)."""
    a, keys = (_run(path_a).manifest if path_a else None), ("dataset", "split", "data_hash")
    same = [r for r in _listing(runs_dirs) if a and r[1] != path_a and all(r[2].get(k) == a.get(k) for k in keys)]
    # Other models first, then the same setting and seed: B defaults to the first, the usual question.
    same.sort(key=lambda run: (_model(run[2]) == _model(a), *(run[2].get(k) != a.get(k) for k in ("setting", "seed"))))
    return [(label, path) for label, path, _ in same]


def class_choices(path_a, path_b, data_dir=None, protocol=HEADLINE) -> list[str]:
    return sorted(set(_cases(path_a, path_b, data_dir, protocol)[0]["class"])) if path_a and path_b else []


def analyse(
    path_a, path_b, buckets=(), classes=(), data_dir=None, protocol=HEADLINE
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(cases per bucket for the chosen classes, the filtered cases, a message), judged under `protocol`."""
    empty = ec.bucket_counts(pd.DataFrame(columns=ec.CASE_COLUMNS)), pd.DataFrame(columns=SHOWN)
    if not (path_a and path_b):
        return *empty, CHOOSE
    try:
        cases, note = _cases(path_a, path_b, data_dir, protocol)
        a, b = _seen(path_a, protocol), _seen(path_b, protocol)
        judged = _judged(a, b, protocol_view.chosen(protocol))
    except (BreError, OSError) as exc:
        return *empty, f"**Cannot compare these runs.** {markdown_text(exc)}"
    counts = ec.bucket_counts(ec.filter_cases(cases, (), classes))
    shown = ec.filter_cases(cases, buckets, classes)
    runs = ", ".join(
        f"{slot} = **{markdown_text(_model(run.manifest))}** ({markdown_text(run.name)})"
        for slot, run in (("A", a), ("B", b))
    )
    message = f"{runs}, {judged}: {len(shown)} of {len(cases)} cases over {len(a.predictions)} documents. {note}"
    return counts, shown[SHOWN], message.strip()


def export_cases(path_a, path_b, buckets=(), classes=(), fmt="csv", data_dir=None, protocol=HEADLINE) -> str | None:
    """The filtered cases written as CSV or JSON lines under the temp folder; the file's path (None: no runs)."""
    if not (path_a and path_b):
        return None
    shown = ec.filter_cases(_cases(path_a, path_b, data_dir, protocol)[0], buckets, classes)
    # Named by what it holds, so that the same selection never piles up copies and two selections never collide.
    chosen = (path_a, path_b, sorted(buckets or ()), sorted(classes or ()), protocol)
    digest = hashlib.sha256(repr(chosen).encode()).hexdigest()
    name = f"errors__{_run(path_a).name}__vs__{_run(path_b).name}__{protocol}.{fmt}"
    return str(ec.export(shown, fmt, Path(tempfile.gettempdir()) / "bre-errors" / digest[:16] / name))


def case_document(evt) -> str:
    """The document id of a selected case row (a gr.SelectData)."""
    return str(evt.row_value[0]) if getattr(evt, "row_value", None) else ""


def open_document(path_a, path_b, doc_id, data_dir=None, protocol=HEADLINE) -> tuple[str, str, str]:
    """(passage HTML, gold | A | B relations HTML, message) for one document; all text escaped."""
    if not (path_a and path_b):
        return "", "", CHOOSE
    try:
        run_a, run_b = _seen(path_a, protocol), _seen(path_b, protocol)
    except BreError as exc:
        return "", "", f"**Cannot compare these runs.** {markdown_text(exc)}"
    # No id: the first document with gold relations or predictions, which is what a reader wants to see first.
    doc_id = (doc_id or "").strip() or next((p.id for p in run_a.predictions if p.relations or p.missed), "")
    documents, note = _corpus(run_a, data_dir)
    try:
        view = ec.document_view(run_a, run_b, doc_id, documents)
    except KeyError:
        sample = markdown_text(", ".join(p.id for p in run_a.predictions[:3]))
        return "", "", f"No document '{markdown_text(doc_id)}' in these runs (ids look like: {sample})."
    except BreError as exc:
        return "", "", f"**Cannot compare these runs.** {exc}"
    relations = relations_html(view, _model(run_a.manifest), _model(run_b.manifest))
    return passage_html(view), relations, f"Document **{markdown_text(doc_id)}**. {note}"


def confusion_figure(path_a, path_b, which="A", data_dir=None, protocol=HEADLINE):
    """A plotly heatmap: gold class → predicted class for the same argument pair, of run A or B."""
    import plotly.graph_objects as go

    figure = go.Figure()
    path = path_a if which == "A" else path_b
    if not path:
        return figure.update_layout(title=CHOOSE, height=300)
    run = _seen(path, protocol)
    table = ec.confusion(run, _corpus(run, data_dir)[0])
    hover = "gold %{y} → predicted %{x}: %{z}<extra></extra>"
    text = [[str(n) if n else "" for n in row] for row in table.values.tolist()]  # zeros left blank: less noise
    cells = {"z": table.values.tolist(), "x": list(table.columns), "y": list(table.index), "text": text}
    figure.add_trace(go.Heatmap(**cells, texttemplate="%{text}", colorscale=HEATMAP_SCALES[which], hovertemplate=hover))
    figure.update_xaxes(title="predicted class").update_yaxes(title="gold class", autorange="reversed")
    title = f"{which} = {_model(run.manifest)}: gold class → predicted class (same arguments; {run.protocol} protocol)"
    return figure.update_layout(title=title, height=120 + 45 * len(table.index))


def build(gr, app, runs_dirs=None, data_dir: str | None = None) -> None:
    """Lay out the tab inside the current gr.Blocks context; the run lists are read again when a page loads."""
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
    with gr.Row():
        counts = gr.Dataframe(label="Cases per bucket", interactive=False, scale=1)
        cases = gr.Dataframe(label="Cases: select a row to open its document", interactive=False, scale=3)
    with gr.Row():
        fmt = gr.Radio(choices=list(FORMATS), value="csv", label="Export format")
        download = gr.DownloadButton("Download the filtered cases", value=None)
    doc_id = gr.Textbox(label="Document id", placeholder="select a case above, or type an id and press Enter")
    doc_message, passage, relations = gr.Markdown(), gr.HTML(), gr.HTML()
    which, plot = gr.Radio(choices=["A", "B"], value="A", label="Class confusion of run"), gr.Plot()

    def pick(choices):  # new (label, value) choices for a dropdown, the first one chosen
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

    def datasets():
        names, note = dataset_choices(runs_dirs)
        return pick([(name, name) for name in names]), note

    def table(a, b, kept, classes, chosen):
        counted, shown, note = analyse(a, b, kept, classes, data_dir, chosen)
        return styled(counted), styled(shown), note

    def selected(evt: gr.SelectData) -> str:  # a real class here (no postponed annotations): Gradio fills it in
        return case_document(evt)

    def new_classes(a, b, chosen):
        return gr.Dropdown(choices=class_choices(a, b, data_dir, chosen), value=[])

    def export(a, b, kept, classes, form, chosen):
        return export_cases(a, b, kept, classes, form, data_dir, chosen)

    # Every handler reads the protocol last: what it judges depends on it.
    filters = [run_a, run_b, bucket_filter, class_filter, protocol]
    exported = [run_a, run_b, bucket_filter, class_filter, fmt, protocol]
    show = (
        lambda a, b, d, chosen: open_document(a, b, d, data_dir, chosen),
        [run_a, run_b, doc_id, protocol],
        [passage, relations, doc_message],
    )
    figure = (
        lambda a, b, w, chosen: confusion_figure(a, b, w, data_dir, chosen),
        [run_a, run_b, which, protocol],
        plot,
    )

    def then_all(event, fresh=True):  # what depends on the two runs; user edits only (.input), so nothing runs twice
        event = event.then(new_classes, [run_a, run_b, protocol], class_filter)
        event = event.then(table, filters, [counts, cases, message])
        if fresh:  # other runs: their first document; another protocol: the same document, judged again
            event = event.then(lambda: "", None, doc_id)
        event.then(*show).then(*figure).then(export, exported, download)

    app.load(datasets, None, [dataset, message])
    dataset.change(lambda name: pick(run_choices(name, runs_dirs)), dataset, run_a)
    then_all(run_a.change(lambda a: pick(comparable_choices(a, runs_dirs)), run_a, run_b))
    then_all(run_b.input(lambda: None, None, None))
    then_all(protocol.input(lambda: None, None, None), fresh=False)
    for control in (bucket_filter, class_filter):
        control.input(table, filters, [counts, cases, message]).then(export, exported, download)
    fmt.input(export, exported, download)
    which.input(*figure)
    cases.select(selected, None, doc_id).then(*show)
    doc_id.submit(*show)
