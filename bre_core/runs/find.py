"""Many runs at once: the complete run folders under some folders (read once, again when they change), tabulated."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from bre_core.errors import RunError
from bre_core.runs.folder import MANIFEST, METRICS, PARTIAL, PREDICTIONS, read_run
from bre_core.runs.run import Run

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


# Extra views beside the protocol's score, as metrics.json stores them (empty for runs written before them).
BEYOND_EXACT_COLUMNS = ["hallucination_rate", "relaxed_f1"]


def _beyond_exact_columns(run: Run) -> dict:
    def stored(key: str) -> dict:
        block = run.metrics.get(key)  # the run's protocol's part (runs/folder.metrics_by_protocol)
        return block if isinstance(block, dict) else {}

    rate, f1 = stored("grounding").get("hallucination_rate"), stored("relaxed").get("f1")
    number = (int, float)
    return {
        "hallucination_rate": rate if isinstance(rate, number) else None,
        "relaxed_f1": f1 if isinstance(f1, number) else None,
    }


class RunReader:
    """Reads run folders and keeps the last `max_runs` it read, reading one again only when its files change.

    A page load of the app re-lists the runs, and reading every prediction of hundreds of runs again would take
    tens of seconds each time. Safe to share between threads.
    """

    def __init__(self, max_runs: int = 2000, lazy: bool = False):
        self.max_runs, self.lazy = max_runs, lazy  # lazy: predictions read when first needed (runs/lazy.py)
        self._read: OrderedDict[Path, tuple[tuple, Run]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, folder: Path) -> Run:
        key, signature = folder.resolve(), _signature(folder)
        with self._lock:
            known = self._read.get(key)
            if known is not None and signature and known[0] == signature:
                self._read.move_to_end(key)
                return known[1]
        run = read_run(folder, lazy=self.lazy)
        with self._lock:
            self._read[key] = (signature, run)
            self._read.move_to_end(key)
            while len(self._read) > self.max_runs:
                self._read.popitem(last=False)
        return run

    def clear(self) -> None:
        with self._lock:
            self._read.clear()


def find_runs(*roots: str | Path | None, reader: RunReader | None = None) -> tuple[list[Run], list[str]]:
    """Every complete run folder under `roots` (searched recursively), and a warning for each folder skipped.

    A folder with predictions but no complete manifest (interrupted, still running) or with damaged files is
    skipped with a warning that says which and why, so that one bad folder never hides the others. `reader`
    keeps runs read before (the app's); without one every folder is read afresh.
    """
    reader = reader or RunReader()
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
                runs.append(reader.read(folder))
            except RunError as exc:
                warnings.append(str(exc))
    return runs, warnings


def _signature(folder: Path) -> tuple:
    """Size and modification time of a run's files: any rewrite (atomic, so a new file) changes it."""
    signature = []
    for name in (MANIFEST, METRICS, PREDICTIONS):
        try:
            status = (folder / name).stat()
        except OSError:
            return ()  # incomplete: never taken from memory
        signature.append((status.st_ino, status.st_mtime_ns, status.st_size))
    return tuple(signature)


def gpu_seconds_per_1k(manifest) -> float | None:
    """Generation cost from a manifest: GPU-seconds (wall time x GPUs used) per 1,000 documents generated; None for a
    run on a CPU or without timings (a resumed run counts the documents it generated itself)."""
    environment, timings = manifest.get("environment") or {}, manifest.get("timings") or {}
    gpus = environment.get("gpus", 1 if str(environment.get("device", "")).startswith("cuda") else 0)
    seconds, documents = timings.get("generation_seconds"), timings.get("documents_generated")
    if not isinstance(gpus, int) or gpus < 1 or not isinstance(seconds, (int, float)) or not documents:
        return None
    return round(seconds * gpus / documents * 1000, 3)


def runs_table(runs: list[Run]):
    """One row per run: the model's metadata, dataset, setting, seed and scores (a pandas DataFrame).

    micro_f1, macro_f1, precision and recall are those of the protocol each run is seen under (`protocol`);
    micro_f1_<name> and recall_<name> those of every protocol, empty where a run was not scored with it.
    """
    import pandas as pd

    from bre_core.tasks import PROTOCOLS

    rows = []
    for run in runs:
        model, micro = run.manifest.model, run.metrics.get("micro", {})
        scores = dict(run.scores) or {run.protocol: run.metrics}
        by_protocol = {}
        for name in PROTOCOLS:
            block = (scores.get(name) or {}).get("micro") or {}
            by_protocol |= {f"micro_f1_{name}": block.get("f1"), f"recall_{name}": block.get("recall")}
        rows.append(
            {
                "run": run.name,
                "model": run.manifest.model_label,
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
                "gpu_s_per_1k": gpu_seconds_per_1k(run.manifest),
                "protocol": run.protocol,
                **by_protocol,
                **_beyond_exact_columns(run),
                "path": str(run.path),
            }
        )
    columns = RUN_COLUMNS[:-1] + [
        "gpu_s_per_1k",
        "protocol",
        *(f"{m}_{n}" for n in PROTOCOLS for m in ("micro_f1", "recall")),
    ]
    columns += [*BEYOND_EXACT_COLUMNS, "path"]
    return pd.DataFrame(rows, columns=columns)
