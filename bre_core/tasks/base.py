"""What every task format shares: source from a template, target from gold, the tolerant parser skeleton."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bre_core.schema import Document, Entity, ParsedRelation, ParseResult, Relation

# A scoring key is a tuple whose first element is the class label; the rest identifies the relation
# under the dataset's matching rule. Two relations are the same for scoring iff their keys are equal.
Key = tuple

_SPACES = re.compile(r"\s+")


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace and trim, so stray spaces in a generation do not change its meaning."""
    return _SPACES.sub(" ", text).strip()


def join_drugs(names: Iterable[str]) -> str:
    """'A and B' for two names, 'A, B, and C' for three or more (the study's list style)."""
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


class Task:
    """A dataset's task format. Subclasses set the class attributes and implement the hooks below."""

    name: str
    classes: tuple[str, ...]
    template: str  # with one {text} field
    null_target: str
    max_text_chars: int  # the longest passage the app accepts for this task: a margin above its corpus's longest
    # Bumped whenever source, target or parser change, so runs record which format produced them.
    version: str = "1"

    # --- source and target --------------------------------------------------------------------
    def source_for_text(self, text: str) -> str:
        return self.template.format(text=text)

    def source(self, document: Document) -> str:
        return self.source_for_text(document.text)

    def target(self, document: Document) -> str:
        """Gold relations as sentences joined by '; ' and ending in '.', or the null sentence."""
        entities = document.entity_map()
        sentences = dict.fromkeys(self.sentence(r, entities) for r in self.distinct_relations(document))
        if not sentences:
            return self.null_target
        return "; ".join(sentences) + "."

    def distinct_relations(self, document: Document) -> list[Relation]:
        """The first gold relation of each distinct scoring key: the relations as scored, in corpus order."""
        entities = document.entity_map()
        first: dict[Key, Relation] = {}
        for relation in document.relations:
            first.setdefault(self.gold_key(relation, entities), relation)
        return list(first.values())

    def gold_for_display(self, document: Document) -> tuple[dict, ...]:
        """The relations as scored, each as {"label", "args"} with the argument strings the target writes."""
        entities = document.entity_map()
        return tuple(
            {"label": r.label, "args": [self.argument(entities[a]) for a in r.args]}
            for r in self.distinct_relations(document)
        )

    def example(self, document: Document) -> dict:
        """The task's view of a document: id, text, source, target and the relations as scored (with names)."""
        entities = document.entity_map()
        relations = [
            {"label": r.label, "args": list(r.args), "names": [list(entities[a].names) for a in r.args]}
            for r in self.distinct_relations(document)
        ]
        return {
            "id": document.id,
            "text": document.text,
            "source": self.source(document),
            "target": self.target(document),
            "relations": relations,
        }

    def sentence(self, relation: Relation, entities: dict[str, Entity]) -> str:
        raise NotImplementedError

    def argument(self, entity: Entity) -> str:
        """How the target writes an entity: its first surface string."""
        return entity.names[0] if entity.names else entity.id

    # --- parsing -------------------------------------------------------------------------------
    def parse(self, text: object) -> ParseResult:
        """Relations read from a generation. Never raises: unreadable pieces are counted, not fatal."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        body = text.strip()
        if body.endswith("."):
            body = body[:-1]
        null = self.null_target.rstrip(".").lower()
        relations: dict[ParsedRelation, None] = {}
        unreadable = unknown = pieces = 0
        for piece in body.split(";"):
            piece = normalize_space(piece)
            if not piece or piece.rstrip(".").lower() == null:
                continue
            pieces += 1
            parsed = self.parse_piece(piece)
            if parsed is None:
                unreadable += 1
                continue
            if parsed.label not in self.classes:
                unknown += 1
            relations.setdefault(parsed, None)
        return ParseResult(relations=tuple(relations), unreadable=unreadable, unknown_labels=unknown, pieces=pieces)

    def parse_piece(self, piece: str) -> ParsedRelation | None:
        raise NotImplementedError

    # --- matching ------------------------------------------------------------------------------
    def gold_key(self, relation: Relation, entities: dict[str, Entity]) -> Key:
        raise NotImplementedError

    def gold_keys(self, document: Document) -> set[Key]:
        """The distinct gold relations of a document under the dataset's matching rule."""
        entities = document.entity_map()
        return {self.gold_key(relation, entities) for relation in document.relations}

    def prediction_keys(self, document: Document, relations: Iterable[ParsedRelation]) -> set[Key]:
        return {self.prediction_key(relation) for relation in relations}

    def prediction_key(self, relation: ParsedRelation) -> Key:
        raise NotImplementedError


class PairTask(Task):
    """Binary relations written as 'the relation between {head} and {tail} is {label word}' (ChemProt, DDI)."""

    label_words: dict[str, str]  # class -> the word written in the target
    aliases: dict[str, str] = {}  # extra words the parser maps to a class
    lowercase: bool = False  # compare (and write) argument strings lower-cased
    _pattern = re.compile(r"relation between (.*) and (.*) is (.*)")

    def argument(self, entity: Entity) -> str:
        name = super().argument(entity)
        return name.lower() if self.lowercase else name

    def sentence(self, relation, entities):
        head, tail = (self.argument(entities[a]) for a in relation.args)
        return f"the relation between {head} and {tail} is {self.label_words[relation.label]}"

    def parse_piece(self, piece):
        match = self._pattern.search(piece)
        if not match:
            return None
        head, tail, word = (normalize_space(group) for group in match.groups())
        if not head or not tail or not word:
            return None
        word = word.rstrip(".").strip()
        lookup = {w: c for c, w in self.label_words.items()} | self.aliases
        return ParsedRelation(label=lookup.get(word.lower(), word), args=(head, tail))

    def _norm(self, name: str) -> str:
        name = normalize_space(name)
        return name.lower() if self.lowercase else name

    def gold_key(self, relation, entities):
        head, tail = (self._norm(self.argument(entities[a])) for a in relation.args)
        return (relation.label, head, tail)

    def prediction_key(self, relation):
        return (relation.label, *(self._norm(a) for a in relation.args))
