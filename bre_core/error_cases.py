"""Error analysis of two runs over the same documents: outcome buckets, class confusion, one document, export."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bre_core.atomic import write_text_atomic
from bre_core.errors import BreError, RunError
from bre_core.results import PredictionRecord, Run
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


def _json(key: Sequence) -> str:
    return json.dumps(list(key))


@dataclass(frozen=True)
class Predicted:
    """One parsed relation of a run, judged: its text, its scoring keys (JSON) and its stored correct flag."""

    label: str
    text: str
    keys: tuple[str, ...]
    correct: bool


@dataclass(frozen=True)
class Judged:
    """One document as both runs see it: gold {key: (label, text)}, the gold keys each run found, its relations."""

    id: str
    gold: dict[str, tuple[str, str]]
    found_a: frozenset[str]
    found_b: frozenset[str]
    a: tuple[Predicted, ...]
    b: tuple[Predicted, ...]


def relation_text(task: Task, args: Iterable[str]) -> str:
    """'head → tail' for pair tasks; the drug set for DCE, whose relations are sets."""
    return "{" + ", ".join(args) + "}" if task.name == "dce" else " → ".join(args)


def comparable(run_a: Run, run_b: Run) -> bool:
    """Whether two runs are over the same documents (dataset, split and content hash)."""
    return all(run_a.manifest.get(k) == run_b.manifest.get(k) for k in ("dataset", "split", "data_hash"))


def check_comparable(run_a: Run, run_b: Run) -> None:
    if not comparable(run_a, run_b) or [p.id for p in run_a.predictions] != [p.id for p in run_b.predictions]:
        raise RunError(
            f"{run_a.name} and {run_b.name} are not over the same documents (dataset, split, data hash or "
            "document ids differ); choose two runs of the same dataset, split and data."
        )


def load_matching_documents(run: Run, data_dir=None) -> tuple[list[Document] | None, str]:
    """The run's documents from the corpus if present and unchanged (same content hash), else None and why."""
    from bre_core.datasets import load_documents
    from bre_core.runner import documents_hash

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


def _exact_without_corpus(task: Task) -> bool:
    """Whether a relation's scoring key follows from its text alone (all but CDR, whose keys are concepts)."""
    return type(task).prediction_key is not Task.prediction_key


def _fallback_key(task: Task, relation, correct: bool, missed_by_names: dict) -> str:
    if _exact_without_corpus(task):
        return _json(key_to_json(task.prediction_key(relation)))
    # CDR without the corpus: a correct relation is matched to a gold one that a run missed by its names,
    # anything else is keyed by its text.
    names = tuple(normalize_space(a).lower() for a in relation.args)
    if correct and names in missed_by_names:
        return missed_by_names[names]
    return _json([relation.label, *("text:" + a for a in relation.args)])


def _predicted(task: Task, record: PredictionRecord, document: Document | None, gold, missed_by_names) -> list:
    flags = record.correct if len(record.correct) == len(record.relations) else None
    out = []
    for i, relation in enumerate(record.relations):
        if document is not None:
            keys = tuple(sorted(_json(key_to_json(k)) for k in task.prediction_keys(document, [relation])))
        else:
            keys = (_fallback_key(task, relation, bool(flags and flags[i]), missed_by_names),)
        correct = flags[i] if flags else bool(set(keys) & set(gold))
        out.append(Predicted(relation.label, relation_text(task, relation.args), keys, correct))
    return out


def _judge(task: Task, a: PredictionRecord, b: PredictionRecord | None, document: Document | None) -> Judged:
    records = [r for r in (a, b) if r is not None]
    gold: dict[str, tuple[str, str]] = {}
    if document is not None:  # the scoring keys, recomputed as scoring does
        entities = document.entity_map()
        for relation in task.distinct_relations(document):
            key = _json(key_to_json(task.gold_key(relation, entities)))
            gold[key] = (relation.label, relation_text(task, (task.argument(entities[x]) for x in relation.args)))
        judged = [_predicted(task, r, document, gold, {}) for r in records]
        found = [frozenset(gold) & {k for p in relations for k in p.keys} for relations in judged]
    else:
        found, judged = _from_records(task, records, gold)
    found_b, relations_b = (found[1], tuple(judged[1])) if b is not None else (frozenset(), ())
    return Judged(a.id, gold, found[0], found_b, tuple(judged[0]), relations_b)


def _from_records(task: Task, records: list[PredictionRecord], gold: dict) -> tuple[list, list]:
    # Without the corpus: the gold is what either run missed, plus what neither missed (found by both),
    # which only the runs' correct relations show.
    missed = [{_json(m["key"]) for m in r.missed} for r in records]
    every_missed = [m for r in records for m in r.missed]
    for m in every_missed:
        gold.setdefault(_json(m["key"]), (m["label"], relation_text(task, m["args"])))
    by_names = {tuple(normalize_space(x).lower() for x in m["args"]): _json(m["key"]) for m in every_missed}
    judged = [_predicted(task, r, None, gold, by_names) for r in records]
    extra: dict[str, Predicted] = {}
    for p in (p for relations in judged for p in relations if p.correct and p.keys[0] not in gold):
        extra.setdefault(p.keys[0], p)
    if not _exact_without_corpus(task):
        # CDR: text keys are spellings, not concepts. Exactly tp - (known gold A found) were found by both;
        # take that many, those every run wrote the same way first (approximate, as the tab says).
        everywhere = [k for k in extra if all(any(k in p.keys for p in rs if p.correct) for rs in judged)]
        ordered = everywhere + [k for k in extra if k not in everywhere]
        extra = {k: extra[k] for k in ordered[: max(records[0].tp - len(set(gold) - missed[0]), 0)]}
    gold.update((k, (p.label, p.text)) for k, p in extra.items())
    return [frozenset(set(gold) - m) for m in missed], judged


def judged_documents(run_a: Run, run_b: Run | None = None, documents=None) -> Iterator[Judged]:
    """Each document of the runs, judged; from the corpus when `documents` is given, else from the records."""
    if run_b is not None:
        check_comparable(run_a, run_b)
    task = get_task(run_a.manifest["dataset"])
    by_id = {d.id: d for d in documents or ()}
    records_b = run_b.predictions if run_b is not None else [None] * len(run_a.predictions)
    for a, b in zip(run_a.predictions, records_b):
        yield _judge(task, a, b, by_id.get(a.id))


def _wrong(predicted: Iterable[Predicted], gold: dict) -> dict[str, Predicted]:
    """Scoring key -> the first wrong relation that has it (two spellings of one key count once, as scored)."""
    wrong: dict[str, Predicted] = {}
    for p in predicted:
        for key in p.keys:
            if not p.correct and key not in gold:
                wrong.setdefault(key, p)
    return wrong


def _pair(key: str) -> str:
    return _json(json.loads(key)[1:])


def _gold_for_pair(key: str, gold: dict) -> str:
    """What the gold has for the argument pair of a wrong relation: its classes, or the reversed pair's."""
    parts = json.loads(key)
    same = [label for k, (label, _) in gold.items() if _pair(k) == _pair(key)]
    # Pair tasks: a relation written the wrong way round is a common error worth naming.
    reverse = _json(parts[:0:-1]) if len(parts) == 3 and all(isinstance(p, str) for p in parts) else None
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
            [doc.id, outcome[key in doc.found_a, key in doc.found_b], label, text, "", "", key]
            for key, (label, text) in doc.gold.items()
        ]
        wrong_a, wrong_b = _wrong(doc.a, doc.gold), _wrong(doc.b, doc.gold)
        for bucket, wrong, other in ((SPURIOUS_A, wrong_a, wrong_b), (SPURIOUS_B, wrong_b, wrong_a)):
            for key, p in wrong.items():
                also = "yes" if key in other else "no"
                here.append([doc.id, bucket, p.label, p.text, _gold_for_pair(key, doc.gold), also, key])
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
        for key, (label, _) in doc.gold.items():
            by_pair.setdefault(_pair(key), ([], []))[0].append(label)
        for key in sorted(doc.found_a) + list(_wrong(doc.a, doc.gold)):
            by_pair.setdefault(_pair(key), ([], []))[1].append(json.loads(key)[0])
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
    """Gold vs A vs B for one document, each relation marked correct / wrong / missed; KeyError if no such id."""
    task = get_task(run_a.manifest["dataset"])
    check_comparable(run_a, run_b)
    index = next((i for i, p in enumerate(run_a.predictions) if p.id == doc_id), None)
    if index is None:
        raise KeyError(doc_id)
    document = next((d for d in documents or () if d.id == doc_id), None)
    record_a, record_b = run_a.predictions[index], run_b.predictions[index]
    doc = _judge(task, record_a, record_b, document)
    mark = {True: "correct", False: MISSED}
    gold = [[label, text, mark[k in doc.found_a], mark[k in doc.found_b]] for k, (label, text) in doc.gold.items()]

    def side(predicted, found):
        rows = [[p.label, p.text, "correct" if p.correct else "wrong"] for p in predicted]
        rows += [[label, text, MISSED] for k, (label, text) in doc.gold.items() if k not in found]
        return pd.DataFrame(rows, columns=RUN_COLUMNS)

    gold = pd.DataFrame(gold, columns=GOLD_COLUMNS)
    a, b = side(doc.a, doc.found_a), side(doc.b, doc.found_b)
    return DocumentView(doc_id, document, gold, a, b, record_a.output, record_b.output)


def export(cases: pd.DataFrame, fmt: str, path) -> Path:
    """Write the cases as CSV or JSON lines (one object per case) to `path`; returns the path."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"Export format must be 'csv' or 'jsonl', got {fmt!r}.")
    lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in cases.to_dict("records"))
    return write_text_atomic(path, cases.to_csv(index=False, lineterminator="\n") if fmt == "csv" else lines)
