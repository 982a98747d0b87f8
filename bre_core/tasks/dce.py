"""DCE task format: n-ary drug combinations, POS (positive effect) or COMB; scored on the set of drug strings."""

from __future__ import annotations

import re

from bre_core.schema import ParsedRelation
from bre_core.tasks.base import Task, join_drugs, normalize_space

_LIST_SEPARATORS = re.compile(r",\s*and\s+|,\s*|\s+and\s+")


class DCETask(Task):
    name = "dce"
    classes = ("POS", "COMB")
    template = (
        "Find all instances of drugs used in combination and whether this combination had a positive "
        "impact on health in the following sentence:\n\n\n\n{text}\n\n"
    )
    null_target = "No drug combinations are established."
    max_text_chars = 1_000  # its corpus's longest passage has 584 characters

    def sentence(self, relation, entities):
        drugs = join_drugs(self.argument(entities[a]) for a in relation.args)
        kind = "a positive drug combination" if relation.label == "POS" else "a drug combination"
        return f"{drugs} participate in {kind}"

    def parse_piece(self, piece):
        if "participate" not in piece:
            return None
        drug_list = piece.split("participate", 1)[0]
        drugs = tuple(d for d in (normalize_space(x) for x in _LIST_SEPARATORS.split(drug_list)) if d)
        if not drugs:
            return None
        return ParsedRelation(label="POS" if "positive" in piece else "COMB", args=drugs)

    def gold_key(self, relation, entities):
        return (relation.label, frozenset(normalize_space(entities[a].names[0]) for a in relation.args))

    def prediction_key(self, relation):
        return (relation.label, frozenset(relation.args))
