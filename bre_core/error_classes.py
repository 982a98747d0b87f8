"""The error taxonomy and grounding as the app reads them: per relation of one answer, per case of two runs, per run."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from bre_core.error_cases import BOTH_RIGHT, BOTH_WRONG, ONLY_A, ONLY_B, SPURIOUS_A, SPURIOUS_B, key_text
from bre_core.grounding import ABSENT, Grounding, Passage, ground_names
from bre_core.runs.analysis import run_analyses, run_summary
from bre_core.runs.run import Run
from bre_core.schema import Document, ParseResult
from bre_core.scoring import judge
from bre_core.taxonomy import CLASSES, FN_CLASSES, FP_CLASSES, TITLES, classify_document

CORRECT = "correct"  # a relation the protocol counts as right: in no error class
ERROR_COLUMN = "error class"  # the cases table's column: "A: reversed arguments; B: missed"
UNAVAILABLE = "unavailable"  # a run written before error classes were recorded, without its documents at hand
COUNT_COLUMNS = ["model", "run", "class", "title", "false_positives", "false_negatives", "errors"]
# Which runs of a pair a case is an error of: missed gold (gold buckets), or a wrong relation (spurious buckets).
_MISSED_BY = {BOTH_RIGHT: "", ONLY_A: "B", ONLY_B: "A", BOTH_WRONG: "AB"}
_WRONG_IN = {SPURIOUS_A: "A", SPURIOUS_B: "B"}


@dataclass(frozen=True)
class ReadRelation:
    """A relation of an answer (or a gold one it missed) and its class: a taxonomy class, CORRECT, or "" (no gold)."""

    label: str
    args: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class AnswerReading:
    """One answer on one passage: each predicted entity's grounding, each relation's class and the gold it missed."""

    groundings: dict[str, Grounding]  # in order of first appearance
    relations: tuple[ReadRelation, ...]
    missed: tuple[ReadRelation, ...]  # each missed gold annotation with its false-negative class
    judged: bool  # there is gold (a benchmark example), so relations have classes

    @property
    def absent(self) -> list[str]:
        """The predicted entities found nowhere in the passage: hallucinations."""
        return [name for name, found in self.groundings.items() if found.level == ABSENT]


def read_answer(task, text: str, parse: ParseResult, document: Document | None = None) -> AnswerReading:
    """`parse` on the passage `text`: groundings always; with the `document`, classes as `task`'s protocol judges."""
    passage = Passage(text)
    groundings = ground_names((a for relation in parse.relations for a in relation.args), passage)
    if document is None:
        relations = tuple(ReadRelation(r.label, tuple(r.args), "") for r in parse.relations)
        return AnswerReading(groundings, relations, (), False)
    verdict = judge(task, document, parse)
    errors = classify_document(task, document, parse.relations, verdict, passage)
    relations = tuple(
        ReadRelation(r.label, tuple(r.args), error or CORRECT)
        for r, error in zip(parse.relations, errors.relation_classes)
    )
    missed = tuple(
        ReadRelation(entry["label"], tuple(entry["args"]), error)
        for entry, error in zip(verdict.missed, errors.missed_classes)
    )
    return AnswerReading(groundings, relations, missed, True)


def _classes_by_key(record, analysis: Mapping) -> tuple[dict[str, str], dict[str, deque]] | None:
    """(wrong key -> its class, missed key -> its classes in order) of one record, as taxonomy.classify_document
    gave them (one class per distinct wrong key, in order); None when the analysis does not fit the record."""
    classes, wrong = iter(analysis["fp_classes"]), {}
    for keys, matched in zip(record.keys, record.matched):
        for key in () if matched else keys:
            text = key_text(key)
            if text not in wrong:
                wrong[text] = next(classes, None)
    missed: dict[str, deque] = defaultdict(deque)
    for entry, error in zip(record.missed, analysis["missed_classes"]):
        missed[key_text(entry["key"])].append(error)
    fits = None not in wrong.values() and next(classes, None) is None
    return (wrong, missed) if fits and len(record.missed) == len(analysis["missed_classes"]) else None


def case_error_classes(cases: pd.DataFrame, runs: Mapping[str, Run], analyses: Mapping[str, list | None]) -> list[str]:
    """Per case of error_cases.buckets (runs "A" and "B" on their shared protocol): the class of each run's error
    in it, "A: reversed arguments; B: missed" ("" for a case both got right), UNAVAILABLE for a run without them."""
    per_document: dict[tuple[str, str], tuple | None] = {}
    for slot, run in runs.items():
        for i, record in enumerate(run.predictions):
            found = analyses.get(slot)
            per_document[slot, record.id] = _classes_by_key(record, found[i]) if found else None
    texts = []
    for document, bucket, key in zip(cases["document"], cases["bucket"], cases["key"]):
        parts = []
        for slot in _MISSED_BY.get(bucket, "") + _WRONG_IN.get(bucket, ""):
            known = per_document.get((slot, document))
            if known is None:
                error = UNAVAILABLE
            elif bucket in _WRONG_IN:
                error = known[0].get(key) or UNAVAILABLE
            else:
                left = known[1].get(key)
                error = left.popleft() if left else UNAVAILABLE
            parts.append(f"{slot}: {TITLES.get(error, error)}")
        texts.append("; ".join(parts))
    return texts


def with_error_classes(cases: pd.DataFrame, run_a: Run, run_b: Run, documents=None) -> pd.DataFrame:
    """The cases with their ERROR_COLUMN, the runs seen under the protocol the cases were judged under."""
    from bre_core.runs import on_shared_protocol

    run_a, run_b = on_shared_protocol(run_a, run_b)
    runs = {"A": run_a, "B": run_b}
    analyses = {slot: run_analyses(run, documents) for slot, run in runs.items()}
    return cases.assign(**{ERROR_COLUMN: case_error_classes(cases, runs, analyses)})


def classes_in(text: str) -> set[str]:
    """The taxonomy classes named in an ERROR_COLUMN text (the inverse of case_error_classes' wording)."""
    by_title = {title: name for name, title in TITLES.items()}
    return {by_title[part.split(": ", 1)[-1]] for part in text.split("; ") if part.split(": ", 1)[-1] in by_title}


def filter_by_error_class(cases: pd.DataFrame, chosen: Sequence[str] = ()) -> pd.DataFrame:
    """The cases that are an error of any `chosen` class (names or titles); an empty choice keeps every case."""
    if not chosen or ERROR_COLUMN not in cases:
        return cases
    by_title = {title: name for name, title in TITLES.items()}
    wanted = {by_title.get(c, c) for c in chosen}
    keep = [bool(classes_in(text) & wanted) for text in cases[ERROR_COLUMN]]
    return cases[keep].reset_index(drop=True)


def class_count_rows(runs: Sequence[Run], labels: Sequence[str], documents=None) -> tuple[pd.DataFrame, list[Run]]:
    """(one row per run and class: false positives, false negatives and their sum, the runs without classes).

    Each run is read under its own protocol (run_summary: metrics.json's, else its records', else computed
    from `documents` when given, one list per run); `labels` name the runs' bars."""
    rows, unavailable = [], []
    for i, (run, label) in enumerate(zip(runs, labels)):
        summary = run_summary(run, documents[i] if documents else None)
        if summary is None:
            unavailable.append(run)
            continue
        taxonomy = summary["taxonomy"]
        for name in CLASSES:
            fp = int(taxonomy["false_positives"].get(name, 0)) if name in FP_CLASSES else 0
            fn = int(taxonomy["false_negatives"].get(name, 0)) if name in FN_CLASSES else 0
            rows.append([label, run.name, name, TITLES[name], fp, fn, fp + fn])
    return pd.DataFrame(rows, columns=COUNT_COLUMNS), unavailable


def mean_over_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Class counts averaged over each model's runs (its seeds), with how many runs each mean is over."""
    if frame.empty:
        return frame.assign(runs=pd.Series(dtype=int))
    grouped = frame.groupby(["model", "class", "title"], sort=False)
    means = grouped[["false_positives", "false_negatives", "errors"]].mean()
    return means.assign(runs=grouped.run.nunique()).reset_index()
