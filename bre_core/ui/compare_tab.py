"""Compare tab: two models on one passage (free text or a benchmark example), against the gold when there is one."""

# No postponed annotations: Gradio fills in a parameter annotated gr.Request only when it sees the class.

import logging

from bre_core.config import ModelSpec
from bre_core.datasets import DATASETS, SPLITS
from bre_core.errors import BreError, InputError, log_fault
from bre_core.runs import PredictionRecord, Run
from bre_core.settings import SEQ2SEQ_MAX_TOKENS
from bre_core.side_by_side import Side, answer_both
from bre_core.tasks import HEADLINE, get_task
from bre_core.ui import compare_view as view
from bre_core.ui import protocol_view, variant_picker
from bre_core.ui.compare_examples import choices_with, example_preview, find_document, find_examples, random_example
from bre_core.ui.compare_result import Answers, CompareResult, present
from bre_core.ui.context import GENERATION_GROUP, AppContext, demo_passages
from bre_core.ui.deep_links import parse_view, query_of
from bre_core.ui.first_use import bare_state
from bre_core.user_input import check_choice, check_passage

log = logging.getLogger(__name__)

BENCHMARK, FREE_TEXT = "Benchmark example", "Free text"


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
        ctx.documents(task_name, split)  # a missing corpus says how to get it, before any word about the example
        if not isinstance(example_id, str) or not example_id.strip():
            raise InputError("Pick an example first (search, or a random example).")
        document = find_document(ctx, task_name, split, example_id.strip()[:200])
        item = document
    else:
        item = check_passage(text, task)

    sides, provenance, to_run = {}, {}, {}
    for slot, name in (("a", model_a), ("b", model_b)):
        try:  # a variant id the server knows (a models-file name is a model as published); never a path
            variant = ctx.variant(name)
            found = ctx.precomputed(variant.id, task_name, split, document.id) if document and not live else None
            if found:
                record, run = found
                sides[slot], provenance[slot] = Side(variant.id, record), _provenance(run)
            else:
                to_run[slot] = ctx.spec(variant.id)
        except BreError as exc:
            sides[slot] = Side(model=str(name)[:80], error=str(exc))
    if to_run:
        sides.update(_live(ctx, to_run, task, item))
    # A predictions-only variant has no checkpoint here: its base model's entry tells its source limit.
    specs = {
        slot: ctx.variant(name).spec or ctx.models.get(ctx.variant(name).model)
        for slot, name in (("a", model_a), ("b", model_b))
        if sides[slot].record
    }
    cut = {
        slot: limit for slot, spec in specs.items() if (limit := _cut_at(ctx, spec, sides[slot].record, slot in to_run))
    }
    return Answers(task.name, document, document.text if document else item, sides, provenance, cut)


def _cut_at(ctx: AppContext, spec: ModelSpec, record: PredictionRecord, live: bool) -> int | None:
    """The token limit the model cut this passage at, or None when it read all of it (or that cannot be told).

    A source as long as the limit reads as cut (the record keeps the tokens read, not the tokens there were).
    Decoder-only limits depend on the loaded model's context, known only for answers generated here.
    """
    if spec.architecture == "seq2seq":
        limit = SEQ2SEQ_MAX_TOKENS
    elif live:
        from bre_core.models.generation import source_token_limit

        limit = source_token_limit(ctx.cache.get(spec), ctx.max_new_tokens)
    else:
        return None
    return limit if record.input_tokens >= limit else None


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


def build(gr, app, ctx: AppContext) -> dict:
    """Lay out the tab inside the current gr.Blocks context; returns the controls a link to it names."""
    titles = demo_titles("chemprot")
    with gr.Row():
        task = gr.Dropdown(sorted(DATASETS), value="chemprot", label="Task (decides the instruction and the parser)")
        pickers = variant_picker.build(gr, ctx, "chemprot")
    model_a, model_b = pickers.variants  # what a comparison reads: variant ids, mapped back by the server
    setup = gr.Markdown()  # what a bare installation lacks, and the command for each
    kind = gr.Radio([BENCHMARK, FREE_TEXT], value=BENCHMARK, label="Input")
    with gr.Group(visible=True) as benchmark_group:
        with gr.Row():
            split = gr.Dropdown(["test", "validation", "train"], value="test", label="Split")
            query = gr.Textbox(label="Search by id or words", placeholder="e.g. inhibitor")
            example = gr.Dropdown([], label="Example", allow_custom_value=True)
            pick = gr.Button("Random example")
        with gr.Accordion("The example's passage, gold entities highlighted", open=True):
            preview = gr.HTML()
    with gr.Group(visible=False) as text_group:
        # The first demo passage is chosen and in the box: a first Compare of free text runs it.
        demo = gr.Dropdown(titles, value=titles[0] if titles else None, label="Demo passage")
        text = gr.Textbox(value=demo_text("chemprot", titles[0] if titles else None), label="Passage", lines=6)
    with gr.Row():
        run_button = gr.Button("Compare", variant="primary")
        live_button = gr.Button("Re-run live (ignore precomputed predictions)")
        protocol = protocol_view.radio(
            gr, info="how relations are marked; switches the example shown (free text: at the next Compare)"
        )
    answers = gr.State(None)  # this session's last benchmark answers: another protocol judges them again
    summary = gr.Markdown()
    # Tables have their headers from the start and stay hidden until there is something to show.
    scores = gr.Dataframe(
        value=CompareResult("").scores, label="Scores on this example", interactive=False, visible=False
    )
    gold = gr.Dataframe(
        value=view.gold_table(get_task("chemprot"), ()), label="Gold relations", interactive=False, visible=False
    )
    legend = gr.HTML(view.legend_html(), visible=False)
    columns = []
    with gr.Row():
        for label in ("A", "B"):
            with gr.Column():
                caption = gr.Markdown(f"Model {label}")
                table = gr.Dataframe(
                    value=view.relations_table(get_task("chemprot"), None, False),
                    label=f"Relations of model {label}",
                    interactive=False,
                    wrap=True,
                    visible=False,
                )
                passage = gr.HTML()
                grounding = gr.HTML()  # entities by grounding level, relations by error class
                with gr.Accordion("Raw generation", open=False):
                    raw = gr.Textbox(show_label=False, lines=4, interactive=False)
                columns.append((caption, table, passage, raw, grounding))
    outputs = [summary, scores, gold, legend] + [c for column in columns for c in column]

    def show(result: CompareResult | None):
        if result is None:  # nothing compared yet: nothing to judge again
            return [gr.skip()] * (len(outputs) + 1)
        sides = [result.a, result.b]
        # Free text has no gold: no empty gold and score tables then.
        values = [
            result.message,
            gr.update(value=result.scores, visible=result.judged and not result.scores.empty),
            gr.update(value=result.gold, visible=result.judged),
            gr.update(visible=any(sides)),
        ]
        for side in sides:
            if side:
                values += [
                    side.caption,
                    gr.update(value=side.relations, visible=True),
                    side.passage,
                    side.raw,
                    side.grounding,
                ]
            else:
                values += [gr.skip(), gr.update(visible=False), "", "", ""]
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

    def examples_for(task_name, part, words, a, b, linked_id=""):
        """The picker's choices (a linked example first), the summary line and the bare-state note."""
        setup_note, note = bare_state(ctx, task_name, (a, b)), ""
        try:
            choices = find_examples(ctx, task_name, part, words)
            if linked_id:
                try:
                    choices = choices_with(ctx, task_name, part, linked_id)
                except BreError:
                    note = f"⚠️ The link's example '{view.markdown_text(linked_id)}' is not in {task_name} {part}."
        except BreError as exc:  # no corpus: its message says how to get it
            return gr.update(choices=[], value=None), f"⚠️ {view.markdown_text(exc)}", setup_note
        if not choices:
            note = f"No {task_name} {part} example matches '{view.markdown_text(words)}'."
        return gr.update(choices=choices, value=choices[0][1] if choices else None), note, setup_note

    def new_task(task_name, part, words, a, b):
        titles = demo_titles(task_name)
        title = titles[0] if titles else None
        return (
            *examples_for(task_name, part, words, a, b),
            gr.update(choices=titles, value=title),
            demo_text(task_name, title),
        )

    variant_picker.wire(gr, ctx, task, pickers)
    picked = [example, summary, setup]
    task.input(new_task, [task, split, query, model_a, model_b], picked + [demo, text], api_visibility="private")
    for trigger in (split.input, query.submit):
        trigger(examples_for, [task, split, query, model_a, model_b], picked, api_visibility="private")

    def opened(words, request: gr.Request):
        """The tab as a link opens it (deep_links), else its defaults; the link's values are checked first."""
        link = parse_view(query_of(request), models=ctx.variant_ids())
        if not link.wants("compare"):
            pair = ctx.default_pair("chemprot")
            picked_now = examples_for("chemprot", "test", words, pair.a, pair.b)
            return (*[gr.skip()] * 8, *picked_now, gr.skip(), gr.skip())
        columns, note = variant_picker.column_state(ctx, link.task)
        chosen = [link.a or columns[0][1], link.b or columns[1][1]]
        models = [ctx.variant(variant_id).model for variant_id in chosen]
        titles = demo_titles(link.task)
        title = titles[0] if titles else None
        return (
            link.task,
            link.split,
            BENCHMARK,
            *(
                update
                for model, variant_id in zip(models, chosen)
                for update in (
                    gr.update(value=model),
                    gr.update(choices=variant_picker.variant_choices(ctx, model, link.task), value=variant_id),
                )
            ),
            note,
            *examples_for(link.task, link.split, "", *chosen, link.id),
            gr.update(choices=titles, value=title),
            demo_text(link.task, title),
        )

    columns_out = [pickers.models[0], model_a, pickers.models[1], model_b, pickers.note]
    app.load(opened, [query], [task, split, kind, *columns_out, *picked, demo, text], api_visibility="private")

    def random_pick(task_name, part):
        document_id = random_example(ctx, task_name, part)[1]
        return gr.update(choices=choices_with(ctx, task_name, part, document_id), value=document_id)

    pick.click(random_pick, [task, split], example, api_visibility="private")
    example.change(
        lambda t, p, chosen: example_preview(ctx, t, p, chosen),
        [task, split, example],
        preview,
        api_visibility="private",
    )
    kind.change(
        lambda k: (gr.update(visible=k == BENCHMARK), gr.update(visible=k == FREE_TEXT)),
        kind,
        [benchmark_group, text_group],
        api_visibility="private",
    )
    demo.input(lambda t, title: demo_text(t, title), [task, demo], text, api_visibility="private")
    return {"task": task, "split": split, "id": example, "a": model_a, "b": model_b, "kind": kind}


def demo_titles(task_name: str) -> list[str]:
    return [p["title"] for p in demo_passages().get(task_name, [])]


def demo_text(task_name: str, title: str | None) -> str:
    return next((p["text"] for p in demo_passages().get(task_name, []) if p["title"] == title), "")
