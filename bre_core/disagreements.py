"""Why the two scoring protocols judge one output differently: the rules that change its counts."""

from __future__ import annotations

from bre_core.schema import Document
from bre_core.scoring import judge
from bre_core.tasks import CORRECTED, STUDY, get_task
from bre_core.tasks.protocol import SCORING_RULES, Rule


def counts(dataset: str, protocol, document: Document, output: str) -> tuple[int, int, int]:
    """(TP, FP, FN) of one output for one document under `protocol`."""
    task = get_task(dataset, protocol)
    verdict = judge(task, document, task.parse(output))
    return verdict.tp, verdict.fp, verdict.fn


def differing_rules(dataset: str, document: Document, output: str) -> tuple[Rule, ...]:
    """The scoring rules behind a difference: each changes the counts when switched alone to the other
    protocol's side, starting from either protocol (a stray ". " needs both the final-period and the
    label-word rule of the study to lose a relation, so neither alone moves the corrected counts).

    Empty when both protocols give the same counts.
    """
    study, corrected = counts(dataset, STUDY, document, output), counts(dataset, CORRECTED, document, output)
    if study == corrected:
        return ()

    def matters(rule: Rule) -> bool:
        to_study = CORRECTED.with_rule(rule.field, getattr(STUDY, rule.field))
        to_corrected = STUDY.with_rule(rule.field, getattr(CORRECTED, rule.field))
        return (
            counts(dataset, to_study, document, output) != corrected
            or counts(dataset, to_corrected, document, output) != study
        )

    return tuple(rule for rule in SCORING_RULES if matters(rule))
