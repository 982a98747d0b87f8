"""The error taxonomy: every false positive and false negative of a document in exactly one class.

Precedence, first class that holds wins (README: Error taxonomy):

false positives (one per distinct prediction key the protocol counts as wrong)
  1. boundary    - it matches a gold relation under relaxed matching (relaxed.py), not under the protocol;
  2. wrong_label - its arguments name a gold relation's entities, in order, and that relation has another class;
  3. reversed    - its arguments reversed name a gold relation's entities (a pair task; any class);
  4. hallucinated- one of its arguments is absent from the passage (grounding.py);
  5. spurious    - every argument is in the passage, and no gold relation is on this pair.
false negatives (one per gold annotation the protocol counts as missed)
  1. boundary    - a false positive matches it under relaxed matching;
  2. wrong_label - a false positive names its entities, in order, with another class;
  3. reversed    - a false positive names its entities reversed;
  4. missed      - no false positive is on its pair (a correct prediction explains no other gold relation).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bre_core.grounding import Passage
from bre_core.relaxed import DocumentMatcher
from bre_core.schema import ParsedRelation, Relation

BOUNDARY, WRONG_LABEL, REVERSED, HALLUCINATED, SPURIOUS, MISSED = (
    "boundary",
    "wrong_label",
    "reversed",
    "hallucinated",
    "spurious",
    "missed",
)
FP_CLASSES = (BOUNDARY, WRONG_LABEL, REVERSED, HALLUCINATED, SPURIOUS)
FN_CLASSES = (BOUNDARY, WRONG_LABEL, REVERSED, MISSED)
CLASSES = (BOUNDARY, WRONG_LABEL, REVERSED, HALLUCINATED, SPURIOUS, MISSED)
TITLES = {
    BOUNDARY: "boundary mismatch",
    WRONG_LABEL: "wrong label",
    REVERSED: "reversed arguments",
    HALLUCINATED: "hallucinated entity",
    SPURIOUS: "spurious pair",
    MISSED: "missed",
}


@dataclass(frozen=True)
class DocumentErrors:
    """One document's errors: a class per parsed relation ("" for a correct one) and per missed gold annotation.

    Relations sharing one wrong prediction key share its class; `fp` counts each such key once.
    """

    relation_classes: tuple[str, ...]
    missed_classes: tuple[str, ...]
    fp: tuple[str, ...]  # one class per distinct false-positive key

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "false_positives": class_counts(self.fp, FP_CLASSES),
            "false_negatives": class_counts(self.missed_classes, FN_CLASSES),
        }


def class_counts(classes: Iterable[str], names: Sequence[str] = CLASSES) -> dict[str, int]:
    counts = Counter(classes)
    return {name: counts[name] for name in names}


def _reversed(args: Sequence[str], n_ary: bool) -> tuple[str, ...] | None:
    return None if n_ary or len(args) != 2 else (args[1], args[0])


def _near(matcher: DocumentMatcher, relation: ParsedRelation, gold: Sequence[Relation]) -> str | None:
    """The nearest wrong class relating `relation` to a gold relation, or None when it relates to none."""
    if any(matcher.matches(relation, g) for g in gold):
        return BOUNDARY
    if any(g.label != relation.label and matcher.args_match(relation.args, g.args) for g in gold):
        return WRONG_LABEL
    flipped = _reversed(relation.args, matcher.task.n_ary)
    if flipped and any(matcher.args_match(flipped, g.args) for g in gold):
        return REVERSED
    return None


def classify_false_positive(matcher: DocumentMatcher, relation: ParsedRelation) -> str:
    near = _near(matcher, relation, matcher.gold())
    if near:
        return near
    if any(matcher.passage.ground(a).absent for a in relation.args):
        return HALLUCINATED
    return SPURIOUS


def classify_false_negative(matcher: DocumentMatcher, gold: Relation, relations: Sequence[ParsedRelation]) -> str:
    # Over all candidate predictions, the first class in precedence order wins.
    classes = {_near(matcher, relation, [gold]) for relation in relations}
    return next((name for name in (BOUNDARY, WRONG_LABEL, REVERSED) if name in classes), MISSED)


def classify_document(task, document, relations: Sequence[ParsedRelation], verdict, passage: Passage | None = None):
    """The errors of one document's parsed `relations` judged by `verdict` (scoring.judge under `task`'s protocol).

    A false negative is compared only with the false positives: a correct prediction explains no other gold
    relation, and a second annotation of a relation found once (counted twice by the study's protocol) is missed.
    """
    matcher = DocumentMatcher(task, document, passage)
    by_key: dict[tuple, str] = {}
    relation_classes = []
    for relation, keys, matched in zip(relations, verdict.keys, verdict.matched):
        if matched:
            relation_classes.append("")
            continue
        for key in keys:
            if key not in by_key:
                by_key[key] = classify_false_positive(matcher, relation)
        relation_classes.append(by_key[keys[0]] if keys else classify_false_positive(matcher, relation))
    counted = task.counted_gold(document)
    wrong = [relation for relation, matched in zip(relations, verdict.matched) if not matched]
    missed_classes = []
    for entry in verdict.missed:
        missed_classes.append(classify_false_negative(matcher, counted[entry["at"]], wrong))
    return DocumentErrors(tuple(relation_classes), tuple(missed_classes), tuple(by_key.values()))
