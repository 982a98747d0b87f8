"""CDR task format: chemical-induced disease pairs, matched by concept (corrected) or by string (the study)."""

from __future__ import annotations

import re

from bre_core.schema import Document, ParsedRelation
from bre_core.tasks.base import Task

LABEL = "CID"


class CDRTask(Task):
    name = "cdr"
    classes = (LABEL,)
    template = "Find all instances of relations between chemicals and diseases in the following passage:\n\n{text}\n\n"
    null_target = "No chemical-induced diseases are established."
    max_text_chars = 5_000  # its corpus's longest passage has 3,907 characters
    _pattern = re.compile(r"relation between (.*) and (.*?) exists")
    keys_need_document = True  # strings name MeSH concepts through the document's mentions

    def sentence(self, relation, entities):
        if self.targets.names_by_max:  # the study's code took max() of the strings: the alphabetically last
            chemical, disease = (max(entities[a].names, default=a) for a in relation.args)
        else:
            chemical, disease = (self.argument(entities[a]) for a in relation.args)
        return f"The relation between {chemical} and {disease} exists"

    def argument(self, entity) -> str:
        # The longest surface string; ties go to the first seen. A concept with no mention has no string.
        return max(entity.names, key=len) if entity.names else entity.id

    def parse_piece(self, piece):
        match = self._pattern.search(piece)
        if not match:
            return None
        args = self.arguments(*match.groups())
        return None if args is None else ParsedRelation(label=LABEL, args=args)

    def gold_key(self, relation, entities):
        return (LABEL, *relation.args)

    def text_key(self, relation: ParsedRelation):
        # Concepts need the document's mentions; without it a relation is known by its strings.
        return (relation.label, *("text:" + a for a in relation.args))

    def matcher(self, document: Document, gold):
        """Judge a predicted string pair against the gold concept pairs.

        It names a gold pair when its chemical string is a surface string of the pair's chemical and its
        disease string one of the pair's disease. Under the corrected protocol a prediction is keyed by the
        concept pairs it names (so two spellings of one pair count once), a wrong one by the concepts its
        strings name when they name any (else by text). Under the study's, each distinct string pair is
        judged on its own, so two spellings of one gold pair are two true positives.
        """
        index: dict[tuple[str, str], list[str]] = {}
        for entity in document.entities:
            for name in entity.names:
                index.setdefault((entity.type, self.clean(name)), []).append(entity.id)
        gold = frozenset(gold)
        pairs_in_gold = {key[1:] for key in gold}
        concepts = self.protocol.matches_concepts

        def match(relation: ParsedRelation):
            if len(relation.args) != 2:
                return {(relation.label, *("text:" + a for a in relation.args)): frozenset()}
            chemicals = index.get(("Chemical", relation.args[0]), [])
            diseases = index.get(("Disease", relation.args[1]), [])
            hits = [(c, d) for c in chemicals for d in diseases if (c, d) in pairs_in_gold]
            if not concepts:
                key = (relation.label, *("text:" + a for a in relation.args))
                return {key: frozenset((LABEL, *pair) for pair in hits)}
            if hits:
                return {(LABEL, *pair): frozenset({(LABEL, *pair)}) for pair in hits}
            chemical = chemicals[0] if chemicals else "text:" + relation.args[0]
            disease = diseases[0] if diseases else "text:" + relation.args[1]
            return {(relation.label, chemical, disease): frozenset()}

        return match
