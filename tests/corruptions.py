"""Outputs made from the gold targets, corrupted in one way each, to score beside the study's own code.

Each corruption rewrites the target that `data export` writes (the corrected protocol's: longest CDR names,
each sentence once) by a fixed rule, so the same files can be scored by `bre` and by the study's code.
"""

from __future__ import annotations

import re

from bre_core.schema import Document
from bre_core.tasks import Task

_BETWEEN = re.compile(r"(relation between )(.*)( and )(.*?)( is | exists)")


def sentences(task: Task, target: str) -> list[str]:
    return [] if target == task.null_target else target[:-1].split("; ")


def joined(task: Task, pieces: list[str], end: str = ".") -> str:
    return "; ".join(pieces) + end if pieces else task.null_target


def _label_words(task: Task) -> list[str]:
    return list(getattr(task, "label_words", {}).values())


def _swap_labels(task: Task, piece: str) -> str:
    words = _label_words(task)
    if not words:  # DCE: POS <-> COMB; CDR has no label
        if "positive drug" in piece:
            return piece.replace("a positive drug", "a drug")
        return piece.replace("in a drug", "in a positive drug")
    for i, word in enumerate(words):
        if piece.endswith(" is " + word):
            return piece[: -len(word)] + words[(i + 1) % len(words)]
    return piece


def _label(task: Task, piece: str, change) -> str:
    for word in _label_words(task):
        if piece.endswith(" is " + word):
            return piece[: -len(word)] + change(word)
    if " exists" in piece:
        return piece.replace(" exists", " " + change("exists"))
    return piece.replace("positive", change("positive"))


def _arguments(piece: str, change) -> str:
    """Apply change(head, tail) -> (head, tail) to a binary sentence, or to the drug list of a DCE one."""
    match = _BETWEEN.search(piece)
    if match:
        head, tail = change(match.group(2), match.group(4))
        return piece[: match.start(2)] + head + match.group(3) + tail + piece[match.end(4) :]
    drugs, rest = piece.split(" participate", 1)
    names = re.split(r", and |, | and ", drugs)
    first, last = change(names[0], names[-1])
    names = [first, *names[1:-1], last] if len(names) > 1 else [first]
    return _join_drugs(names) + " participate" + rest


def _join_drugs(names: list[str]) -> str:
    return " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + ", and " + names[-1]


def _spurious(task: Task) -> str:
    if task.name == "cdr":
        return "The relation between foo and bar exists"
    if task.name == "dce":
        return "foo and bar participate in a drug combination"
    return f"the relation between foo and bar is {_label_words(task)[0]}"


def _alternative_spellings(task: Task, document: Document, pieces: list[str]) -> list[str]:
    """Each relation also written with other surface strings: CDR every name pair, ChemProt the original
    case, DDI the label word 'advise', DCE the drug list joined by bare commas."""
    if task.name == "cdr":
        entities, out = document.entity_map(), []
        for relation in task.distinct_relations(document):
            chemical, disease = (entities[a].names[:3] for a in relation.args)
            out += [f"The relation between {c} and {d} exists" for c in chemical for d in disease]
        return out
    if task.name == "chemprot":
        entities = document.entity_map()
        written = [
            f"the relation between {entities[r.args[0]].names[0]} and {entities[r.args[1]].names[0]} is "
            f"{task.label_words[r.label]}"
            for r in task.distinct_relations(document)
        ]
        return pieces + written
    if task.name == "ddi":
        return [p[: -len("advice")] + "advise" if p.endswith(" is advice") else p for p in pieces]
    return [
        re.sub(r", and |, | and ", ",", p.split(" participate")[0]) + " participate" + p.split(" participate", 1)[1]
        for p in pieces
    ]


def _dce_empty_drugs(task: Task, pieces: list[str]) -> list[str]:
    return pieces + ["participate in a drug combination"] if task.name == "dce" else pieces


CORRUPTIONS = {
    "gold": lambda t, d, p: joined(t, p),
    "relations_dropped": lambda t, d, p: joined(t, p[::2]),
    "no_relations": lambda t, d, p: t.null_target,
    "empty": lambda t, d, p: "",
    "labels_swapped": lambda t, d, p: joined(t, [_swap_labels(t, x) for x in p]),
    "labels_capitalised": lambda t, d, p: joined(t, [_label(t, x, str.capitalize) for x in p]),
    "unknown_labels": lambda t, d, p: joined(
        t, [_label(t, x, lambda w: "inhibition") if i % 2 else x for i, x in enumerate(p)]
    ),
    "entity_case": lambda t, d, p: joined(t, [_arguments(x, lambda h, tl: (h.upper(), tl)) for x in p]),
    "head_tail_swapped": lambda t, d, p: joined(t, [_arguments(x, lambda h, tl: (tl, h)) for x in p]),
    "spurious": lambda t, d, p: joined(t, p + [_spurious(t)]),
    "garbage": lambda t, d, p: joined(t, p + ["lorem ipsum", "the relation between", " "]),
    "no_period": lambda t, d, p: joined(t, p, end=""),
    "trailing_space": lambda t, d, p: joined(t, p, end=". "),
    "trailing_newline": lambda t, d, p: joined(t, p, end=".\n"),
    "double_spaces": lambda t, d, p: joined(t, p).replace(" ", "  "),
    "alternative_spellings": lambda t, d, p: joined(t, _alternative_spellings(t, d, p)),
    "empty_drug_list": lambda t, d, p: joined(t, _dce_empty_drugs(t, p)),
}


def corrupted_outputs(task: Task, documents: list[Document], corruption: str) -> dict[str, str]:
    """{document id: output}: each document's target, corrupted by the named rule."""
    change = CORRUPTIONS[corruption]
    return {d.id: change(task, d, sentences(task, task.target(d))) for d in documents}
