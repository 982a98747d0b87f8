"""DDI task format: drug-drug relations in four classes; case-sensitive strings, argument order matters."""

from bre_core.tasks.base import PairTask


class DDITask(PairTask):
    name = "ddi"
    classes = ("MECHANISM", "EFFECT", "ADVISE", "INT")
    template = "Find all instances of drug-drug relations in the following passage: \n {text} \n "
    null_target = "No drug-drug interactions are established."
    label_words = {"INT": "interaction", "MECHANISM": "mechanism", "EFFECT": "effect", "ADVISE": "advice"}
