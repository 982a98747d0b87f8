"""What every task format shares: source from a template, target from gold, the parser skeleton, matching."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from bre_core.schema import Document, Entity, ParsedRelation, ParseResult, Relation
from bre_core.tasks.protocol import CORRECTED, Protocol, get_protocol

# A scoring key is a tuple whose first element is the class label; the rest identifies the relation
# under the dataset's matching rule. Two relations are the same for scoring iff their keys are equal.
Key = tuple
# One parsed relation -> {its prediction key: the gold keys it matches}. CDR under the corrected protocol
# gives one key per concept pair a string pair names; every other task gives one key.
Matcher = Callable[[ParsedRelation], dict[Key, frozenset]]

_SPACES = re.compile(r"\s+")


def normalize_space(text: str) -> str:
    """Collapse runs of whitespace and trim, so stray spaces in a generation do not change its meaning.

    >>> normalize_space("  aspirin \t and   cox-2 ")
    'aspirin and cox-2'
    """
    return _SPACES.sub(" ", text).strip()


def join_drugs(names: Iterable[str]) -> str:
    """'A and B' for two names, 'A, B, and C' for three or more (the study's list style).

    >>> join_drugs(["FOLFOX", "bevacizumab"])
    'FOLFOX and bevacizumab'
    >>> join_drugs(["A", "B", "C"])
    'A, B, and C'
    """
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


class Task:
    """A dataset's task format under one scoring protocol (and one style of training targets).

    Subclasses set the class attributes and implement the hooks below; `protocol` decides how generations
    are read and matched, `targets` how the training targets are written (by default the same protocol).
    """

    name: str
    classes: tuple[str, ...]
    template: str  # with one {text} field
    null_target: str
    max_text_chars: int  # the longest passage the app accepts for this task: a margin above its corpus's longest
    # Bumped whenever source, target or parser change, so runs record which format produced them.
    version: str = "1"
    # Whether the study's preparation of this corpus kept gold relations annotated twice (ChemProt's did not).
    study_keeps_duplicate_gold: bool = True
    n_ary: bool = False  # relations are sets of 2..n arguments (DCE), not ordered pairs
    keys_need_document: bool = False  # a relation's key follows from its text alone (not CDR's concepts)

    def __init__(self, protocol: str | Protocol = CORRECTED, targets: str | Protocol | None = None):
        self.protocol = get_protocol(protocol)
        self.targets = self.protocol if targets is None else get_protocol(targets)

    # --- source and target --------------------------------------------------------------------
    def display_label(self, label: str) -> str:
        """A class as the app shows it: the code, then the word the models write where the two differ.

        >>> from bre_core.tasks import get_task
        >>> get_task("chemprot").display_label("CPR:4"), get_task("ddi").display_label("MECHANISM")
        ('CPR:4 downregulation', 'MECHANISM')
        """
        word = getattr(self, "label_words", {}).get(label)
        return f"{label} {word}" if word and word.lower() != label.lower() else label

    def source_for_text(self, text: str) -> str:
        return self.template.format(text=text)

    def source(self, document: Document) -> str:
        return self.source_for_text(document.text)

    def target(self, document: Document) -> str:
        """Gold relations as sentences joined by '; ' and ending in '.', or the null sentence."""
        entities = document.entity_map()
        sentences = [self.sentence(r, entities) for r in self.counted_gold(document, self.targets)]
        if not self.targets.repeats_sentences:
            sentences = list(dict.fromkeys(sentences))
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

    def counted_gold(self, document: Document, protocol: Protocol | None = None) -> list[Relation]:
        """The gold relations as `protocol` counts them: every annotation, or one per distinct key."""
        protocol = protocol or self.protocol
        if protocol.counts_duplicate_gold and self.study_keeps_duplicate_gold:
            return list(document.relations)
        return self.distinct_relations(document)

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

    def relation_text(self, args: Iterable[str]) -> str:
        """A relation's arguments as one line: 'head → tail', or '{A, B, C}' for an n-ary set."""
        return "{" + ", ".join(args) + "}" if self.n_ary else " → ".join(args)

    # --- parsing -------------------------------------------------------------------------------
    def parse(self, text: object) -> ParseResult:
        """Relations read from a generation under the task's protocol. Never raises: bad pieces are counted."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        body = text.strip() if self.protocol.trims_output else text
        if body.endswith("."):
            body = body[:-1]
        null = self.null_target.rstrip(".").lower()
        relations: dict[ParsedRelation, None] = {}
        unreadable = unknown = pieces = 0
        for piece in body.split(";"):
            if not piece.strip() or normalize_space(piece).rstrip(".").lower() == null:
                continue
            pieces += 1
            parsed = self.parse_piece(normalize_space(piece) if self.protocol.collapses_spaces else piece)
            if parsed is None:
                unreadable += 1
                continue
            if parsed.label not in self.classes:
                unknown += 1
                if not self.protocol.unknown_labels_score:
                    continue  # the study drops it: its metric sums counts over the known classes only
            relations.setdefault(parsed, None)
        return ParseResult(relations=tuple(relations), unreadable=unreadable, unknown_labels=unknown, pieces=pieces)

    def parse_piece(self, piece: str) -> ParsedRelation | None:
        raise NotImplementedError

    def clean(self, name: str) -> str:
        """An argument string as the protocol compares it: as generated, or trimmed with spaces collapsed."""
        return normalize_space(name) if self.protocol.collapses_spaces else name

    def arguments(self, *names: str) -> tuple[str, ...] | None:
        """Cleaned argument strings, or None where one is empty and the protocol calls that unreadable."""
        cleaned = tuple(self.clean(name) for name in names)
        if not self.protocol.empty_arguments_score and not all(cleaned):
            return None
        return cleaned

    # --- matching ------------------------------------------------------------------------------
    def gold_key(self, relation: Relation, entities: dict[str, Entity]) -> Key:
        raise NotImplementedError

    def gold_keys(self, document: Document) -> set[Key]:
        """The distinct gold relations of a document under the dataset's matching rule."""
        entities = document.entity_map()
        return {self.gold_key(relation, entities) for relation in document.relations}

    def gold_counts(self, document: Document) -> Counter:
        """Each gold key with the number of times the protocol counts it (1, or the annotations of it)."""
        entities = document.entity_map()
        return Counter(self.gold_key(relation, entities) for relation in self.counted_gold(document))

    def matcher(self, document: Document, gold: Iterable[Key]) -> Matcher:
        """A function judging one parsed relation of `document` against its gold keys."""
        gold = frozenset(gold)

        def match(relation: ParsedRelation) -> dict[Key, frozenset]:
            key = self.prediction_key(relation)
            return {key: frozenset({key}) & gold}

        return match

    def prediction_keys(self, document: Document, relations: Iterable[ParsedRelation]) -> set[Key]:
        match = self.matcher(document, self.gold_keys(document))
        return {key for relation in relations for key in match(relation)}

    def prediction_key(self, relation: ParsedRelation) -> Key:
        raise NotImplementedError

    def text_key(self, relation: ParsedRelation) -> Key:
        """A relation's key judged without its document (runs written before records kept their keys)."""
        return self.prediction_key(relation)


class PairTask(Task):
    """Binary relations written as 'the relation between {head} and {tail} is {label word}' (ChemProt, DDI)."""

    label_words: dict[str, str]  # class -> the word written in the target
    aliases: dict[str, str] = {}  # extra words the parser maps to a class
    lowercase: bool = False  # the gold's argument strings are lower-cased (and written so in the target)
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
        head, tail, word = match.groups()
        args = self.arguments(head, tail)
        if args is None or not (self.protocol.label_words_exact or word.strip()):
            return None
        return ParsedRelation(label=self.label_for(word), args=args)

    def label_for(self, word: str) -> str:
        """The class a label word names, or the word itself (an unknown label)."""
        lookup = {w: c for c, w in self.label_words.items()} | self.aliases
        if self.protocol.label_words_exact:
            return lookup.get(word, word)
        word = normalize_space(word).rstrip(".").strip()
        return lookup.get(word.lower(), word)

    def _norm(self, name: str, prediction: bool) -> str:
        name = self.clean(name)
        fold = self.lowercase and (self.protocol.lowercases_predictions or not prediction)
        return name.lower() if fold else name

    def gold_key(self, relation, entities):
        head, tail = (self._norm(self.argument(entities[a]), prediction=False) for a in relation.args)
        return (relation.label, head, tail)

    def prediction_key(self, relation):
        return (relation.label, *(self._norm(a, prediction=True) for a in relation.args))
