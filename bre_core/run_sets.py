"""Many runs at once: finding the complete run folders under some folders, tabulating them, comparing two."""

from __future__ import annotations

import threading
from pathlib import Path

from bre_core.errors import RunError
from bre_core.results import (
    MANIFEST,
    METRICS,
    PARTIAL,
    PREDICTIONS,
    PredictionRecord,
    Run,
    on_shared_protocol,
    read_run,
    with_judgement,
)
from bre_core.tasks import get_task

RUN_COLUMNS = [
    "run",
    "model",
    "domain",
    "ift",
    "family",
    "params",
    "architecture",
    "dataset",
    "split",
    "setting",
    "seed",
    "micro_f1",
    "macro_f1",
    "precision",
    "recall",
    "parse_failures",
    "documents",
    "path",
]


def find_runs(*roots: str | Path | None) -> tuple[list[Run], list[str]]:
    """Every complete run folder under `roots` (searched recursively), and a warning for each folder skipped.

    A folder with predictions but no complete manifest (interrupted, still running) or with damaged files is
    skipped with a warning that says which and why, so that one bad folder never hides the others.
    """
    runs, warnings, seen = [], [], set()
    for root in roots:
        if root is None or not Path(root).is_dir():
            continue
        candidates = {p.parent for pattern in (MANIFEST, PARTIAL, PREDICTIONS) for p in Path(root).rglob(pattern)}
        for folder in sorted(candidates):
            if folder.resolve() in seen or folder.name == "checkpoint":
                continue
            seen.add(folder.resolve())
            try:
                runs.append(_read_unless_unchanged(folder))
            except RunError as exc:
                warnings.append(str(exc))
    return runs, warnings


# Runs already read, by folder, with the size and time of their files: a page load of the app re-lists the runs,
# and reading every prediction of hundreds of runs again would take tens of seconds each time.
_READ: dict[Path, tuple[tuple, Run]] = {}
_READ_LOCK = threading.Lock()


def _read_unless_unchanged(folder: Path) -> Run:
    key, signature = folder.resolve(), _signature(folder)
    with _READ_LOCK:
        known = _READ.get(key)
    if known is not None and signature and known[0] == signature:
        return known[1]
    run = read_run(folder)
    with _READ_LOCK:
        _READ[key] = (signature, run)
    return run


def _signature(folder: Path) -> tuple:
    """Size and modification time of a run's files: any rewrite (atomic, so a new file) changes it."""
    signature = []
    for name in (MANIFEST, METRICS, PREDICTIONS):
        try:
            stat = (folder / name).stat()
        except OSError:
            return ()  # incomplete: never taken from memory
        signature.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


def runs_table(runs: list[Run]):
    """One row per run: the model's metadata, dataset, setting, seed and scores (a pandas DataFrame).

    micro_f1, macro_f1, precision and recall are those of the protocol each run is seen under (`protocol`);
    micro_f1_<name> and recall_<name> those of every protocol, empty where a run was not scored with it.
    """
    import pandas as pd

    from bre_core.tasks import PROTOCOLS

    rows = []
    for run in runs:
        model, micro = run.manifest.get("model", {}), run.metrics.get("micro", {})
        scores = dict(run.scores) or {run.protocol: run.metrics}
        by_protocol = {}
        for name in PROTOCOLS:
            block = (scores.get(name) or {}).get("micro") or {}
            by_protocol |= {f"micro_f1_{name}": block.get("f1"), f"recall_{name}": block.get("recall")}
        rows.append(
            {
                "run": run.name,
                "model": Path(str(model.get("name", "?"))).name,
                "domain": model.get("domain"),
                "ift": model.get("ift"),
                "family": model.get("family"),
                "params": model.get("params"),
                "architecture": model.get("architecture"),
                "dataset": run.manifest.get("dataset"),
                "split": run.manifest.get("split"),
                "setting": run.manifest.get("setting"),
                "seed": run.manifest.get("seed"),
                "micro_f1": micro.get("f1"),
                "macro_f1": run.metrics.get("macro_f1"),
                "precision": micro.get("precision"),
                "recall": micro.get("recall"),
                "parse_failures": run.metrics.get("parse_failures"),
                "documents": run.metrics.get("documents"),
                "protocol": run.protocol,
                **by_protocol,
                "path": str(run.path),
            }
        )
    columns = RUN_COLUMNS[:-1] + ["protocol", *(f"{m}_{n}" for n in PROTOCOLS for m in ("micro_f1", "recall")), "path"]
    return pd.DataFrame(rows, columns=columns)


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
    import numpy as np

    from bre_core.scoring import paired_bootstrap, randomization_test

    run_a, run_b = on_shared_protocol(run_a, run_b)
    for key in ("dataset", "split", "data_hash"):
        if run_a.manifest.get(key) != run_b.manifest.get(key):
            raise RunError(
                f"{run_a.path} and {run_b.path} are over different documents ({key}: "
                f"{run_a.manifest.get(key)!r} vs {run_b.manifest.get(key)!r}); compare runs of the same "
                f"dataset, split and data."
            )
    ids_a, ids_b = [p.id for p in run_a.predictions], [p.id for p in run_b.predictions]
    if ids_a != ids_b:
        raise RunError(f"{run_a.path} and {run_b.path} list different documents; compare runs over the same ones.")
    counts_a = np.array([[p.tp, p.fp, p.fn] for p in run_a.predictions], dtype=np.int64).reshape(-1, 3)
    counts_b = np.array([[p.tp, p.fp, p.fn] for p in run_b.predictions], dtype=np.int64).reshape(-1, 3)
    difference, low, high = paired_bootstrap(counts_a, counts_b, samples=samples, seed=seed)
    p_value = randomization_test(counts_a, counts_b, samples=max(samples, 1000), seed=seed)

    agreement = {
        "documents": len(ids_a),
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
            "model": run.manifest["model"]["name"],
            "micro_f1": micro["f1"],
            "precision": micro["precision"],
            "recall": micro["recall"],
            "macro_f1": run.metrics["macro_f1"],
        }

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
    }
