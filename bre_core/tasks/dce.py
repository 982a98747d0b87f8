"""DCE task format: n-ary drug combinations, POS (positive effect) or COMB; scored on the set of drug strings."""

from __future__ import annotations

import re

from bre_core.schema import ParsedRelation
from bre_core.tasks.base import Task, join_drugs

_LIST_SEPARATORS = re.compile(r",\s*and\s+|,\s*|\s+and\s+")
_STUDY_SEPARATORS = re.compile(r", and |, | and ")  # the study's, spaces exactly as written


class DCETask(Task):
    name = "dce"
    classes = ("POS", "COMB")
    template = (
        "Find all instances of drugs used in combination and whether this combination had a positive "
        "impact on health in the following sentence:\n\n\n\n{text}\n\n"
    )
    null_target = "No drug combinations are established."
    max_text_chars = 1_000  # its corpus's longest passage has 584 characters
    n_ary = True

    def sentence(self, relation, entities):
        drugs = join_drugs(self.argument(entities[a]) for a in relation.args)
        if relation.label == "POS":
            return f"{drugs} participate in a positive drug combination"
        space = "  " if self.targets.comb_double_space else " "
        return f"{drugs} participate in a{space}drug combination"

    def parse_piece(self, piece):
        if self.protocol.one_keyword:
            parts = piece.split("participate")
            if len(parts) != 2:
                return None
            drug_list, label_text = parts
        else:
            if "participate" not in piece:
                return None
            drug_list, label_text = piece.split("participate", 1)[0], piece
        separators = _LIST_SEPARATORS if self.protocol.collapses_spaces else _STUDY_SEPARATORS
        names = [self.clean(name.strip()) for name in separators.split(drug_list)]
        if self.protocol.closes_spaced_hyphens:
            names = [name.replace(" - ", "-") for name in names]
        if not self.protocol.empty_arguments_score:
            names = [name for name in names if name]
            if not names:
                return None
        return ParsedRelation(label="POS" if "positive" in label_text else "COMB", args=tuple(names))

    def gold_key(self, relation, entities):
        return (relation.label, frozenset(self.clean(entities[a].names[0]) for a in relation.args))

    def prediction_key(self, relation):
        return (relation.label, frozenset(relation.args))
