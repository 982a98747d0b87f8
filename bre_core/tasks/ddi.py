"""DDI task format: drug-drug relations in four classes; case-sensitive strings, argument order matters."""

from bre_core.tasks.base import PairTask


class DDITask(PairTask):
    name = "ddi"
    classes = ("MECHANISM", "EFFECT", "ADVISE", "INT")
    template = "Find all instances of drug-drug relations in the following passage: \n {text} \n "
    null_target = "No drug-drug interactions are established."
    max_text_chars = 12_000  # its corpus's longest passage has 9,036 characters
    label_words = {"INT": "interaction", "MECHANISM": "mechanism", "EFFECT": "effect", "ADVISE": "advice"}
