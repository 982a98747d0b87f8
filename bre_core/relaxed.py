"""Relaxed matching: an extra micro P/R/F1 beside the protocols, forgiving near-miss spellings and spans."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bre_core.grounding import Passage, normal_form
from bre_core.schema import Document, Entity, ParsedRelation, Relation
from bre_core.tasks import Task


def _forms(name: str) -> frozenset[str]:
    return frozenset(filter(None, (normal_form(name)[0], normal_form(name, drop_parenthesised=True)[0])))


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _on_word_boundaries(text: str, span: tuple[int, int]) -> bool:
    # An occurrence inside a longer word ("2" in "COX-2") must not claim that word's entity.
    start, end = span
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


class DocumentMatcher:
    """One document's relaxed rules: does a generated string name a gold entity, does a relation match a gold one.

    A string names an entity when it equals one of the entity's surface strings after normalisation (any of
    them: for CDR, any string of the concept), or when it occurs in the passage (at any grounding level, on
    word boundaries) overlapping one of the entity's mentions.
    """

    def __init__(self, task: Task, document: Document, passage: Passage | None = None):
        self.task = task
        self.document = document
        self.passage = passage or Passage(document.text)
        self.entities = document.entity_map()
        self.names_entity = functools.lru_cache(maxsize=None)(self._names_entity)

    def _names_entity(self, name: str, entity_id: str) -> bool:
        entity: Entity | None = self.entities.get(entity_id)
        if entity is None:
            return False
        if _forms(name) & frozenset().union(*(_forms(n) for n in entity.names)):
            return True
        occurrences = [s for s in self.passage.ground(name).spans if _on_word_boundaries(self.passage.text, s)]
        return any(_overlaps(s, mention) for s in occurrences for mention in entity.spans)

    def args_match(self, args: Sequence[str], gold: Sequence[str]) -> bool:
        """Whether generated arguments name the gold entity ids: in order for pairs, as a set for DCE."""
        if len(args) != len(gold):
            return False
        if not self.task.n_ary:
            return all(self.names_entity(a, g) for a, g in zip(args, gold))
        return all(any(self.names_entity(a, g) for g in gold) for a in args) and all(
            any(self.names_entity(a, g) for a in args) for g in gold
        )

    def matches(self, relation: ParsedRelation, gold: Relation) -> bool:
        """Same class and the arguments name the gold relation's entities."""
        return relation.label == gold.label and self.args_match(relation.args, gold.args)

    def gold(self) -> list[Relation]:
        """The gold relations relaxed matching counts: each distinct relation once."""
        return self.task.distinct_relations(self.document)


def distinct_predictions(task: Task, relations: Iterable[ParsedRelation]) -> list[ParsedRelation]:
    """One relation per (class, normalised arguments): "Aspirin" and "aspirin" are one prediction."""
    seen: dict[tuple, ParsedRelation] = {}
    for relation in relations:
        forms = tuple(normal_form(a)[0] for a in relation.args)
        seen.setdefault((relation.label, frozenset(forms) if task.n_ary else forms), relation)
    return list(seen.values())


@dataclass(frozen=True)
class RelaxedCounts:
    """One document's (or a run's) relaxed counts: predictions matching a gold relation, gold relations found."""

    predicted: int = 0
    correct: int = 0  # predictions that match some gold relation
    gold: int = 0
    found: int = 0  # gold relations some prediction matches

    def __add__(self, other: RelaxedCounts) -> RelaxedCounts:
        return RelaxedCounts(*(x + y for x, y in zip(self.as_tuple(), other.as_tuple())))

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.predicted, self.correct, self.gold, self.found)

    def to_dict(self) -> dict:
        precision = self.correct / self.predicted if self.predicted else 0.0
        recall = self.found / self.gold if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "tp": self.correct,
            "fp": self.predicted - self.correct,
            "fn": self.gold - self.found,
            "predicted": self.predicted,
            "gold": self.gold,
            "gold_found": self.found,
        }


def relaxed_counts(matcher: DocumentMatcher, relations: Iterable[ParsedRelation]) -> RelaxedCounts:
    """Relaxed counts of one document's parsed relations.

    Precision counts the distinct predictions that match a gold relation; recall the gold relations that some
    prediction matches (two spellings of one gold relation are two correct predictions and one gold found).
    """
    predictions = distinct_predictions(matcher.task, relations)
    gold = matcher.gold()
    hits = [[matcher.matches(p, g) for g in gold] for p in predictions]
    return RelaxedCounts(
        predicted=len(predictions),
        correct=sum(any(row) for row in hits),
        gold=len(gold),
        found=sum(any(row[j] for row in hits) for j in range(len(gold))),
    )
