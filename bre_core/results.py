"""What models produced, on disk: prediction files and run folders (manifest, metrics, predictions)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from bre_core.atomic import write_text_atomic
from bre_core.datasets.files import iter_lines
from bre_core.errors import DataError, PredictionFileError, RunError
from bre_core.schema import ParsedRelation, ParseResult


def read_predictions(path: str | Path, known_ids: Collection[str]) -> dict[str, str]:
    """{document id: output} from JSON lines `{"id": ..., "output": ...}`.

    An unreadable line, a missing key, an id that is not among `known_ids` or an id given twice is an
    error naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise PredictionFileError(f"{path}: no such predictions file.")
    known = set(known_ids)
    outputs: dict[str, str] = {}
    try:
        lines = list(iter_lines(path))
    except DataError as exc:
        raise PredictionFileError(str(exc)) from None
    for number, line in lines:
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PredictionFileError(f"{where}: not valid JSON ({exc.msg}).") from None
        if not isinstance(row, dict) or "id" not in row or "output" not in row:
            raise PredictionFileError(f'{where}: expected an object with keys "id" and "output", found {line[:120]!r}.')
        doc_id, output = str(row["id"]), row["output"]
        if not isinstance(output, str):
            raise PredictionFileError(f'{where}: "output" must be a string, found {type(output).__name__}.')
        if doc_id not in known:
            sample = ", ".join(sorted(known)[:3])
            raise PredictionFileError(
                f"{where}: id '{doc_id}' is not a document of this split "
                f"(ids look like: {sample}, ...). Check --dataset and --split."
            )
        if doc_id in outputs:
            raise PredictionFileError(f"{where}: id '{doc_id}' appears a second time.")
        outputs[doc_id] = output
    return outputs


# --- run folders ----------------------------------------------------------------------------------
# One folder per run: manifest.json (what was run, how, on what), metrics.json, predictions.jsonl.
# manifest.json is written last, so a folder without it (or with status other than "complete") is a
# run in progress or an interrupted one, never read as complete. While a run is going, finished
# documents are appended to predictions.partial.jsonl, which is what a resumed run starts from.

MANIFEST, METRICS, PREDICTIONS, PARTIAL = (
    "manifest.json",
    "metrics.json",
    "predictions.jsonl",
    "predictions.partial.jsonl",
)


@dataclass(frozen=True)
class PredictionRecord:
    """One document's generation, what the parser read from it, and its cost."""

    id: str
    output: str
    relations: tuple[ParsedRelation, ...] = ()
    unreadable: int = 0
    unknown_labels: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    # Against the gold, so that a run can be browsed and compared without the corpus at hand:
    correct: tuple[bool, ...] = ()  # one flag per relation
    missed: tuple[dict, ...] = ()  # gold relations not found: {"label", "args": display names, "key"}
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def parse_result(self) -> ParseResult:
        return ParseResult(relations=self.relations, unreadable=self.unreadable, unknown_labels=self.unknown_labels)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "output": self.output,
            "relations": [{"label": r.label, "args": list(r.args)} for r in self.relations],
            "parse_status": "ok" if not (self.unreadable or self.unknown_labels) else "partial",
            "unreadable": self.unreadable,
            "unknown_labels": self.unknown_labels,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": self.seconds,
            "correct": list(self.correct),
            "missed": list(self.missed),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }

    @classmethod
    def from_json(cls, row: dict) -> "PredictionRecord":
        return cls(
            id=str(row["id"]),
            output=str(row["output"]),
            relations=tuple(
                ParsedRelation(str(r["label"]), tuple(str(a) for a in r["args"])) for r in row.get("relations", [])
            ),
            unreadable=int(row.get("unreadable", 0)),
            unknown_labels=int(row.get("unknown_labels", 0)),
            input_tokens=int(row.get("input_tokens", 0)),
            output_tokens=int(row.get("output_tokens", 0)),
            seconds=float(row.get("seconds", 0.0)),
            correct=tuple(bool(c) for c in row.get("correct", [])),
            missed=tuple(row.get("missed", [])),
            tp=int(row.get("tp", 0)),
            fp=int(row.get("fp", 0)),
            fn=int(row.get("fn", 0)),
        )


@dataclass(frozen=True)
class Run:
    path: Path
    manifest: dict
    metrics: dict
    predictions: tuple[PredictionRecord, ...]

    @property
    def name(self) -> str:
        return self.path.name


def run_name(model: str, dataset: str, split: str, setting: str = "zero-shot", seed: int | None = None) -> str:
    """A folder name that sorts runs by model, dataset, split and setting; safe on every file system."""
    parts = [model, dataset, split, setting] + ([f"seed{seed}"] if seed is not None else [])
    return "__".join(re.sub(r"[^A-Za-z0-9._-]+", "-", part) for part in parts)


def is_complete(path: str | Path) -> bool:
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("status") == "complete"
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return False


def read_run(path: str | Path) -> Run:
    """A complete run folder; an incomplete or damaged one is a RunError saying what is wrong."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder.")
    if not is_complete(path):
        state = "interrupted or still running (no complete manifest.json)"
        if (path / PARTIAL).is_file():
            state += "; run the same evaluate command again to resume it"
        raise RunError(f"{path}: not a complete run: {state}.")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        metrics = json.loads((path / METRICS).read_text(encoding="utf-8"))
        predictions = tuple(
            PredictionRecord.from_json(json.loads(line)) for _, line in iter_lines(path / PREDICTIONS) if line.strip()
        )
    except (OSError, ValueError, KeyError, TypeError, DataError) as exc:
        raise RunError(f"{path}: damaged run folder ({exc}). Delete it and run it again.") from None
    return Run(path=path, manifest=manifest, metrics=metrics, predictions=predictions)


def read_partial(path: str | Path) -> list[PredictionRecord]:
    """The documents an interrupted run finished; a torn last line (killed mid-write) is dropped."""
    partial = Path(path) / PARTIAL
    if not partial.is_file():
        return []
    records: dict[str, PredictionRecord] = {}
    for _, line in iter_lines(partial):
        try:
            record = PredictionRecord.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue  # only the last line can be torn: it is recomputed
        records[record.id] = record
    return list(records.values())


def append_partial(path: str | Path, records: list[PredictionRecord]) -> None:
    """Append finished documents durably, so that a killed run loses at most the chunk in flight."""
    partial = Path(path) / PARTIAL
    partial.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "a", encoding="utf-8", newline="\n") as stream:
        stream.writelines(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records)
        stream.flush()
        os.fsync(stream.fileno())


def finalize_run(path: str | Path, manifest: dict, metrics: dict, records: list[PredictionRecord]) -> Path:
    """Write predictions and metrics, then the manifest that marks the run complete; drop the partial file."""
    path = Path(path)
    write_text_atomic(path / PREDICTIONS, (json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records))
    write_text_atomic(path / METRICS, json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(path / MANIFEST, json.dumps({**manifest, "status": "complete"}, indent=2) + "\n")
    (path / PARTIAL).unlink(missing_ok=True)
    return path


def compare_runs(run_a: Run, run_b: Run, *, samples: int = 1000, seed: int = 0) -> dict:
    """Micro-F1 of both runs, B - A with its paired bootstrap CI and randomisation p-value, and agreement counts.

    Both runs must cover the same documents (same dataset, split and content hash); otherwise a RunError.
    """
    import numpy as np

    from bre_core.scoring import paired_bootstrap, randomization_test

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
    for a, b in zip(run_a.predictions, run_b.predictions):
        agreement["same_relations"] += set(a.relations) == set(b.relations)
        agreement["a_more_correct"] += a.tp > b.tp
        agreement["b_more_correct"] += b.tp > a.tp
        missed_a = {json.dumps(m["key"]) for m in a.missed}
        missed_b = {json.dumps(m["key"]) for m in b.missed}
        gold = a.tp + len(missed_a)  # found + missed, the same for both runs over the same gold
        agreement["gold_found_by_both"] += gold - len(missed_a | missed_b)
        agreement["gold_found_only_by_a"] += len(missed_b - missed_a)
        agreement["gold_found_only_by_b"] += len(missed_a - missed_b)
        agreement["gold_missed_by_both"] += len(missed_a & missed_b)

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
        "a": summary(run_a),
        "b": summary(run_b),
        "difference_b_minus_a": difference,
        "ci95": [low, high],
        "p_value": p_value,
        "bootstrap_samples": samples,
        "seed": seed,
        "agreement": agreement,
    }


# --- many runs ------------------------------------------------------------------------------------

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
                runs.append(read_run(folder))
            except RunError as exc:
                warnings.append(str(exc))
    return runs, warnings


def runs_table(runs: list[Run]):
    """One row per run: the model's metadata, dataset, setting, seed and scores (a pandas DataFrame)."""
    import pandas as pd

    rows = []
    for run in runs:
        model, micro = run.manifest.get("model", {}), run.metrics.get("micro", {})
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
                "path": str(run.path),
            }
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)
