"""The run folder on disk: its files, written atomically and resumably, and read back checked."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from bre_core.atomic import write_text_atomic
from bre_core.datasets.files import iter_lines
from bre_core.errors import DataError, DiskFullError, RunError, disk_full
from bre_core.runs import schema
from bre_core.runs.records import LEGACY, PredictionRecord
from bre_core.runs.run import Run
from bre_core.tasks.protocol import HEADLINE, PROTOCOLS

# One folder per run: manifest.json (what was run, how, on what), metrics.json, predictions.jsonl, counts.json
# (each document's TP/FP/FN per protocol; optional, redundant: runs/counts_file.py).
# manifest.json is written last, so a folder without it (or with status other than "complete") is a
# run in progress or an interrupted one, never read as complete. While a run is going, finished
# documents are appended to predictions.partial.jsonl, which is what a resumed run starts from.

MANIFEST, METRICS, PREDICTIONS, PARTIAL = (
    "manifest.json",
    "metrics.json",
    "predictions.jsonl",
    "predictions.partial.jsonl",
)
MAX_FILE_BYTES = 100 * 2**20  # a run file larger than this is skipped: the study's largest are a few MiB
PENDING = "manifest.pending.json"  # what an unfinished run is computing: a resume must compute the same


def run_name(model: str, dataset: str, split: str, setting: str = "zero-shot", seed: int | None = None) -> str:
    """A folder name that sorts runs by model, dataset, split and setting; safe on every file system.

    >>> run_name("flan-t5-base", "chemprot", "test", "k16", 0)
    'flan-t5-base__chemprot__test__k16__seed0'
    >>> run_name("runs/my model", "cdr", "test")
    'runs-my-model__cdr__test__zero-shot'
    """
    parts = [model, dataset, split, setting] + ([f"seed{seed}"] if seed is not None else [])
    return "__".join(re.sub(r"[^A-Za-z0-9._-]+", "-", part) for part in parts)


def is_complete(path: str | Path) -> bool:
    """Whether the folder's manifest.json (a regular file) says the run is complete."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():  # follows links: a pipe or a device is not a file
        return False
    try:
        return read_json(manifest).get("status") == "complete"
    except (RunError, ValueError, AttributeError):
        return False


def read_run(path: str | Path, lazy: bool = False) -> Run:
    """A complete run folder; an incomplete or damaged one is a RunError saying what is wrong.

    `lazy`: predictions.jsonl is read when first needed (a damaged one is a RunError then), as the app reads."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder.")
    if not is_complete(path):
        state = "interrupted or still running (no complete manifest.json)"
        if (path / PARTIAL).is_file():
            state += "; run the same evaluate command again to resume it"
        raise RunError(f"{path}: not a complete run: {state}.")
    try:
        manifest = schema.manifest(read_json(path / MANIFEST), MANIFEST)
        scores, headline = metrics_by_protocol(read_json(path / METRICS))
        if lazy:  # the file's kind and size are checked now, its lines when first needed (RecordsFile)
            from bre_core.runs.lazy import RecordsFile

            regular_size(path / PREDICTIONS)
            return Run(path, manifest, scores[headline], RecordsFile(path, headline), headline, scores)
    except RunError:
        raise
    except (OSError, ValueError, DataError) as exc:
        raise RunError(f"{path}: damaged run folder ({exc}). Delete it and run it again.") from None
    return Run(path, manifest, scores[headline], read_records(path, headline), headline, scores)


def read_records(path: Path, headline: str) -> tuple[PredictionRecord, ...]:
    """The records of a run folder's predictions.jsonl seen under `headline`; a damaged file is a RunError."""
    try:
        predictions, seen = [], set()
        for number, line in enumerate(read_regular(path / PREDICTIONS).splitlines(), start=1):
            if not line.strip():
                continue
            record = PredictionRecord.from_json(_json_line(line), headline, f"{PREDICTIONS} line {number}")
            if record.id in seen:
                raise schema.SchemaError(f"{PREDICTIONS} line {number}: document id {record.id!r} appears twice")
            seen.add(record.id)
            predictions.append(record)
    except RunError:
        raise
    except (OSError, ValueError, DataError) as exc:
        raise RunError(f"{path}: damaged run folder ({exc}). Delete it and run it again.") from None
    if any(record.protocol != headline for record in predictions):
        raise RunError(f"{path}: damaged run folder (predictions lack the {headline} protocol's judgement).")
    return tuple(predictions)


def regular_size(path: Path) -> int:
    """A run file's size; a RunError unless it is a regular file (not a pipe or a device) of at most MAX_FILE_BYTES."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise RunError(f"{path.parent}: damaged run folder (no {path.name}). Delete it and run it again.") from None
    if not stat.S_ISREG(status.st_mode):
        raise RunError(f"{path}: not a regular file (a pipe, a device or a folder); a run folder holds plain files.")
    if status.st_size > MAX_FILE_BYTES:
        raise RunError(
            f"{path}: {status.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes for a run file; skipped."
        )
    return status.st_size


def read_regular_bytes(path: Path) -> bytes:
    """A run file's bytes, checked as regular_size checks it."""
    regular_size(path)
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def read_regular(path: Path) -> str:
    """A run file's text: a regular file (not a pipe or a device) of at most MAX_FILE_BYTES, valid UTF-8."""
    return read_regular_bytes(path).decode("utf-8")


def read_json(path: Path):
    return _json_line(read_regular(path))


def _json_line(text: str):
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def metrics_by_protocol(metrics: dict) -> tuple[dict[str, dict], str]:
    """({protocol: metrics block}, headline protocol) from metrics.json, old (one flat block) or new.

    Run folders written before protocols hold the corrected protocol's metrics at the top level. Entries that
    belong to no protocol (a finetuned run's validation curve) are given to every block; entries written per
    protocol beside the blocks ({"study": ..., "corrected": ...}: grounding, relaxed, taxonomy) give each block
    its own.
    """
    schema.expect(metrics, dict, METRICS)
    if "protocol" not in metrics:
        return {LEGACY: schema.metrics_block(metrics, METRICS)}, LEGACY
    shared = {key: value for key, value in metrics.items() if key not in PROTOCOLS and key != "protocol"}
    scores = {
        name: {
            **schema.metrics_block(metrics[name], f"{METRICS}.{name}"),
            **{key: _for_protocol(value, name) for key, value in shared.items()},
        }
        for name in PROTOCOLS
        if name in metrics
    }
    headline = metrics["protocol"]
    if headline not in scores:
        raise ValueError(f"metrics.json names the headline protocol {headline!r} but has no block for it")
    return scores, headline


def _for_protocol(value, protocol: str):
    """A protocol's part of an entry written per protocol; any other entry as it is."""
    if isinstance(value, dict) and value and set(value) <= set(PROTOCOLS):
        return value.get(protocol)
    return value


def metrics_json(scores: Mapping[str, dict], extra: Mapping | None = None) -> dict:
    """metrics.json: the headline protocol's name, one block per protocol, then `extra` (e.g. a training curve)."""
    return {"protocol": HEADLINE, **scores, **(extra or {})}


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
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "a", encoding="utf-8", newline="\n") as stream:
            stream.writelines(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as exc:
        # A torn last line is dropped when the run resumes (read_partial), so what came before is safe.
        if disk_full(exc):
            raise DiskFullError(partial) from exc
        raise


def finalize_run(path: str | Path, manifest: dict, metrics: dict, records: list[PredictionRecord]) -> Path:
    """Write predictions and metrics, then the manifest that marks the run complete; drop the partial file."""
    from bre_core.runs.counts_file import COUNTS, counts_json

    path = Path(path)
    rows = [r.to_json() for r in records]
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    write_text_atomic(path / PREDICTIONS, text)
    # each document's counts, small, for the app's paired tests (runs/counts_file.py); before the manifest
    write_text_atomic(path / COUNTS, json.dumps(counts_json(rows, len(text.encode("utf-8")))) + "\n")
    write_text_atomic(path / METRICS, json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(path / MANIFEST, json.dumps({**manifest, "status": "complete"}, indent=2) + "\n")
    (path / PARTIAL).unlink(missing_ok=True)
    return path
