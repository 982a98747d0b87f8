"""One document's record in a run: the generation, its reading and judgement under each protocol, its cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bre_core.beyond_exact import analysis_from_json
from bre_core.runs import schema
from bre_core.schema import ParsedRelation, ParseResult
from bre_core.scoring import judge, key_from_json, key_to_json
from bre_core.tasks import get_task
from bre_core.tasks.protocol import CORRECTED, HEADLINE, PROTOCOLS

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
    # {protocol: beyond_exact.analyse_document's block}: grounding, relaxed counts, error classes (empty in
    # runs written before them, whose readers compute them from the documents or call them unavailable)
    analysis: Mapping[str, dict] = field(default_factory=dict, repr=False, compare=False)

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
            **({"analysis": dict(self.analysis)} if self.analysis else {}),
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
        analysis = _analysis_from_json(row.get("analysis"))
        return cls(
            **common,
            protocol=protocol,
            judgements=judgements,
            analysis=analysis,
            **_judged_from_json(judgements[protocol]),
        )


def _analysis_from_json(value) -> dict[str, dict]:
    """The stored analyses of the protocols that have a well-formed one (a malformed one is left out, not fatal)."""
    if not isinstance(value, dict):
        return {}
    blocks = {name: analysis_from_json(value.get(name)) for name in PROTOCOLS}
    return {name: block for name, block in blocks.items() if block is not None}


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
