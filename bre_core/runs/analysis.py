"""A run's grounding, relaxed score and error classes, as stored, recomputed from the documents, or unavailable."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bre_core.beyond_exact import KEYS, grounding_counts, summarise
from bre_core.errors import BreError
from bre_core.runs.evaluate import documents_hash, record_analysis
from bre_core.runs.run import Run
from bre_core.schema import Document

UNAVAILABLE = (
    "unavailable: the run was written before grounding and error classes were recorded, and its documents "
    "(the same data, found under --data-dir or $BRE_DATA_DIR) are not at hand to compute them"
)


def run_documents_if_at_hand(run: Run, data_dir=None) -> list[Document] | None:
    """The documents a run was computed on, when the corpus is at hand with the same content; else None."""
    from bre_core.datasets import STUDY_SPLIT, load_documents

    manifest = run.manifest
    try:
        seed = manifest.get("split_seed")
        documents = load_documents(manifest.dataset, manifest.split, data_dir, split_seed=seed or STUDY_SPLIT)
    except (BreError, OSError, ValueError, KeyError):
        return None
    by_id = {d.id: d for d in documents}
    chosen = [by_id.get(p.id) for p in run.predictions]
    if any(d is None for d in chosen):
        return None
    from bre_core.tasks import get_task

    if manifest.get("data_hash") not in (None, documents_hash(get_task(manifest.dataset), chosen)):
        return None
    return chosen


def run_analyses(run: Run, documents: Sequence[Document] | None = None) -> list[dict] | None:
    """Each record's analysis under the run's protocol: stored, else computed from `documents`; None if neither."""
    analyses = []
    for i, record in enumerate(run.predictions):
        stored = record.analysis.get(run.protocol)
        if stored is not None and len(stored["relation_classes"]) == len(record.relations):
            analyses.append(stored)
        elif documents is not None and i < len(documents) and documents[i].id == record.id:
            analyses.append(record_analysis(run.manifest.dataset, documents[i], record, run.protocol))
        else:
            return None
    return analyses


def run_summary(run: Run, documents: Sequence[Document] | None = None) -> dict | None:
    """{"grounding", "relaxed", "taxonomy"} of the run under its protocol: metrics.json's, else summed from the
    records (or the documents); None when unavailable."""
    stored = {key: run.metrics.get(key) for key in KEYS}
    if all(isinstance(block, dict) for block in stored.values()):  # the run's protocol's part, as read
        return stored
    analyses = run_analyses(run, documents)
    return None if analyses is None else summarise(analyses)


def hallucination_counts(analyses: Sequence[dict]) -> np.ndarray:
    """(documents x 2): absent entities and predicted entities per document."""
    return np.array([grounding_counts(a) for a in analyses], dtype=np.int64).reshape(-1, 2)


def hallucination_comparison(run_a: Run, run_b: Run, *, samples: int = 1000, seed: int = 0, data_dir=None) -> dict:
    """Hallucination rates of two runs over the same documents and B - A with a paired bootstrap 95% CI.

    {"a", "b", "difference_b_minus_a", "ci95"}, or {"unavailable": why} for runs that cannot be analysed.
    """
    from bre_core.scoring import bootstrap_difference, ratio_of_sums

    sides = []
    for run in (run_a, run_b):
        analyses = run_analyses(run)
        if analyses is None:
            analyses = run_analyses(run, run_documents_if_at_hand(run, data_dir))
        if analyses is None:
            return {"unavailable": f"{run.path}: {UNAVAILABLE}"}
        sides.append(hallucination_counts(analyses))
    a, b = sides
    difference, low, high = bootstrap_difference(a, b, ratio_of_sums, samples=samples, seed=seed)
    rate_a, rate_b = (float(ratio_of_sums(side.sum(axis=0))) for side in sides)
    return {"a": rate_a, "b": rate_b, "difference_b_minus_a": difference, "ci95": [low, high]}
