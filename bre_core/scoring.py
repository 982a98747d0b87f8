"""Micro/macro/per-class P/R/F1 under each dataset's matching rule, paired significance tests, format ceiling."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from bre_core.schema import Document, ParseResult
from bre_core.tasks import Task


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    @classmethod
    def from_counts(cls, tp: int, fp: int, fn: int) -> PRF:
        # Zero denominators give 0, as in the study's metrics code.
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        return cls(precision, recall, f1, tp, fp, fn)


@dataclass(frozen=True)
class Score:
    micro: PRF
    macro_f1: float
    per_class: dict[str, PRF]
    parse_failures: int  # unreadable pieces + relations with an unknown label word
    unreadable: int
    unknown_labels: int
    documents: int
    missing: int = 0  # documents without a prediction, scored as empty output
    # (tp, fp, fn) per document, in document order: what the paired tests resample.
    per_document: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 3), dtype=np.int64), repr=False, compare=False
    )

    def to_dict(self) -> dict:
        return {
            "micro": asdict(self.micro),
            "macro_f1": self.macro_f1,
            "per_class": {label: asdict(prf) for label, prf in self.per_class.items()},
            "parse_failures": self.parse_failures,
            "unreadable": self.unreadable,
            "unknown_labels": self.unknown_labels,
            "documents": self.documents,
            "missing": self.missing,
        }


@dataclass(frozen=True)
class Judgement:
    """One document's output against its gold: each parsed relation judged, the gold found and missed, counts.

    Gold relations are {"label", "args": names as the target writes them, "key": the scoring key, "at": its
    place among the document's gold}; keys are
    tuples here and become JSON only when a record is written (key_to_json).
    """

    correct: tuple[bool, ...]  # per parsed relation
    missed: tuple[dict, ...]
    tp: int
    fp: int
    fn: int  # under the study's CDR rule this can be negative (two spellings of one pair are two TPs)
    per_class: dict[str, tuple[int, int, int]] = field(default_factory=dict, repr=False)  # the task's classes
    keys: tuple[tuple[tuple, ...], ...] = ()  # per parsed relation: its prediction keys
    matched: tuple[tuple[tuple, ...], ...] = ()  # per parsed relation: the gold keys it matched
    found: tuple[dict, ...] = ()  # the gold relations found, as `missed`


def key_to_json(key: tuple) -> list:
    """A scoring key as JSON (sets become sorted lists), stable across runs over the same documents.

    >>> key_to_json(("POS", frozenset({"FOLFOX", "bevacizumab"})))
    ['POS', ['FOLFOX', 'bevacizumab']]
    """
    return [sorted(part) if isinstance(part, frozenset) else part for part in key]


def key_from_json(parts: list) -> tuple:
    """A scoring key read back from JSON (lists were sets: DCE's drug names).

    >>> key_from_json(["POS", ["FOLFOX", "bevacizumab"]]) == ("POS", frozenset({"FOLFOX", "bevacizumab"}))
    True
    """
    return tuple(frozenset(part) if isinstance(part, list) else part for part in parts)


def judge(task: Task, document: Document, parse: ParseResult) -> Judgement:
    """Count one document under the task's protocol.

    Each distinct prediction key is a true positive when it matches gold, else a false positive; the false
    negatives of a class are its gold relations as the protocol counts them minus its true positives.
    Per-class false positives count only predictions whose label is one of the task's classes.
    """
    gold = task.gold_counts(document)
    match = task.matcher(document, gold)
    hits: dict[tuple, frozenset] = {}
    judged = [match(relation) for relation in parse.relations]
    for matched in judged:
        hits.update(matched)
    per_class = {label: [0, 0, 0] for label in task.classes}
    fp = 0
    for key, found in hits.items():
        if not found:
            fp += 1
        if key[0] in per_class:
            per_class[key[0]][0 if found else 1] += 1
    for key, times in gold.items():
        per_class[key[0]][2] += times
    for counts in per_class.values():
        counts[2] -= counts[0]
    tp = sum(counts[0] for counts in per_class.values())
    fn = sum(counts[2] for counts in per_class.values())
    found_times = Counter(key for found in hits.values() for key in found)
    entities = document.entity_map()
    found, missed = [], []
    for at, relation in enumerate(task.counted_gold(document)):
        key = task.gold_key(relation, entities)
        entry = {"label": relation.label, "args": [task.argument(entities[a]) for a in relation.args], "key": key}
        entry["at"] = at  # its place in the document's gold, so found and missed can be listed together
        if found_times[key] > 0:
            found_times[key] -= 1  # one annotation of it was found; a second one counts as missed
            found.append(entry)
        else:
            missed.append(entry)
    return Judgement(
        correct=tuple(any(m.values()) for m in judged),
        missed=tuple(missed),
        tp=tp,
        fp=fp,
        fn=fn,
        per_class={label: tuple(counts) for label, counts in per_class.items()},
        keys=tuple(tuple(m) for m in judged),
        matched=tuple(tuple(sorted(set().union(*m.values()), key=repr)) for m in judged),
        found=tuple(found),
    )


def score(task: Task, documents: Sequence[Document], parses: Mapping[str, ParseResult]) -> Score:
    """Score parsed generations against the gold relations of `documents` under the task's protocol.

    A document absent from `parses` counts as an empty output (all its gold relations are missed).
    Under the corrected protocol unknown label words are false positives in micro counts only; under the
    study's they were dropped by the parser, so micro counts are sums over the classes, as its code has them.
    """
    judged = [(parses.get(d.id), judge(task, d, parses.get(d.id) or _EMPTY)) for d in documents]
    return score_judged(task, documents, judged)


_EMPTY = ParseResult()


def score_judged(
    task: Task, documents: Sequence[Document], judged: Sequence[tuple[ParseResult | None, Judgement]]
) -> Score:
    """A Score from each document's parse (None: no prediction) and judgement, in document order."""
    per_class = {label: [0, 0, 0] for label in task.classes}
    per_document = np.zeros((len(documents), 3), dtype=np.int64)
    unreadable = unknown = missing = 0
    for i, (parse, verdict) in enumerate(judged):
        if parse is None:
            missing += 1
            parse = _EMPTY
        unreadable += parse.unreadable
        unknown += parse.unknown_labels
        per_document[i] = (verdict.tp, verdict.fp, verdict.fn)
        for label, counts in verdict.per_class.items():
            for j in range(3):
                per_class[label][j] += counts[j]
    tp, fp, fn = (int(x) for x in per_document.sum(axis=0)) if len(documents) else (0, 0, 0)
    classes = {label: PRF.from_counts(*counts) for label, counts in per_class.items()}
    macro = sum(prf.f1 for prf in classes.values()) / len(classes) if classes else 0.0
    return Score(
        micro=PRF.from_counts(tp, fp, fn),
        macro_f1=macro,
        per_class=classes,
        parse_failures=unreadable + unknown,
        unreadable=unreadable,
        unknown_labels=unknown,
        documents=len(documents),
        missing=missing,
        per_document=per_document,
    )


def score_outputs(task: Task, documents: Sequence[Document], outputs: Mapping[str, str]) -> Score:
    """Score raw generated texts (document id -> output) after parsing them with the task's parser."""
    return score(task, documents, {doc_id: task.parse(text) for doc_id, text in outputs.items()})


def format_ceiling(task: Task, documents: Sequence[Document]) -> Score:
    """The best score the output format allows: gold -> target text -> parser -> score."""
    return score_outputs(task, documents, {document.id: task.target(document) for document in documents})


# --- paired tests over documents ------------------------------------------------------------------


def _micro_f1(counts: np.ndarray) -> np.ndarray:
    """Micro-F1 from summed (tp, fp, fn) along the last axis; 0 where there is nothing to count."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(denominator.shape, dtype=float), where=denominator > 0)


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(
            f"Paired tests need two (documents x 3) count arrays of the same shape, got "
            f"{a.shape} and {b.shape}: score both prediction sets on the same documents."
        )
    return a, b


def micro_f1_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Micro-F1 of B minus micro-F1 of A."""
    a, b = _paired(a, b)
    return float(_micro_f1(b.sum(axis=0)) - _micro_f1(a.sum(axis=0)))


@functools.lru_cache(maxsize=8)
def _draws(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples x n): how often each of n documents is drawn in each bootstrap sample.

    Cached, since every comparison over the same number of documents uses the same draws (the seed is fixed):
    a bootstrap is then one matrix product, and a dashboard's hundreds of comparisons take about a second.
    """
    rng, chunks = np.random.default_rng(seed), []
    for start in range(0, samples, 256):  # chunks keep memory flat for large corpora
        rows = rng.integers(0, n, size=(min(256, samples - start), n))
        offsets = np.arange(len(rows))[:, None] * n
        chunks.append(np.bincount((rows + offsets).ravel(), minlength=rows.size).reshape(len(rows), n))
    draws = np.concatenate(chunks).astype(np.float64)  # counts are exact in float64
    draws.flags.writeable = False
    return draws


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, samples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(difference, low, high): micro-F1(B) - micro-F1(A) with a percentile bootstrap CI over documents."""
    a, b = _paired(a, b)
    return bootstrap_difference(a, b, _micro_f1, samples=samples, seed=seed, confidence=confidence)


def ratio_of_sums(counts: np.ndarray) -> np.ndarray:
    """Summed numerator / summed denominator along the last axis (columns 0 and 1); 0 where nothing is counted."""
    top, bottom = counts[..., 0], counts[..., 1]
    return np.divide(top, bottom, out=np.zeros(np.shape(bottom), dtype=float), where=bottom > 0)


def bootstrap_difference(
    a: np.ndarray, b: np.ndarray, statistic, samples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(difference, low, high): statistic(B) - statistic(A) over summed per-document counts (documents x k,
    paired by row), with a percentile bootstrap CI over documents; `statistic` maps sums (..., k) to values."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"A paired bootstrap needs two (documents x k) arrays of one shape, got {a.shape}, {b.shape}")
    if not len(a):
        return 0.0, 0.0, 0.0
    k = a.shape[1]
    sums = _draws(len(a), samples, seed) @ np.concatenate([a, b], axis=1).astype(np.float64)
    differences = statistic(sums[:, k:]) - statistic(sums[:, :k])
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    observed = statistic(b.sum(axis=0).astype(np.float64)) - statistic(a.sum(axis=0).astype(np.float64))
    return float(observed), float(low), float(high)


def randomization_test(a: np.ndarray, b: np.ndarray, samples: int = 10000, seed: int = 0) -> float:
    """Two-sided approximate randomisation p-value for the micro-F1 difference (documents swapped at random)."""
    a, b = _paired(a, b)
    observed = abs(micro_f1_difference(a, b))
    rng = np.random.default_rng(seed)
    at_least = 0
    for start in range(0, samples, 256):
        swap = rng.random((min(256, samples - start), len(a), 1)) < 0.5
        shuffled_a = np.where(swap, b, a).sum(axis=1)
        shuffled_b = np.where(swap, a, b).sum(axis=1)
        # A small tolerance so that float noise does not decide ties with the observed difference.
        at_least += int(np.sum(np.abs(_micro_f1(shuffled_b) - _micro_f1(shuffled_a)) >= observed - 1e-12))
    return (at_least + 1) / (samples + 1)
