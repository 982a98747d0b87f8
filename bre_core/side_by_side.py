"""Two models side by side on the same inputs: each one's answer (or its error) per input, paired."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
) -> list[Side]:
    """One model's answers on `inputs` (documents are judged against their gold; free text is not).

    A model that cannot be loaded, runs out of memory or fails in any other way gives sides that carry the
    error instead of raising. `max_seconds` and `refuse_long` are generate()'s: the app's time bound and its
    refusal to cut a passage that is too long for the model.
    """
    from bre_core.models import default_max_new_tokens, generate

    documents = [item if isinstance(item, Document) else None for item in inputs]
    sources = [task.source(d) if d is not None else task.source_for_text(str(t)) for d, t in zip(documents, inputs)]
    budget = max_new_tokens or default_max_new_tokens(spec)
    try:
        generations = generate(
            cache.get(spec), sources, budget, batch_size, max_seconds=max_seconds, refuse_long=refuse_long
        )
    except BreError as exc:
        return [Side(model=spec.name, error=str(exc)) for _ in inputs]
    except Exception as exc:  # a fault in one model must not take the other side, or the server, down
        error = log_fault(log, spec.name, exc)
        return [Side(model=spec.name, error=error) for _ in inputs]
    sides = []
    for i, (document, generation) in enumerate(zip(documents, generations)):
        note = (
            f"stopped at the {max_seconds:g} s time limit: the output is cut short"
            if generation.stopped == "time"
            else None
        )
        sides.append(Side(spec.name, prediction_record(task, document, generation, f"text-{i + 1}"), note=note))
    return sides


def compare(
    model_a: ModelSpec,
    model_b: ModelSpec,
    task: Task,
    inputs: Sequence[Document | str],
    *,
    cache,
    batch_size: int = CPU_BATCH,
    max_new_tokens: int | None = None,
) -> list[Comparison]:
    """Run both models over `inputs` and pair their parsed relations per input.

    The cache keeps both loaded. The models run one after the other: two threads were measured slower than the
    sum of the two alone on an H100 (2.2x, their Python decoding loops contend for the GIL; bench/RESULTS.md).
    A model that cannot be loaded or fails sets `error` on its own side only.
    """
    documents = [item if isinstance(item, Document) else None for item in inputs]
    sides = {
        slot: answer(spec, task, inputs, cache=cache, batch_size=batch_size, max_new_tokens=max_new_tokens)
        for slot, spec in (("a", model_a), ("b", model_b))
    }
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


__all__ = ["Comparison", "Side", "answer", "compare"]
