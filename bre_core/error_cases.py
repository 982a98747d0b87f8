"""Error analysis of two runs over the same documents: outcome buckets, class confusion, one document, export."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bre_core.atomic import write_text_atomic
from bre_core.errors import BreError, UnknownNameError
from bre_core.passage_names import passage_spelling
from bre_core.runs import (
    PredictionRecord,
    Run,
    check_same_documents,
    has_judgement,
    on_shared_protocol,
    with_judgement,
)
from bre_core.schema import Document
from bre_core.scoring import key_to_json
from bre_core.tasks import Task, get_task
from bre_core.tasks.base import normalize_space

BOTH_RIGHT, ONLY_A, ONLY_B, BOTH_WRONG = "both right", "only A right", "only B right", "both wrong"
SPURIOUS_A, SPURIOUS_B = "spurious in A", "spurious in B"
BUCKETS = (BOTH_RIGHT, ONLY_A, ONLY_B, BOTH_WRONG, SPURIOUS_A, SPURIOUS_B)
# "key" (the scoring key as JSON) is for export and matching, not for the screen.
CASE_COLUMNS = ["document", "bucket", "class", "relation", "gold for pair", "also in other run", "key"]
GOLD_COLUMNS = ["class", "relation", "A", "B"]
RUN_COLUMNS = ["class", "relation", "outcome"]
MISSED, SPURIOUS = "missed", "spurious"


def key_text(key: tuple) -> str:
    """A scoring key as the JSON text the cases table and its exports show."""
    return json.dumps(key_to_json(key))


@dataclass(frozen=True)
class Predicted:
    """One parsed relation of a run as scoring judged it: its text, its scoring keys and whether it is correct."""

    label: str
    text: str
    keys: tuple[tuple, ...]
    correct: bool


@dataclass(frozen=True)
class Judged:
    """One document as both runs see it: gold {key: (label, text)}, how many annotations of each key are counted
    and how many each run found (more than one only where the study counts a relation annotated twice)."""

    id: str
    gold: dict[tuple, tuple[str, str]]
    counted: Counter
    found_a: Counter
    found_b: Counter
    a: tuple[Predicted, ...]
    b: tuple[Predicted, ...]

    def annotations(self) -> Iterator[tuple[tuple, str, str, bool, bool]]:
        """Each counted gold annotation: (key, label, text, found by A, found by B)."""
        for key, (label, text) in self.gold.items():
            for i in range(self.counted[key]):
                yield key, label, text, i < self.found_a[key], i < self.found_b[key]


def comparable(run_a: Run, run_b: Run) -> bool:
    """Whether two runs are over the same documents (dataset, split and content hash)."""
    return run_a.manifest.same_documents(run_b.manifest)


def load_matching_documents(run: Run, data_dir=None) -> tuple[list[Document] | None, str]:
    """The run's documents from the corpus if present and unchanged (same content hash), else None and why."""
    from bre_core.datasets import load_documents
    from bre_core.runs import documents_hash

    dataset, split, seed = (run.manifest.get(k) for k in ("dataset", "split", "split_seed"))
    try:
        documents = load_documents(dataset, split, data_dir, **({"split_seed": seed} if seed is not None else {}))
    except (BreError, OSError) as exc:
        return None, f"Corpus not available ({exc}); relations are matched from the run folders."
    by_id = {d.id: d for d in documents}
    # A run with --limit covers the first N documents: hash those, as evaluate did.
    chosen = [by_id[p.id] for p in run.predictions if p.id in by_id]
    hash_ = documents_hash(get_task(dataset), chosen)
    if len(chosen) != len(run.predictions) or hash_ != run.manifest.get("data_hash"):
        return None, "The corpus on disk differs from the runs' documents; relations are matched from the run folders."
    return chosen, ""


def _predicted(task: Task, record: PredictionRecord, spelled=lambda name: name) -> tuple[Predicted, ...]:
    return tuple(
        Predicted(relation.label, task.relation_text(tuple(map(spelled, relation.args))), keys, bool(matched))
        for relation, keys, matched in zip(record.relations, record.keys, record.matched)
    )


def _judge(task: Task, a: PredictionRecord, b: PredictionRecord | None, document: Document | None) -> Judged:
    records = [r for r in (a, b) if r is not None]
    if document is None and not all(has_judgement(r) for r in records):
        return _judge_old_records(task, records)
    records = [with_judgement(r, task, document) for r in records]
    spelled = passage_spelling(document)
    gold: dict[tuple, tuple[str, str]] = {}
    for record in records:
        for entry in sorted((*record.found, *record.missed), key=lambda entry: entry.get("at", 0)):
            gold.setdefault(entry["key"], (entry["label"], task.relation_text(tuple(map(spelled, entry["args"])))))
    found = [record.gold_found() for record in records]
    judged = [_predicted(task, record, spelled) for record in records]
    found_b, relations_b = (found[1], judged[1]) if b is not None else (Counter(), ())
    return Judged(a.id, gold, records[0].gold_counted(), found[0], found_b, judged[0], relations_b)


def _judge_old_records(task: Task, records: list[PredictionRecord]) -> Judged:
    """Runs written before records kept their keys, without the corpus: the gold is what either run missed, plus
    what neither missed (found by both), which only the runs' correct relations show; approximate for CDR."""
    missed = [{m["key"] for m in r.missed} for r in records]
    every_missed = [m for r in records for m in r.missed]
    gold = {m["key"]: (m["label"], task.relation_text(m["args"])) for m in every_missed}
    by_names = {tuple(normalize_space(x).lower() for x in m["args"]): m["key"] for m in every_missed}
    judged = []
    for record in records:
        flags = record.correct if len(record.correct) == len(record.relations) else (False,) * len(record.relations)
        predicted = []
        for relation, correct in zip(record.relations, flags):
            key = task.text_key(relation)
            if task.keys_need_document and correct:  # a correct CDR pair may be a gold one a run missed
                key = by_names.get(tuple(normalize_space(x).lower() for x in relation.args), key)
            predicted.append(Predicted(relation.label, task.relation_text(relation.args), (key,), correct))
        judged.append(tuple(predicted))
    extra = {}
    for p in (p for relations in judged for p in relations if p.correct and p.keys[0] not in gold):
        extra.setdefault(p.keys[0], p)
    if task.keys_need_document:
        # Text keys are spellings, not concepts: exactly tp - (known gold A found) were found by both; take
        # that many, those every run wrote the same way first.
        everywhere = [k for k in extra if all(any(k in p.keys for p in rs if p.correct) for rs in judged)]
        ordered = everywhere + [k for k in extra if k not in everywhere]
        extra = {k: extra[k] for k in ordered[: max(records[0].tp - len(set(gold) - missed[0]), 0)]}
    gold.update((k, (p.label, p.text)) for k, p in extra.items())
    found = [Counter(set(gold) - m) for m in missed]
    found_b, relations_b = (found[1], judged[1]) if len(records) > 1 else (Counter(), ())
    return Judged(records[0].id, gold, Counter(set(gold)), found[0], found_b, judged[0], relations_b)


def judged_documents(run_a: Run, run_b: Run | None = None, documents=None) -> Iterator[Judged]:
    """Each document of the runs as scoring judged it (runs written before records kept their keys are judged
    again against `documents` when given, else approximately from their records)."""
    if run_b is not None:
        check_same_documents(run_a, run_b)
        run_a, run_b = on_shared_protocol(run_a, run_b)
    task = get_task(run_a.manifest["dataset"])
    by_id = {d.id: d for d in documents or ()}
    records_b = run_b.predictions if run_b is not None else [None] * len(run_a.predictions)
    for a, b in zip(run_a.predictions, records_b):
        yield _judge(task, a, b, by_id.get(a.id))


def _wrong(predicted: Iterable[Predicted], gold: dict) -> dict[tuple, Predicted]:
    """Scoring key -> the first wrong relation that has it (two spellings of one key count once, as scored)."""
    wrong: dict[str, Predicted] = {}
    for p in predicted:
        for key in p.keys:
            if not p.correct and key not in gold:
                wrong.setdefault(key, p)
    return wrong


def _pair(key: tuple) -> tuple:
    return key[1:]


def _gold_for_pair(key: tuple, gold: dict) -> str:
    """What the gold has for the argument pair of a wrong relation: its classes, or the reversed pair's."""
    same = [label for k, (label, _) in gold.items() if _pair(k) == _pair(key)]
    # Pair tasks: a relation written the wrong way round is a common error worth naming.
    reverse = key[:0:-1] if len(key) == 3 and all(isinstance(p, str) for p in key) else None
    flipped = [label for k, (label, _) in gold.items() if _pair(k) == reverse]
    return ", ".join(same) if same else ", ".join(flipped) + " (arguments reversed)" if flipped else ""


def buckets(run_a: Run, run_b: Run, documents=None) -> pd.DataFrame:
    """One row per gold relation (found by both / only A / only B / neither) and per wrong relation of each run.

    Rows are in document order, then bucket order. A wrong relation both runs predicted is a row in each
    "spurious" bucket, with "also in other run" saying so.
    """
    rows = []
    outcome = {(True, True): BOTH_RIGHT, (True, False): ONLY_A, (False, True): ONLY_B, (False, False): BOTH_WRONG}
    for doc in judged_documents(run_a, run_b, documents):
        here = [
            [doc.id, outcome[in_a, in_b], label, text, "", "", key_text(key)]
            for key, label, text, in_a, in_b in doc.annotations()
        ]
        wrong_a, wrong_b = _wrong(doc.a, doc.gold), _wrong(doc.b, doc.gold)
        for bucket, wrong, other in ((SPURIOUS_A, wrong_a, wrong_b), (SPURIOUS_B, wrong_b, wrong_a)):
            for key, p in wrong.items():
                also = "yes" if key in other else "no"
                here.append([doc.id, bucket, p.label, p.text, _gold_for_pair(key, doc.gold), also, key_text(key)])
        rows += sorted(here, key=lambda row: BUCKETS.index(row[1]))  # stable: gold order within a bucket
    return pd.DataFrame(rows, columns=CASE_COLUMNS)


def bucket_counts(cases: pd.DataFrame) -> pd.DataFrame:
    """Cases per bucket, every bucket listed (zero where none), in the buckets' order."""
    counts = cases["bucket"].value_counts() if len(cases) else pd.Series(dtype=int)
    return pd.DataFrame({"bucket": list(BUCKETS), "count": [int(counts.get(b, 0)) for b in BUCKETS]})


def filter_cases(cases: pd.DataFrame, buckets_: Sequence[str] = (), classes: Sequence[str] = ()) -> pd.DataFrame:
    """The cases in any of `buckets_` and of any of `classes`; an empty selection keeps everything."""
    keep = cases["bucket"].isin(list(buckets_ or BUCKETS)) & cases["class"].isin(list(classes or cases["class"]))
    return cases[keep].reset_index(drop=True)


def confusion(run: Run, documents=None) -> pd.DataFrame:
    """Gold class (rows, plus "spurious") x predicted class for the same argument pair (columns, plus "missed")."""
    task = get_task(run.manifest["dataset"])
    cells: dict[tuple[str, str], int] = {}
    for doc in judged_documents(run, None, documents):
        by_pair: dict[str, tuple[list, list]] = {}
        for key, label, _, _, _ in doc.annotations():
            by_pair.setdefault(_pair(key), ([], []))[0].append(label)
        for key in sorted(doc.found_a.elements(), key=key_text) + list(_wrong(doc.a, doc.gold)):
            by_pair.setdefault(_pair(key), ([], []))[1].append(key[0])
        for gold, predicted in by_pair.values():
            hits = [g for g in gold if g in predicted]
            left_gold = sorted(g for g in gold if g not in hits)
            left_predicted = sorted(p for p in predicted if p not in hits)
            # Same pair, other class: pair them off; what remains is missed gold or a spurious prediction.
            pairs = [(g, g) for g in hits] + list(zip(left_gold, left_predicted))
            pairs += [(g, MISSED) for g in left_gold[len(left_predicted) :]]
            pairs += [(SPURIOUS, p) for p in left_predicted[len(left_gold) :]]
            for cell in pairs:
                cells[cell] = cells.get(cell, 0) + 1
    # Unknown label words (parsed but not a class) get their own column, so every prediction is counted.
    rows = list(task.classes) + sorted({g for g, _ in cells} - set(task.classes) - {SPURIOUS}) + [SPURIOUS]
    columns = list(task.classes) + sorted({p for _, p in cells} - set(task.classes) - {MISSED}) + [MISSED]
    table = pd.DataFrame(0, index=pd.Index(rows, name="gold"), columns=pd.Index(columns, name="predicted"))
    for (gold, predicted), n in cells.items():
        table.loc[gold, predicted] = n
    return table


@dataclass(frozen=True)
class DocumentView:
    """One document for reading: the corpus document (None without the corpus), gold, A and B, raw outputs."""

    id: str
    document: Document | None
    gold: pd.DataFrame  # GOLD_COLUMNS: A and B say "correct" or "missed"
    a: pd.DataFrame  # RUN_COLUMNS: each relation of A "correct" / "wrong", then the gold it "missed"
    b: pd.DataFrame
    output_a: str
    output_b: str


def document_view(run_a: Run, run_b: Run, doc_id: str, documents=None) -> DocumentView:
    """Gold vs A vs B for one document, each relation marked correct / wrong / missed.

    An id that is not among the runs' documents is an UnknownNameError (a KeyError) listing a few that are.
    """
    task = get_task(run_a.manifest["dataset"])
    check_same_documents(run_a, run_b)
    run_a, run_b = on_shared_protocol(run_a, run_b)
    index = next((i for i, p in enumerate(run_a.predictions) if p.id == doc_id), None)
    if index is None:
        raise UnknownNameError("document id", doc_id, [p.id for p in run_a.predictions[:5]] + ["..."])
    document = next((d for d in documents or () if d.id == doc_id), None)
    record_a, record_b = run_a.predictions[index], run_b.predictions[index]
    doc = _judge(task, record_a, record_b, document)
    mark = {True: "correct", False: MISSED}
    gold = [[label, text, mark[in_a], mark[in_b]] for _, label, text, in_a, in_b in doc.annotations()]

    def side(predicted, found):
        rows = [[p.label, p.text, "correct" if p.correct else "wrong"] for p in predicted]
        rows += [
            [label, text, MISSED] for k, (label, text) in doc.gold.items() for _ in range(doc.counted[k] - found[k])
        ]
        return pd.DataFrame(rows, columns=RUN_COLUMNS)

    gold = pd.DataFrame(gold, columns=GOLD_COLUMNS)
    a, b = side(doc.a, doc.found_a), side(doc.b, doc.found_b)
    return DocumentView(doc_id, document, gold, a, b, record_a.output, record_b.output)


def export(cases: pd.DataFrame, fmt: str, path) -> Path:
    """Write the cases as CSV or JSON lines (one object per case) to `path`; returns the path."""
    if fmt not in ("csv", "jsonl"):
        raise UnknownNameError("export format", fmt, ("csv", "jsonl"))
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in cases.to_dict("records"))
    return write_text_atomic(path, cases.to_csv(index=False, lineterminator="\n") if fmt == "csv" else lines)
