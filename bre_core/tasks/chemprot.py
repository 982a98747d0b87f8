"""ChemProt task format: chemical (head) - protein (tail) relations in five CPR groups, strings lower-cased."""

from bre_core.tasks.base import PairTask


class ChemProtTask(PairTask):
    name = "chemprot"
    classes = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")
    template = "Find all instances of relations between chemicals and proteins in the following passage:\n\n{text}\n\n"
    null_target = "No drug-gene relationships are established."
    max_text_chars = 8_000  # its corpus's longest passage has 6,235 characters
    label_words = {
        "CPR:3": "upregulation",
        "CPR:4": "downregulation",
        "CPR:5": "agonist",
        "CPR:6": "antagonist",
        "CPR:9": "substrate and/or product",
    }
    aliases = {"substrate": "CPR:9", "product": "CPR:9"}
    # The study lower-cases mention strings, matches head, tail and class exactly, and de-duplicates the
    # gold of each abstract on (head, tail, class) when it prepares the corpus.
    lowercase = True
    study_keeps_duplicate_gold = False
