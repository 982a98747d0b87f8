"""Records shared by every corpus, task and run: Entity, Relation, Document, ParsedRelation, ParseResult."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entity:
    """A concept in one document, with all its surface strings and their character spans.

    `names` are distinct and in order of first appearance; `spans` are (start, end), end exclusive,
    offsets into `Document.text`, one per mention (a mention without a usable span is left out).
    """

    id: str
    type: str
    names: tuple[str, ...]
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Relation:
    """A gold relation: a label and the ids of its 2..n argument entities (ordered; head first)."""

    label: str
    args: tuple[str, ...]

    def __post_init__(self):
        if len(self.args) < 2:
            raise ValueError(f"A relation needs at least two arguments, got {self.args!r}")


@dataclass(frozen=True)
class Document:
    """One unit of input (an abstract, a document or a sentence) with its gold annotations."""

    id: str
    dataset: str
    split: str
    text: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    def entity(self, entity_id: str) -> Entity:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(f"Document {self.id} has no entity '{entity_id}'")

    def entity_map(self) -> dict[str, Entity]:
        return {entity.id: entity for entity in self.entities}


@dataclass(frozen=True)
class ParsedRelation:
    """A relation read back from generated text: a class and the argument strings as generated."""

    label: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class ParseResult:
    """What a parser read from one generation.

    `unreadable` counts pieces that matched no pattern (they yield no relation); `unknown_labels`
    counts relations kept with a label word outside the task's classes (they score as false positives).
    """

    relations: tuple[ParsedRelation, ...] = ()
    unreadable: int = 0
    unknown_labels: int = 0
    pieces: int = field(default=0, compare=False)

    @property
    def failures(self) -> int:
        return self.unreadable + self.unknown_labels
