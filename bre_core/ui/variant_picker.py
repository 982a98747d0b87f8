"""The Compare tab's model and variant pickers: per column a model, then 'as published' or one of its finetunings."""

from __future__ import annotations

from dataclasses import dataclass

from bre_core.runs.variants import best_variant, model_caption
from bre_core.ui import compare_view as view
from bre_core.ui.context import AppContext


@dataclass(frozen=True)
class Pickers:
    """The components: `variants` are what a comparison reads (variant ids), `models` only narrow them down."""

    models: tuple
    variants: tuple
    note: object


def model_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(label, name) of every base model of the models file: 'scifive-base · biomedical'."""
    return [(model_caption(spec), spec.name) for spec in ctx.models.models if spec.finetuned is None]


def variant_choices(ctx: AppContext, model: str, dataset: str) -> list[tuple[str, str]]:
    """(label, id) of `model` as published, then finetuned on `dataset` (each setting and seed)."""
    return [
        (variant.label, variant.id)
        for variant in ctx.variants()
        if variant.model == model and (not variant.finetuned or variant.dataset == dataset)
    ]


def first_variant(ctx: AppContext, model: str, dataset: str) -> str:
    """What picking a model selects: its best finetuned variant on `dataset` that can run, else as published."""
    runnable = [
        v for v in ctx.variants() if v.model == model and v.dataset == dataset and v.finetuned and v.spec is not None
    ]
    best = best_variant(runnable)
    return best.id if best else model


def column_state(ctx: AppContext, dataset: str) -> tuple[list, str]:
    """For each column (model, variant) as (value, choices) pairs, and the note under the pickers."""
    pair = ctx.default_pair(dataset)
    columns = []
    for variant_id in (pair.a, pair.b):
        model = ctx.variant(variant_id).model
        columns.append((model, variant_id, variant_choices(ctx, model, dataset)))
    note = f"ℹ️ {view.markdown_text(pair.note)}" if pair.note else ""
    if pair.commands:  # the commands as code: a code span shows its text as is (backticks removed from names)
        head = view.markdown_text(pair.note.split("Train them with:")[0])
        code = " and ".join(f"`{command.replace('`', '')}`" for command in pair.commands)
        note = f"ℹ️ {head}Train them with {code}."
    return columns, note


def build(gr, ctx: AppContext, dataset: str) -> Pickers:
    """Model A, variant A, model B, variant B (for the task `dataset` at first), and the default pair's note."""
    columns, note = column_state(ctx, dataset)
    models, variants = [], []
    for label, (model, variant_id, choices) in zip(("A", "B"), columns):
        with gr.Column(min_width=240):
            models.append(gr.Dropdown(model_choices(ctx), value=model, label=f"Model {label}"))
            variants.append(
                gr.Dropdown(
                    choices, value=variant_id, label=f"Checkpoint of model {label}", elem_id=f"variant-{label.lower()}"
                )
            )
    return Pickers(tuple(models), tuple(variants), gr.Markdown(note))


def wire(gr, ctx: AppContext, task, pickers: Pickers) -> None:
    """A new task opens on its default pair; picking a model lists its variants (for the task) and selects one."""

    def on_task(dataset):
        columns, note = column_state(ctx, dataset)
        values = []
        for model, variant_id, choices in columns:
            values += [gr.update(value=model), gr.update(choices=choices, value=variant_id)]
        return values + [note]

    outputs = [pickers.models[0], pickers.variants[0], pickers.models[1], pickers.variants[1], pickers.note]
    # .input, not .change: a link (compare_tab's page load) sets the task and its own pair together.
    task.input(on_task, task, outputs, api_visibility="private")
    for model, variant in zip(pickers.models, pickers.variants):
        # .input, not .change: a model set by the task's default pair keeps the variant chosen with it.
        model.input(
            lambda name, dataset: gr.update(
                choices=variant_choices(ctx, name, dataset), value=first_variant(ctx, name, dataset)
            ),
            [model, task],
            variant,
            api_visibility="private",
        )
