"""What models produced, on disk: prediction files and run folders (manifest, metrics, predictions)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bre_core import run_schema as schema
from bre_core.atomic import write_text_atomic
from bre_core.datasets.files import iter_lines
from bre_core.errors import DataError, DiskFullError, PredictionFileError, RunError, disk_full
from bre_core.schema import ParsedRelation, ParseResult
from bre_core.scoring import judge, key_from_json, key_to_json
from bre_core.tasks import get_task
from bre_core.tasks.protocol import CORRECTED, HEADLINE, PROTOCOLS


def read_predictions(path: str | Path, known_ids: Collection[str]) -> dict[str, str]:
    """{document id: output} from JSON lines `{"id": ..., "output": ...}`.

    An unreadable line, a missing key, an id that is not among `known_ids` or an id given twice is an
    error naming the file and line.
    """
    path = Path(path)
    if not path.exists():
        raise PredictionFileError(f"{path}: no such predictions file.")
    if not path.is_file():  # a pipe or a device would block or never end
        raise PredictionFileError(f"{path}: not a regular file (a pipe, a device or a folder); give a JSON-lines file.")
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
        except RecursionError:
            raise PredictionFileError(
                f'{where}: JSON nested too deeply; expected {{"id": ..., "output": ...}}.'
            ) from None
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
MAX_FILE_BYTES = 100 * 2**20  # a run file larger than this is skipped: the study's largest are a few MiB


# What a record holds under one protocol: the relations read and their judgement against the gold.
JUDGED_FIELDS = (
    "relations",
    "unreadable",
    "unknown_labels",
    "correct",
    "keys",
    "matched",
    "found",
    "missed",
    "tp",
    "fp",
    "fn",
)
LEGACY = CORRECTED.name  # run folders written before protocols hold one reading: the corrected protocol's


@dataclass(frozen=True)
class PredictionRecord:
    """One document's generation, what the parser read from it under `protocol`, and its cost.

    `judgements` holds the reading under every protocol the record was scored with ({protocol: JSON
    block of JUDGED_FIELDS}); the fields below mirror the one of `protocol`, so that a reader sees one.
    """

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
    keys: tuple[tuple[tuple, ...], ...] = ()  # per relation: its scoring keys (empty in runs older than keys)
    matched: tuple[tuple[tuple, ...], ...] = ()  # per relation: the gold keys it matched
    found: tuple[dict, ...] = ()  # gold relations found: {"label", "args": display names, "key": a tuple}
    missed: tuple[dict, ...] = ()  # gold relations not found, likewise
    tp: int = 0
    fp: int = 0
    fn: int = 0
    protocol: str = LEGACY
    judgements: Mapping[str, dict] = field(default_factory=dict, repr=False, compare=False)

    def parse_result(self) -> ParseResult:
        return ParseResult(relations=self.relations, unreadable=self.unreadable, unknown_labels=self.unknown_labels)

    def gold_found(self) -> Counter:
        """{gold key: annotations of it found} (under the study's protocol a key can be annotated twice)."""
        return Counter(entry["key"] for entry in self.found)

    def gold_counted(self) -> Counter:
        """{gold key: annotations of it counted}, found or missed."""
        return Counter(entry["key"] for entry in (*self.found, *self.missed))

    def under(self, protocol: str) -> PredictionRecord | None:
        """The record as read under `protocol`; None when it was not scored with it (written before protocols)."""
        if protocol == self.protocol:
            return self
        block = self.judgements.get(protocol)
        return None if block is None else replace(self, protocol=protocol, **_judged_from_json(block))

    def to_json(self) -> dict:
        judgements = dict(self.judgements) or {self.protocol: _judged_to_json(self)}
        top = judgements.get(LEGACY) or judgements[self.protocol]  # readers before protocols read the top level
        return {
            "id": self.id,
            "output": self.output,
            **top,
            "parse_status": "ok" if not (top["unreadable"] or top["unknown_labels"]) else "partial",
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": self.seconds,
            **{name: block for name, block in judgements.items() if block is not top},
        }

    @classmethod
    def from_json(cls, row: dict, protocol: str | None = None, where: str = "record") -> PredictionRecord:
        """A record from its JSON line, read under `protocol` (default: the study's where the line has it).

        A line that does not match the schema (a missing key, a value of the wrong type) is a SchemaError
        naming where."""
        common = schema.record(row, where)
        judgements = {LEGACY: schema.judged_block(row, where)}
        for name in PROTOCOLS:
            if name != LEGACY and name in row:
                block = schema.expect(row[name], dict, f"{where}.{name}")
                judgements[name] = schema.judged_block(block, f"{where}.{name}")
        protocol = protocol if protocol in judgements else (HEADLINE if HEADLINE in judgements else LEGACY)
        return cls(**common, protocol=protocol, judgements=judgements, **_judged_from_json(judgements[protocol]))


def judged_json(relations, unreadable: int, unknown_labels: int, verdict=None) -> dict:
    """One protocol's block of a record as JSON: the relations read and, against a gold, their judgement."""

    def gold(entries) -> list:
        return [{**entry, "key": key_to_json(entry["key"])} for entry in entries]

    def keys(per_relation) -> list:
        return [[key_to_json(key) for key in relation_keys] for relation_keys in per_relation]

    return {
        "relations": [{"label": r.label, "args": list(r.args)} for r in relations],
        "unreadable": unreadable,
        "unknown_labels": unknown_labels,
        "correct": list(verdict.correct) if verdict else [],
        "keys": keys(verdict.keys) if verdict else [],
        "matched": keys(verdict.matched) if verdict else [],
        "found": gold(verdict.found) if verdict else [],
        "missed": gold(verdict.missed) if verdict else [],
        "tp": verdict.tp if verdict else 0,
        "fp": verdict.fp if verdict else 0,
        "fn": verdict.fn if verdict else 0,
    }


def _judged_to_json(record: PredictionRecord) -> dict:
    return judged_json(record.relations, record.unreadable, record.unknown_labels, record)


def _judged_from_json(block: dict) -> dict:
    return {
        "relations": tuple(ParsedRelation(r["label"], tuple(r["args"])) for r in block["relations"]),
        "unreadable": block["unreadable"],
        "unknown_labels": block["unknown_labels"],
        "correct": tuple(block["correct"]),
        "keys": tuple(tuple(key_from_json(key) for key in keys) for keys in block["keys"]),
        "matched": tuple(tuple(key_from_json(key) for key in keys) for keys in block["matched"]),
        "found": tuple({**entry, "key": key_from_json(entry["key"])} for entry in block["found"]),
        "missed": tuple({**entry, "key": key_from_json(entry["key"])} for entry in block["missed"]),
        "tp": block["tp"],
        "fp": block["fp"],
        "fn": block["fn"],
    }


@dataclass(frozen=True)
class Run:
    """A complete run folder, seen under one protocol: `metrics` and each record's judgement are that protocol's.

    `scores` holds metrics.json's block of every protocol the run was scored with; `under()` switches.
    """

    path: Path
    manifest: dict
    metrics: dict
    predictions: tuple[PredictionRecord, ...]
    protocol: str = LEGACY
    scores: Mapping[str, dict] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols this run was scored with (only the corrected one for runs written before protocols)."""
        return tuple(name for name in PROTOCOLS if name in self.scores) or (self.protocol,)

    @property
    def before_protocols(self) -> bool:
        """Written before protocols: read as the corrected protocol, the one such runs were scored with."""
        return self.protocols == (LEGACY,)

    def under(self, protocol: str) -> Run | None:
        """This run under `protocol`, or None when it was not scored with it."""
        if protocol == self.protocol:
            return self
        if protocol not in self.scores:
            return None
        records = tuple(record.under(protocol) for record in self.predictions)
        if any(record is None for record in records):
            return None
        return replace(self, metrics=self.scores[protocol], predictions=records, protocol=protocol)


def has_judgement(record: PredictionRecord) -> bool:
    """Whether the record keeps the keys scoring gave it (runs written before that keep only flags)."""
    return len(record.keys) == len(record.relations) and (bool(record.found) or record.tp <= 0 or not record.relations)


def with_judgement(record: PredictionRecord, task, document=None) -> PredictionRecord:
    """The record with its keys, matched and found gold: as stored, or (older runs) judged again from its
    relations against the document, or without the document from its relations' text and flags."""
    if has_judgement(record):
        return record
    if document is not None:
        verdict = judge(get_task(task.name, record.protocol), document, record.parse_result())
        return replace(record, keys=verdict.keys, matched=verdict.matched, found=verdict.found, missed=verdict.missed)
    flags = record.correct if len(record.correct) == len(record.relations) else (False,) * len(record.relations)
    keys = tuple((task.text_key(relation),) for relation in record.relations)
    missed = {m["key"] for m in record.missed}
    found = {k[0]: r for k, r, ok in zip(keys, record.relations, flags) if ok and k[0] not in missed}
    return replace(
        record,
        keys=keys,
        matched=tuple(k if ok else () for k, ok in zip(keys, flags)),
        found=tuple({"label": r.label, "args": list(r.args), "key": key} for key, r in found.items()),
    )


def on_shared_protocol(run_a: Run, run_b: Run) -> tuple[Run, Run]:
    """Both runs seen under one protocol: A's, when B has it, else one they share (an old run has only corrected).

    Paired comparisons are valid only when both sides are counted by the same rules.
    """
    for name in (run_a.protocol, *run_a.protocols):
        if name in run_b.protocols:
            return run_a.under(name), run_b.under(name)
    raise RunError(f"{run_a.path} and {run_b.path} share no scoring protocol; evaluate one of them again.")


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
        manifest = schema.manifest(read_json(path / MANIFEST), MANIFEST)
        scores, headline = metrics_by_protocol(read_json(path / METRICS))
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
    return Run(path, manifest, scores[headline], tuple(predictions), headline, scores)


def read_regular(path: Path) -> str:
    """A run file's text: a regular file (not a pipe or a device) of at most MAX_FILE_BYTES, valid UTF-8."""
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
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1).decode("utf-8")


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
    belong to no protocol (a finetuned run's validation curve) are given to every block.
    """
    schema.expect(metrics, dict, METRICS)
    if "protocol" not in metrics:
        return {LEGACY: schema.metrics_block(metrics, METRICS)}, LEGACY
    shared = {key: value for key, value in metrics.items() if key not in PROTOCOLS and key != "protocol"}
    scores = {
        name: {**schema.metrics_block(metrics[name], f"{METRICS}.{name}"), **shared}
        for name in PROTOCOLS
        if name in metrics
    }
    headline = metrics["protocol"]
    if headline not in scores:
        raise ValueError(f"metrics.json names the headline protocol {headline!r} but has no block for it")
    return scores, headline


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
    path = Path(path)
    write_text_atomic(path / PREDICTIONS, (json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records))
    write_text_atomic(path / METRICS, json.dumps(metrics, indent=2) + "\n")
    write_text_atomic(path / MANIFEST, json.dumps({**manifest, "status": "complete"}, indent=2) + "\n")
    (path / PARTIAL).unlink(missing_ok=True)
    return path
