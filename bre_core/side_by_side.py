"""Two models side by side on the same inputs: each one's answer (or its error) per input, paired."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bre_core.config import ModelSpec
from bre_core.errors import BreError, log_fault
from bre_core.runs import PredictionRecord, prediction_record
from bre_core.schema import Document
from bre_core.settings import CPU_BATCH
from bre_core.tasks import Task

log = logging.getLogger(__name__)


@dataclass
class Side:
    """One model's answer on one input: its record (output, relations, judgement when there is gold), or why not."""

    model: str
    record: PredictionRecord | None = None
    error: str | None = None  # why this model gave no answer (the other side is unaffected)
    note: str | None = None  # what limits the answer, e.g. generation cut short by the time limit
    engine: str | None = None  # what generated it, e.g. "ctranslate2 float32" (None: it never got that far)


@dataclass
class Comparison:
    """Both models' answers on one input (a benchmark document, or free text with no gold)."""

    id: str
    text: str
    a: Side
    b: Side
    gold: tuple[dict, ...] | None = field(default=None)


def answer(
    spec: ModelSpec,
    task: Task,
    inputs: Sequence[Document | str],
    *,
    cache,
    batch_size: int = CPU_BATCH,
    max_new_tokens: int | None = None,
    max_seconds: float | None = None,
    refuse_long: bool = False,
    gate: Callable[[object], contextlib.AbstractContextManager] | None = None,
) -> list[Side]:
    """One model's answers on `inputs` (documents are judged against their gold; free text is not).

    A model that cannot be loaded, runs out of memory or fails in any other way gives sides that carry the
    error instead of raising. `max_seconds` and `refuse_long` are generate()'s: the app's time bound and its
    refusal to cut a passage that is too long for the model. `gate(loaded)` is held while it generates
    (answer_both: one Python decoding loop at a time).
    """
    from bre_core.models import default_max_new_tokens, engine_label, generate

    documents = [item if isinstance(item, Document) else None for item in inputs]
    sources = [task.source(d) if d is not None else task.source_for_text(str(t)) for d, t in zip(documents, inputs)]
    budget = max_new_tokens or default_max_new_tokens(spec)
    engine = None
    try:
        loaded = cache.get(spec)
        engine = engine_label(loaded)
        with gate(loaded) if gate else contextlib.nullcontext():
            generations = generate(
                loaded, sources, budget, batch_size, max_seconds=max_seconds, refuse_long=refuse_long
            )
    except BreError as exc:
        return [Side(model=spec.name, error=str(exc), engine=engine) for _ in inputs]
    except Exception as exc:  # a fault in one model must not take the other side, or the server, down
        error = log_fault(log, spec.name, exc)
        return [Side(model=spec.name, error=error, engine=engine) for _ in inputs]
    sides = []
    for i, (document, generation) in enumerate(zip(documents, generations)):
        note = (
            f"stopped at the {max_seconds:g} s time limit: the output is cut short"
            if generation.stopped == "time"
            else None
        )
        record = prediction_record(task, document, generation, f"text-{i + 1}")
        sides.append(Side(spec.name, record, note=note, engine=engine))
    return sides


def decodes_alongside(loaded) -> bool:
    """Whether `loaded` may decode while the other side does (answer_both)."""
    return getattr(loaded, "releases_gil", False) or getattr(getattr(loaded, "device", None), "type", None) == "cpu"


def answer_both(specs: dict[str, ModelSpec], task: Task, inputs: Sequence[Document | str], **options) -> dict:
    """answer() for each slot's model ({"a": spec, "b": spec}), the models generating at the same time where that pays.

    Each side runs in its own thread. They decode at once where the engine releases the GIL (ctranslate2), and
    for hf on a CPU (two threads measured 0.67x and 0.79x the time of taking turns in two of three runs on this
    project's 2-core CPU, 1.36x in the third; two processes 2.3-5.3x: bench/RESULTS.md). hf models on a GPU take
    turns: there two Python decoding loops took 2.17x the sum (an H100), though one side may load while the other
    decodes. A side that fails or runs out of time affects only its own answers.
    """
    turns = threading.Lock()

    def gate(loaded):
        return contextlib.nullcontext() if decodes_alongside(loaded) else turns

    with ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="bre-side") as pool:
        futures = {slot: pool.submit(answer, spec, task, inputs, gate=gate, **options) for slot, spec in specs.items()}
        return {slot: future.result() for slot, future in futures.items()}


def compare(
    model_a: ModelSpec,
    model_b: ModelSpec,
    task: Task,
    inputs: Sequence[Document | str],
    *,
    cache,
    batch_size: int = CPU_BATCH,
    max_new_tokens: int | None = None,
    max_seconds: float | None = None,
) -> list[Comparison]:
    """Run both models over `inputs` and pair their parsed relations per input.

    The cache keeps both loaded; the models generate at the same time where the engine allows (answer_both).
    A model that cannot be loaded or fails sets `error` on its own side only.
    """
    documents = [item if isinstance(item, Document) else None for item in inputs]
    sides = answer_both(
        {"a": model_a, "b": model_b},
        task,
        inputs,
        cache=cache,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        max_seconds=max_seconds,
    )
    rows = []
    for i, (document, item) in enumerate(zip(documents, inputs)):
        gold = task.gold_for_display(document) if document is not None else None
        rows.append(
            Comparison(
                id=document.id if document else f"text-{i + 1}",
                text=document.text if document else str(item),
                a=sides["a"][i],
                b=sides["b"][i],
                gold=gold,
            )
        )
    return rows


__all__ = ["Comparison", "Side", "answer", "answer_both", "compare"]
