"""Paired differences pooled over seeds: the mean of B − A over a setting's seeds, a CI over seeds and documents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bre_core.analysis import matched_pairs, setting_rank
from bre_core.runs import Run
from bre_core.scoring import _draws, _micro_f1

POOLED_COLUMNS = ["pair", "a", "b", "dataset", "split", "setting", "seeds", "documents", "a_f1", "b_f1"]
POOLED_COLUMNS += ["difference", "low", "high", "significant", "protocol"]


def pooled_bootstrap(
    seeds: Sequence[tuple[np.ndarray, np.ndarray]], samples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean difference, low, high) of micro-F1(B) − micro-F1(A) over seeds, each seed a pair of (documents x 3)
    count arrays over the same documents.

    Each bootstrap sample draws the documents (the same draw for every seed: the seeds share the test documents)
    and the seeds, with replacement, and averages the drawn seeds' differences: a two-level percentile CI. With
    one seed it is scoring.paired_bootstrap's interval.
    """
    n = len(seeds[0][0])
    if not n:
        return 0.0, 0.0, 0.0
    stacked = np.concatenate([np.concatenate([a, b], axis=1) for a, b in seeds], axis=1).astype(np.float64)
    sums = (_draws(n, samples, seed) @ stacked).reshape(samples, len(seeds), 6)
    differences = _micro_f1(sums[..., 3:]) - _micro_f1(sums[..., :3])  # samples x seeds
    if len(seeds) > 1:
        chosen = np.random.default_rng(seed + 1).integers(0, len(seeds), size=(samples, len(seeds)))
        differences = np.take_along_axis(differences, chosen, axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(differences.mean(axis=1), [tail, 100 - tail])
    observed = [_micro_f1(b.sum(axis=0)) - _micro_f1(a.sum(axis=0)) for a, b in seeds]
    return float(np.mean(observed)), float(low), float(high)


def pooled_differences(
    runs: Sequence[Run],
    pairs: Sequence[Sequence[str]],
    *,
    settings: Iterable[str] | None = None,
    samples: int = 1000,
    seed: int = 0,
    protocol: str | None = None,
) -> pd.DataFrame:
    """One row per pair, dataset, split and setting: B − A averaged over the seeds both models have, its CI over
    seeds and documents, n (seeds, documents) and whether the CI excludes 0. Notes and skipped pairs as
    analysis.pair_differences gives them (`frame.attrs`)."""
    found, skipped, notes = matched_pairs(runs, pairs, settings, protocol)
    groups: dict[tuple, list] = {}
    for order, name_a, name_b, dataset, split, setting, _, run_a, run_b, used in found:
        groups.setdefault((order, name_a, name_b, dataset, split, setting, used), []).append((run_a, run_b))
    rows = []
    for (order, name_a, name_b, dataset, split, setting, used), matched in groups.items():
        counts = [(run_a.counts(), run_b.counts()) for run_a, run_b in matched]
        difference, low, high = pooled_bootstrap(counts, samples=samples, seed=seed)
        rows.append(
            {
                "pair": f"{name_b} − {name_a}",
                "a": name_a,
                "b": name_b,
                "dataset": dataset,
                "split": split,
                "setting": setting,
                "seeds": len(matched),
                "documents": len(counts[0][0]),
                "a_f1": float(np.mean([a.metrics.get("micro", {}).get("f1") or 0.0 for a, _ in matched])),
                "b_f1": float(np.mean([b.metrics.get("micro", {}).get("f1") or 0.0 for _, b in matched])),
                "difference": difference,
                "low": low,
                "high": high,
                "significant": bool(low > 0 or high < 0),
                "protocol": used,
                "_pair": order,
                "_setting": setting_rank(setting),
            }
        )
    frame = pd.DataFrame(rows, columns=POOLED_COLUMNS + ["_pair", "_setting"])
    frame = frame.sort_values(["_setting", "setting", "dataset", "split", "_pair"])
    frame = frame[POOLED_COLUMNS].reset_index(drop=True)
    frame.attrs["skipped"] = skipped
    frame.attrs["notes"] = notes
    return frame
