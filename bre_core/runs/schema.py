"""The run folder's JSON schema, checked with types: a folder that does not match is damaged, never complete."""

from __future__ import annotations

from collections.abc import Mapping

from bre_core.tasks.protocol import PROTOCOLS

_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "true or false"}


class SchemaError(ValueError):
    """A run file whose JSON has a missing key or a value of the wrong type; the message names where."""


def expect(value, kind: type | tuple[type, ...], where: str):
    """`value` when it is of `kind` (an integer is never a bool; a number is an int or a float), else SchemaError."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        ok = False
    else:
        ok = isinstance(value, kinds)
    if not ok:
        wanted = " or ".join(_NAMES.get(k, k.__name__) for k in kinds)
        raise SchemaError(f"{where} must be {wanted}, found {type(value).__name__} {str(value)[:40]!r}")
    return value


def key(row: Mapping, name: str, kind, where: str, default=...):
    """row[name] of `kind`; `default` (when given) where the key is absent, as in older run folders."""
    if name not in row:
        if default is ...:
            raise SchemaError(f"{where} has no {name!r}")
        return default
    return expect(row[name], kind, f"{where}.{name}")


def strings(value, where: str) -> list[str]:
    return [expect(item, str, f"{where}[{i}]") for i, item in enumerate(expect(value, list, where))]


def _relations(value, where: str) -> list[dict]:
    out = []
    for i, item in enumerate(expect(value, list, where)):
        at = f"{where}[{i}]"
        expect(item, dict, at)
        out.append({"label": key(item, "label", str, at), "args": strings(key(item, "args", list, at), f"{at}.args")})
    return out


def _scoring_key(value, where: str) -> list:
    """A scoring key as JSON: a list of strings and sorted string lists (DCE's drug sets)."""
    parts = expect(value, list, where)
    for i, part in enumerate(parts):
        if isinstance(part, list):
            strings(part, f"{where}[{i}]")
        else:
            expect(part, str, f"{where}[{i}]")
    return parts


def _gold(value, where: str) -> list[dict]:
    out = []
    for i, item in enumerate(expect(value, list, where)):
        at = f"{where}[{i}]"
        expect(item, dict, at)
        entry = {
            "label": key(item, "label", str, at),
            "args": strings(key(item, "args", list, at), f"{at}.args"),
            "key": _scoring_key(key(item, "key", list, at), f"{at}.key"),
        }
        if "at" in item:
            entry["at"] = key(item, "at", int, at)
        out.append(entry)
    return out


def _keys(value, where: str) -> list[list]:
    return [
        [_scoring_key(k, f"{where}[{i}][{j}]") for j, k in enumerate(expect(keys, list, f"{where}[{i}]"))]
        for i, keys in enumerate(expect(value, list, where))
    ]


def judged_block(row: Mapping, where: str) -> dict:
    """One protocol's reading of a record (relations, judgement, counts), typed; older folders' defaults."""
    block = {
        "relations": _relations(key(row, "relations", list, where, []), f"{where}.relations"),
        "unreadable": key(row, "unreadable", int, where, 0),
        "unknown_labels": key(row, "unknown_labels", int, where, 0),
        "correct": [expect(c, bool, f"{where}.correct") for c in key(row, "correct", list, where, [])],
        "keys": _keys(key(row, "keys", list, where, []), f"{where}.keys"),
        "matched": _keys(key(row, "matched", list, where, []), f"{where}.matched"),
        "found": _gold(key(row, "found", list, where, []), f"{where}.found"),
        "missed": _gold(key(row, "missed", list, where, []), f"{where}.missed"),
        "tp": key(row, "tp", int, where, 0),
        "fp": key(row, "fp", int, where, 0),
        "fn": key(row, "fn", int, where, 0),
    }
    for per_relation in ("correct", "keys", "matched"):
        if block[per_relation] and len(block[per_relation]) != len(block["relations"]):
            raise SchemaError(
                f"{where}.{per_relation} has {len(block[per_relation])} entries for {len(block['relations'])} relations"
            )
    return block


def record(row, where: str) -> dict:
    """A predictions.jsonl line: id, output and costs, each protocol's block under its name (corrected at the top)."""
    expect(row, dict, where)
    return {
        "id": key(row, "id", str, where),
        "output": key(row, "output", str, where),
        "input_tokens": key(row, "input_tokens", int, where, 0),
        "output_tokens": key(row, "output_tokens", int, where, 0),
        "seconds": key(row, "seconds", (int, float), where, 0.0),
    }


def metrics_block(block, where: str) -> dict:
    """One protocol's scores in metrics.json."""
    expect(block, dict, where)
    micro = key(block, "micro", dict, where)
    for name in ("precision", "recall", "f1"):
        key(micro, name, (int, float), f"{where}.micro")
    for name in ("tp", "fp", "fn"):
        key(micro, name, int, f"{where}.micro")
    key(block, "macro_f1", (int, float), where)
    for label, scores in key(block, "per_class", dict, where, {}).items():
        expect(scores, dict, f"{where}.per_class.{label}")
    for name in ("parse_failures", "documents"):
        key(block, name, int, where)
    return block


def manifest(row, where: str) -> dict:
    """manifest.json: an object naming its model, dataset and split."""
    expect(row, dict, where)
    key(key(row, "model", dict, where), "name", str, f"{where}.model")
    for name in ("dataset", "split"):
        key(row, name, str, where)
    return row


def protocol_blocks(row: Mapping) -> tuple[str, ...]:
    """The protocols other than the top level's that a predictions line holds a block for."""
    return tuple(name for name in PROTOCOLS if name in row and isinstance(row[name], dict))
