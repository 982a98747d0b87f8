"""Compare tab: two models on one passage (free text or a benchmark example), against the gold when there is one."""

from __future__ import annotations

import logging
import random

from bre_core.datasets import DATASETS, SPLITS
from bre_core.errors import BreError, InputError, log_fault
from bre_core.runs import Run
from bre_core.schema import Document
from bre_core.side_by_side import Side, answer_both
from bre_core.tasks import HEADLINE, get_task
from bre_core.ui import compare_view as view
from bre_core.ui import protocol_view
from bre_core.ui.compare_result import Answers, CompareResult, present
from bre_core.ui.context import GENERATION_GROUP, AppContext, demo_passages
from bre_core.user_input import check_choice, check_passage

log = logging.getLogger(__name__)

BENCHMARK, FREE_TEXT = "Benchmark example", "Free text"


def find_examples(ctx: AppContext, dataset: str, split: str, query: str = "", limit: int = 50) -> list[tuple[str, str]]:
    """(label, id) of the examples whose id or text contains the query (case-insensitive)."""
    query = (query or "").strip().lower()
    found = []
    for document in ctx.documents(dataset, split):
        if not query or query in document.id.lower() or query in document.text.lower():
            found.append((f"{document.id} — {document.text[:90]}…", document.id))
            if len(found) >= limit:
                break
    return found


def random_example(ctx: AppContext, dataset: str, split: str, rng: random.Random | None = None) -> str:
    documents = ctx.documents(dataset, split)
    return (rng or random).choice(documents).id


def _document(ctx: AppContext, dataset: str, split: str, document_id: str) -> Document:
    for document in ctx.documents(dataset, split):
        if document.id == document_id:
            return document
    raise BreError(f"No {dataset} {split} example has the id '{document_id}'.")


def _provenance(run: Run) -> str:
    manifest = run.manifest
    environment = manifest.get("environment", {})
    return (
        f"run {run.name} ({manifest.get('setting')}, {manifest.get('created', '?')[:10]}, "
        f"{environment.get('hardware') or environment.get('device', '?')})"
    )


def _live(ctx: AppContext, specs: dict, task, item) -> dict[str, Side]:
    """Run the models that have no precomputed answer; under ZeroGPU (the `spaces` package) on a borrowed GPU.

    Bounded in tokens and wall time per model; free text too long for a model is refused in its column, not cut.
    """

    def work():
        bounds = {"max_new_tokens": ctx.max_new_tokens, "max_seconds": ctx.max_seconds}
        # Both at once where the engine allows (side_by_side.answer_both).
        sides = answer_both(specs, task, [item], cache=ctx.cache, refuse_long=isinstance(item, str), **bounds)
        return {slot: answers[0] for slot, answers in sides.items()}

    try:
        import spaces  # present on Hugging Face Spaces with ZeroGPU
    except ImportError:
        return work()
    # The borrowed GPU must outlast both time limits (ZeroGPU's default is 60 s), plus a margin for loading.
    return spaces.GPU(duration=int(len(specs) * ctx.max_seconds) + 30)(work)()


def run_comparison(
    ctx: AppContext,
    task_name: str,
    model_a: str,
    model_b: str,
    kind: str,
    text: str = "",
    split: str = "test",
    example_id: str = "",
    live: bool = False,
    protocol: str = HEADLINE,
) -> CompareResult:
    """Both models' relations on the passage, judged under `protocol`; precomputed run predictions are used for
    benchmark examples unless `live`. Bad input gives a message, never an exception; a model that fails affects
    its column only."""
    try:
        protocol = protocol_view.chosen(protocol)
        return present(_answers(ctx, task_name, model_a, model_b, kind, text, split, example_id, live), protocol)
    except BreError as exc:
        return CompareResult(f"⚠️ {view.markdown_text(exc)}")
    except Exception as exc:  # the last guard: a stack trace never reaches the page
        return CompareResult(f"⚠️ {view.markdown_text(log_fault(log, 'The comparison', exc))}")


def rejudge(answers: Answers | None, protocol: str) -> CompareResult | None:
    """The answers of the last comparison judged under another protocol (no model runs); None before any."""
    if answers is None:
        return None
    try:
        return present(answers, protocol_view.chosen(protocol))
    except BreError as exc:
        return CompareResult(f"⚠️ {view.markdown_text(exc)}")
    except Exception as exc:
        return CompareResult(f"⚠️ {view.markdown_text(log_fault(log, 'The comparison', exc))}")


def kept_answers(result: CompareResult) -> Answers | None:
    """What a session keeps for a protocol switch: a benchmark example's answers; never free text, since what a
    user types is not held on the server (the protocol applies to it at the next Compare)."""
    answers = result.answers
    return answers if answers is not None and answers.document is not None else None


def _answers(ctx, task_name, model_a, model_b, kind, text, split, example_id, live) -> Answers:
    task = get_task(check_choice(task_name, "task", sorted(DATASETS)))
    document = None
    if check_choice(kind, "input kind", [BENCHMARK, FREE_TEXT]) == BENCHMARK:
        split = check_choice(split, "split", list(SPLITS))
        if not isinstance(example_id, str) or not example_id.strip():
            raise InputError("Pick an example first (search, or a random example).")
        document = _document(ctx, task_name, split, example_id.strip()[:200])
        item = document
    else:
        item = check_passage(text, task)

    sides, provenance, to_run = {}, {}, {}
    for slot, name in (("a", model_a), ("b", model_b)):
        try:
            spec = ctx.spec(name)
        except BreError as exc:
            sides[slot] = Side(model=str(name)[:80], error=str(exc))
            continue
        found = ctx.precomputed(spec.name, task_name, split, document.id) if document and not live else None
        if found:
            record, run = found
            sides[slot], provenance[slot] = Side(spec.name, record), _provenance(run)
        else:
            to_run[slot] = spec
    if to_run:
        sides.update(_live(ctx, to_run, task, item))
    return Answers(task.name, document, document.text if document else item, sides, provenance)


def compare_text(ctx: AppContext, task: str, model_a: str, model_b: str, text: str) -> dict:
    """The /compare_text API: each model's name, relations, raw output and timing, or its error.

    Input the app refuses raises an InputError saying why; a model that fails gives an "error" on its side only.
    """
    task = get_task(check_choice(task, "task", sorted(DATASETS)))
    # Only names of the models file: never a hub id, a path, or remote code.
    specs = {slot: ctx.spec(name) for slot, name in (("a", model_a), ("b", model_b))}
    text = check_passage(text, task)
    sides = _live(ctx, specs, task, text)

    def as_json(side: Side) -> dict:
        if side.error or side.record is None:
            return {"model": side.model, "error": side.error}
        record = side.record
        return {
            "model": side.model,
            "relations": [{"label": r.label, "args": list(r.args)} for r in record.relations],
            "output": record.output,
            "seconds": record.seconds,
            "input_tokens": record.input_tokens,
            "output_tokens": record.output_tokens,
            "unreadable": record.unreadable,
            "note": side.note,  # e.g. cut short by the time limit
            "engine": side.engine,  # e.g. "ctranslate2 float32"
        }

    return {"task": task.name, "a": as_json(sides["a"]), "b": as_json(sides["b"])}


def build(gr, app, ctx: AppContext) -> None:
    """Lay out the tab inside the current gr.Blocks context."""
    first, second = ctx.models.default_pair
    passages = demo_passages()
    with gr.Row():
        task = gr.Dropdown(sorted(DATASETS), value="chemprot", label="Task (decides the instruction and the parser)")
        model_a = gr.Dropdown(ctx.model_names, value=first, label="Model A")
        model_b = gr.Dropdown(ctx.model_names, value=second, label="Model B")
    kind = gr.Radio([BENCHMARK, FREE_TEXT], value=BENCHMARK, label="Input")
    with gr.Group(visible=True) as benchmark_group:
        with gr.Row():
            split = gr.Dropdown(["test", "validation", "train"], value="test", label="Split")
            query = gr.Textbox(label="Search by id or words", placeholder="e.g. inhibitor")
            example = gr.Dropdown([], label="Example", allow_custom_value=True)
            pick = gr.Button("Random example")
    with gr.Group(visible=False) as text_group:
        demo = gr.Dropdown([p["title"] for p in passages.get("chemprot", [])], label="Demo passage")
        text = gr.Textbox(label="Passage", lines=6, max_lines=20)
    with gr.Row():
        run_button = gr.Button("Compare", variant="primary")
        live_button = gr.Button("Re-run live (ignore precomputed predictions)")
        protocol = protocol_view.radio(
            gr, info="how relations are marked; switches the example shown (free text: at the next Compare)"
        )
    answers = gr.State(None)  # this session's last benchmark answers: another protocol judges them again
    summary = gr.Markdown()
    scores = gr.Dataframe(label="Scores on this example", interactive=False)
    gold = gr.Dataframe(label="Gold relations", interactive=False)
    columns = []
    with gr.Row():
        for label in ("A", "B"):
            with gr.Column():
                caption = gr.Markdown(f"Model {label}")
                table = gr.Dataframe(label=f"Relations of model {label}", interactive=False, wrap=True)
                passage = gr.HTML()
                with gr.Accordion("Raw generation", open=False):
                    raw = gr.Textbox(show_label=False, lines=4, interactive=False)
                columns.append((caption, table, passage, raw))
    outputs = [summary, scores, gold] + [c for column in columns for c in column]

    def show(result: CompareResult | None):
        if result is None:  # nothing compared yet: nothing to judge again
            return [gr.skip()] * (len(outputs) + 1)
        sides = [result.a, result.b]
        # Free text has no gold: no empty gold and score tables then.
        values = [
            result.message,
            gr.update(value=result.scores, visible=result.judged and not result.scores.empty),
            gr.update(value=result.gold, visible=result.judged),
        ]
        for side in sides:
            values += [side.caption, side.relations, side.passage, side.raw] if side else ["", None, "", ""]
        return values + [kept_answers(result)]

    def on_compare(task_name, a, b, how, passage_text, part, example_id, chosen, live=False):
        return show(run_comparison(ctx, task_name, a, b, how, passage_text, part, example_id, live, chosen))

    inputs = [task, model_a, model_b, kind, text, split, example, protocol]
    generating = {"concurrency_id": GENERATION_GROUP, "concurrency_limit": 1, "api_visibility": "private"}
    run_button.click(on_compare, inputs, outputs + [answers], **generating)
    live_button.click(lambda *args: on_compare(*args, live=True), inputs, outputs + [answers], **generating)
    protocol.input(
        lambda kept, chosen: show(rejudge(kept, chosen)),
        [answers, protocol],
        outputs + [answers],
        api_visibility="private",
    )

    def examples_for(task_name, part, words):
        try:
            choices = find_examples(ctx, task_name, part, words)
        except BreError as exc:
            return gr.update(choices=[], value=None), f"⚠️ {view.markdown_text(exc)}"
        return gr.update(choices=choices, value=choices[0][1] if choices else None), (
            "" if choices else f"No {task_name} {part} example matches '{view.markdown_text(words)}'."
        )

    for trigger in (task.change, split.change, query.submit):
        trigger(examples_for, [task, split, query], [example, summary], api_visibility="private")
    app.load(examples_for, [task, split, query], [example, summary], api_visibility="private")
    pick.click(lambda t, p: random_example(ctx, t, p), [task, split], example, api_visibility="private")
    kind.change(
        lambda k: (gr.update(visible=k == BENCHMARK), gr.update(visible=k == FREE_TEXT)),
        kind,
        [benchmark_group, text_group],
        api_visibility="private",
    )
    task.change(
        lambda t: gr.update(choices=[p["title"] for p in passages.get(t, [])], value=None),
        task,
        demo,
        api_visibility="private",
    )
    demo.change(
        lambda t, title: next((p["text"] for p in passages.get(t, []) if p["title"] == title), ""),
        [task, demo],
        text,
        api_visibility="private",
    )
