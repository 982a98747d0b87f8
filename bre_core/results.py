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
