"""Two runs over the same documents: which gold each found, and the paired difference under each protocol."""

from __future__ import annotations

from bre_core.errors import RunError
from bre_core.runs.records import PredictionRecord, with_judgement
from bre_core.runs.run import Run, check_same_documents, on_shared_protocol
from bre_core.tasks import get_task


def gold_agreement(a: PredictionRecord, b: PredictionRecord) -> dict[str, int]:
    """How many gold annotations of one document both records found, only A, only B, neither.

    Per key, annotations are taken in order: with n counted and A finding f_a, B f_b, min(f_a, f_b) are found by
    both (the study counts a relation annotated twice twice; each record found as many as it matched).
    """
    counts = {"found_by_both": 0, "found_only_by_a": 0, "found_only_by_b": 0, "missed_by_both": 0}
    found_a, found_b = a.gold_found(), b.gold_found()
    for key, n in (a.gold_counted() | b.gold_counted()).items():
        fa, fb = found_a[key], found_b[key]
        counts["found_by_both"] += min(fa, fb)
        counts["found_only_by_a"] += max(fa - fb, 0)
        counts["found_only_by_b"] += max(fb - fa, 0)
        counts["missed_by_both"] += n - max(fa, fb)
    return counts


def compare_under_protocols(run_a: Run, run_b: Run, *, samples: int = 1000, seed: int = 0) -> dict:
    """compare_runs under every protocol both runs were scored with: the headline's report at the top level,
    {"by_protocol": {protocol: report}} and a note for each run read as corrected (written before protocols)."""
    shared = [name for name in run_a.protocols if name in run_b.protocols]
    if not shared:
        raise RunError(f"{run_a.path} and {run_b.path} share no scoring protocol; score them again with evaluate.")
    reports = {name: compare_runs(run_a.under(name), run_b.under(name), samples=samples, seed=seed) for name in shared}
    headline = run_a.protocol if run_a.protocol in reports else shared[0]
    notes = [
        f"{run.path} was written before scoring protocols: read as the corrected protocol."
        for run in (run_a, run_b)
        if run.before_protocols
    ]
    return {**reports[headline], "by_protocol": reports, "notes": notes}


def compare_runs(run_a: Run, run_b: Run, *, samples: int = 1000, seed: int = 0) -> dict:
    """Micro-F1 of both runs, B - A with its paired bootstrap CI and randomisation p-value, and agreement counts.

    Both runs must cover the same documents (same dataset, split and content hash); otherwise a RunError.
    """
    from bre_core.scoring import paired_bootstrap, randomization_test

    run_a, run_b = on_shared_protocol(run_a, run_b)
    check_same_documents(run_a, run_b)
    counts_a, counts_b = run_a.counts(), run_b.counts()
    difference, low, high = paired_bootstrap(counts_a, counts_b, samples=samples, seed=seed)
    p_value = randomization_test(counts_a, counts_b, samples=max(samples, 1000), seed=seed)

    agreement = {
        "documents": len(run_a.predictions),
        "same_relations": 0,
        "a_more_correct": 0,
        "b_more_correct": 0,
        "gold_found_by_both": 0,
        "gold_found_only_by_a": 0,
        "gold_found_only_by_b": 0,
        "gold_missed_by_both": 0,
    }
    task = get_task(run_a.manifest["dataset"])
    for a, b in zip(run_a.predictions, run_b.predictions):
        a, b = with_judgement(a, task), with_judgement(b, task)
        agreement["same_relations"] += set(a.relations) == set(b.relations)
        agreement["a_more_correct"] += a.tp > b.tp
        agreement["b_more_correct"] += b.tp > a.tp
        for outcome, n in gold_agreement(a, b).items():
            agreement[f"gold_{outcome}"] += n

    def summary(run: Run) -> dict:
        micro = run.metrics["micro"]
        return {
            "run": str(run.path),
            "model": run.manifest.model["name"],
            "micro_f1": micro["f1"],
            "precision": micro["precision"],
            "recall": micro["recall"],
            "macro_f1": run.metrics["macro_f1"],
        }

    from bre_core.runs.analysis import hallucination_comparison

    return {
        "dataset": run_a.manifest["dataset"],
        "split": run_a.manifest["split"],
        "protocol": run_a.protocol,
        "a": summary(run_a),
        "b": summary(run_b),
        "difference_b_minus_a": difference,
        "ci95": [low, high],
        "p_value": p_value,
        "bootstrap_samples": samples,
        "seed": seed,
        "agreement": agreement,
        "hallucination_rate": hallucination_comparison(run_a, run_b, samples=samples, seed=seed),
    }
