"""counts.json: each document's TP, FP, FN per protocol, beside predictions.jsonl (what paired tests read, 1% of it).

Redundant by design: predictions.jsonl stays the record. A counts file that is missing, damaged or not written
for the predictions beside it (another size) is ignored, and the counts are read from predictions.jsonl instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from bre_core.errors import RunError
from bre_core.runs.records import LEGACY
from bre_core.tasks.protocol import PROTOCOLS

COUNTS = "counts.json"


def row_counts(row: dict, where: str) -> dict[str, tuple[int, int, int]]:
    """{protocol: (tp, fp, fn)} of one predictions.jsonl row (its top level is the corrected protocol's block,
    every other protocol a nested block); a ValueError names `where` when a count is not an integer."""
    blocks = {LEGACY: row, **{name: row[name] for name in PROTOCOLS if isinstance(row.get(name), dict)}}
    found = {}
    for name, block in blocks.items():
        values = tuple(block.get(key) for key in ("tp", "fp", "fn"))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"{where}: tp, fp and fn must be integers")
        found[name] = values
    return found


def counts_json(rows: list[dict], predictions_bytes: int) -> dict:
    """The counts file of a predictions.jsonl of `predictions_bytes` bytes holding `rows`, in file order."""
    counts: dict[str, list] = {}
    for number, row in enumerate(rows, start=1):
        for name, values in row_counts(row, f"record {number}").items():
            counts.setdefault(name, []).append(list(values))
    return {"predictions_bytes": predictions_bytes, "ids": [str(row["id"]) for row in rows], **counts}


def read_counts(folder: Path, predictions_bytes: int) -> tuple[list[str], dict[str, list]] | None:
    """(ids, {protocol: [(tp, fp, fn)]}) from the folder's counts file, or None where it cannot be trusted."""
    from bre_core.runs.folder import read_regular

    path = Path(folder) / COUNTS
    if not path.is_file():
        return None
    try:
        data = json.loads(read_regular(path))
    except (OSError, ValueError, RunError):  # unreadable: the counts come from predictions.jsonl instead
        return None
    if not isinstance(data, dict) or data.get("predictions_bytes") != predictions_bytes:
        return None
    ids, rows = data.get("ids"), {k: v for k, v in data.items() if k in PROTOCOLS}
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or LEGACY not in rows:
        return None
    for values in rows.values():
        if not isinstance(values, list) or len(values) != len(ids):
            return None
        if not all(isinstance(v, list) and len(v) == 3 and all(type(n) is int for n in v) for v in values):
            return None
    return ids, rows
