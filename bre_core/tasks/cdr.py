"""CDR task format: chemical-induced disease pairs, scored at the concept (MeSH) level."""

from __future__ import annotations

import re

from bre_core.schema import Document, ParsedRelation
from bre_core.tasks.base import Task, normalize_space

LABEL = "CID"


class CDRTask(Task):
    name = "cdr"
    classes = (LABEL,)
    template = "Find all instances of relations between chemicals and diseases in the following passage:\n\n{text}\n\n"
    null_target = "No chemical-induced diseases are established."
    max_text_chars = 5_000  # its corpus's longest passage has 3,907 characters
    _pattern = re.compile(r"relation between (.*) and (.*?) exists")

    def sentence(self, relation, entities):
        chemical, disease = (self.argument(entities[a]) for a in relation.args)
        return f"The relation between {chemical} and {disease} exists"

    def argument(self, entity) -> str:
        # The study meant the longest surface string (its code took max() of the strings, i.e. the
        # alphabetically last); ties go to the first seen. A concept with no mention has no string.
        return max(entity.names, key=len) if entity.names else entity.id

    def parse_piece(self, piece):
        match = self._pattern.search(piece)
        if not match:
            return None
        chemical, disease = (normalize_space(group) for group in match.groups())
        if not chemical or not disease:
            return None
        return ParsedRelation(label=LABEL, args=(chemical, disease))

    def gold_key(self, relation, entities):
        return (LABEL, *relation.args)

    def prediction_keys(self, document: Document, relations):
        """Map each predicted string pair to concept pairs; two spellings of one gold pair count once.

        A prediction is correct when its chemical string is a name of a gold pair's chemical and its
        disease string a name of that pair's disease. A wrong prediction is keyed by the concepts its
        strings name when they name any (so spellings of one wrong pair also count once), else by text.
        """
        index: dict[tuple[str, str], list[str]] = {}
        for entity in document.entities:
            for name in entity.names:
                index.setdefault((entity.type, normalize_space(name)), []).append(entity.id)
        gold = {relation.args for relation in document.relations}
        keys = set()
        for relation in relations:
            if len(relation.args) != 2:
                keys.add((relation.label, *("text:" + a for a in relation.args)))
                continue
            chemicals = index.get(("Chemical", relation.args[0]), [])
            diseases = index.get(("Disease", relation.args[1]), [])
            pairs = [(c, d) for c in chemicals for d in diseases]
            hits = [pair for pair in pairs if pair in gold]
            if hits:
                keys.update((LABEL, *pair) for pair in hits)
            else:
                chemical = chemicals[0] if chemicals else "text:" + relation.args[0]
                disease = diseases[0] if diseases else "text:" + relation.args[1]
                keys.add((relation.label, chemical, disease))
        return keys
