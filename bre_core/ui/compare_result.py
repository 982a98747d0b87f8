"""One comparison as the Compare tab shows it under a scoring protocol: the summary, the gold, each model's column."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from bre_core.schema import Document
from bre_core.side_by_side import Side
from bre_core.tasks import get_task
from bre_core.ui import compare_view as view
from bre_core.ui import grounding_view, protocol_view


@dataclass(frozen=True)
class Answers:
    """What a comparison produced, before it is judged: kept (per browser session) so that choosing another
    protocol shows the same answers judged again, without running the models again."""

    task: str
    document: Document | None  # a benchmark example; None for free text
    passage: str
    sides: dict[str, Side]
    provenance: dict[str, str]  # slot -> where its precomputed answer comes from
    cut: dict[str, int] = field(default_factory=dict)  # slot -> the token limit its model cut the passage at


@dataclass
class SideView:
    caption: str
    relations: pd.DataFrame
    passage: str
    raw: str
    grounding: str = ""  # HTML: entities by grounding level, relations by error class (grounding_view.panel)


@dataclass
class CompareResult:
    message: str  # the summary, or why nothing ran
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=view.SCORE_COLUMNS))
    gold: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=view.RELATION_COLUMNS))
    a: SideView | None = None
    b: SideView | None = None
    precomputed: bool = False
    judged: bool = False  # a benchmark example: there is gold to show and to score against
    answers: Answers | None = None


def present(answers: Answers, protocol: str) -> CompareResult:
    """The answers with each relation marked (correct / wrong / missed) as `protocol` judges it, and a note for
    each answer the two protocols count differently, naming the rules that make the difference."""
    task, document = get_task(answers.task, protocol), answers.document
    sides, provenance = dict(answers.sides), dict(answers.provenance)
    for slot, side in sides.items():
        record, kept = protocol_view.record_under(side.record, protocol)
        sides[slot] = replace(side, record=record)
        if kept:  # a run folder written before protocols holds one reading, the corrected one
            provenance[slot] = (
                f"{provenance.get(slot, 'this answer')}; read as {record.protocol}: written before protocols"
            )

    judged = document is not None
    summary = view.summarise(task, document, sides["a"], sides["b"])
    name_a, name_b = (view.markdown_text(sides[slot].model) for slot in ("a", "b"))
    message = (
        f"**Relations found by both: {summary.both}** · only {name_a}: {summary.only_a} · only {name_b}: "
        f"{summary.only_b}"
    )
    notes = []
    if judged:
        distinct, counted = len(task.distinct_relations(document)), len(task.counted_gold(document))
        message += f" · gold relations: {distinct}"
        message += f" (the {protocol} protocol counts {counted})" if counted != distinct else ""
        message += f" · judged under the **{protocol}** protocol"
        by_output: dict[str, list[str]] = {}  # two models that wrote the same get one note
        for side in (sides["a"], sides["b"]):
            if side.record is not None:
                by_output.setdefault(side.record.output, []).append(side.model)
        for output, models in by_output.items():
            who = " and ".join(dict.fromkeys(models))
            notes.append(protocol_view.disagreement_note(task.name, document, output, who))

    def side_view(slot: str) -> SideView:
        side = sides[slot]
        record = side.record
        return SideView(
            caption=view.side_caption(side, provenance.get(slot), answers.cut.get(slot))
            + (f" · {side.engine}" if side.engine else ""),
            relations=view.relations_table(task, record, judged, answers.passage),
            passage=view.highlight(answers.passage, view.passage_marks(record, judged)),
            raw=record.output if record else "",
            grounding=grounding_view.panel(task, answers.passage, record, document),
        )

    gold = task.gold_for_display(document) if judged else None
    return CompareResult(
        message="\n\n".join([message, *filter(None, notes)]),
        scores=summary.scores if summary.scores is not None else pd.DataFrame(columns=view.SCORE_COLUMNS),
        gold=view.gold_table(task, gold, answers.passage),
        a=side_view("a"),
        b=side_view("b"),
        precomputed=bool(answers.provenance),
        judged=judged,
        answers=answers,
    )
