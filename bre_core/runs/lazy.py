"""A run's predictions.jsonl read when first needed: its records, or only each document's TP/FP/FN (far cheaper)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path

from bre_core.errors import RunError
from bre_core.runs.counts_file import read_counts, row_counts
from bre_core.runs.records import LEGACY
from bre_core.tasks.protocol import PROTOCOLS

# A record's line holds the corrected protocol's block at its top level and every other protocol's as a nested
# object, each ending with its "tp", "fp", "fn" (records.judged_json's order). Inside a JSON string every quote
# is escaped, so `tp":` or `study": {` can only be a key: these patterns never match in an output or a name.
NESTED = b"|".join(re.escape(name.encode()) for name in PROTOCOLS if name != LEGACY)
TOKEN = re.compile(rb'"(?:(tp|fp|fn)": ?(-?\d+)(?=[,}\s])|(' + NESTED + rb')": ?\{)')
ID = re.compile(rb'\{"id": ?("(?:[^"\\]|\\.)*")')  # every record's line starts with its id (to_json's order)
ORDER = [b"tp", b"fp", b"fn"]
# The fast path: patterns that start with a literal, which the regex engine finds by a quick search over the
# whole file (a few ms for a 2 MB ChemProt run, against about 100 ms line by line).
TRIPLE = re.compile(rb'"tp": (-?\d+), "fp": (-?\d+), "fn": (-?\d+)')
LINE_ID = re.compile(rb'\n\{"id": ("(?:[^"\\\n]|\\.)*")')


def _scanned_whole(data: bytes) -> tuple[list[str], dict[str, list]] | None:
    """What _scanned finds, from three searches over the whole file; None unless every count agrees with the
    layout records.PredictionRecord.to_json writes (one id per line, the top block's TP/FP/FN, then one nested
    block per other protocol, each name once per line), or when a line holds several nested protocols (their
    order within a line is not known without reading it)."""
    first = ID.match(data)
    lines = data.count(b"\n") + (not data.endswith(b"\n"))  # an empty line makes the counts disagree
    nested = [name for name in PROTOCOLS if name != LEGACY and (b'"%s": {' % name.encode()) in data]
    if first is None or len(nested) > 1 or any(data.count(b'"%s": {' % name.encode()) != lines for name in nested):
        return None
    triples, blocks = TRIPLE.findall(data), 1 + len(nested)
    heads = [first.group(1), *LINE_ID.findall(data)]
    if len(heads) != lines or len(triples) != lines * blocks or data.count(b'"tp": ') != len(triples):
        return None
    ids = [raw[1:-1].decode() if b"\\" not in raw else json.loads(raw) for raw in heads]
    values = [(int(tp), int(fp), int(fn)) for tp, fp, fn in triples]
    rows = {LEGACY: values[0::blocks], **{name: values[1::blocks] for name in nested}}
    return ids, rows


def _scanned(data: bytes) -> tuple[list[str], dict[str, list]] | None:
    """(document ids, {protocol: each line's (tp, fp, fn)}) from the file's text, or None when some line is not
    laid out as records.PredictionRecord.to_json lays it out (then the file is parsed as JSON)."""
    ids, rows = [], {}
    for line in data.splitlines():
        tokens = TOKEN.findall(line)
        if not tokens:
            if line.strip():
                return None
            continue
        # tp, fp, fn of the top block, then for each nested block its name, tp, fp, fn
        head = ID.match(line)
        if head is None or [t[0] for t in tokens[:3]] != ORDER or len(tokens) % 4 != 3:
            return None
        found = {LEGACY: tokens[:3]}
        for at in range(3, len(tokens), 4):
            name, block = tokens[at][2].decode(), tokens[at + 1 : at + 4]
            if not name or name in found or [t[0] for t in block] != ORDER:
                return None
            found[name] = block
        if ids and set(found) != set(rows):
            return None
        ids.append(json.loads(head.group(1)))
        for name, block in found.items():
            rows.setdefault(name, []).append(tuple(int(t[1]) for t in block))
    return ids, rows


def _parsed(data: bytes) -> tuple[list[str], dict[str, list]]:
    """What _scanned finds, from the lines parsed as JSON (lines laid out otherwise, or damaged: ValueError)."""
    ids, rows = [], {}
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        for name, values in row_counts(row, f"line {number}").items():
            rows.setdefault(name, []).append(values)
        ids.append(str(row["id"]))
    return ids, rows


class _Source:
    """One predictions.jsonl: its records per protocol, its ids and count arrays, each read once, then kept."""

    def __init__(self, folder: Path, headline: str):
        self.folder, self.headline = folder, headline
        self._records: dict[str, tuple] = {}
        self._scan: tuple | None = None
        self._lock = threading.Lock()

    def records(self, protocol: str) -> tuple:
        from bre_core.runs.folder import read_records

        with self._lock:
            if self.headline not in self._records:
                self._records[self.headline] = read_records(self.folder, self.headline)
            if protocol not in self._records:
                seen = tuple(record.under(protocol) for record in self._records[self.headline])
                if any(record is None for record in seen):
                    raise RunError(
                        f"{self.folder}: damaged run folder (predictions lack the {protocol} protocol's judgement)."
                    )
                self._records[protocol] = seen
            return self._records[protocol]

    def scan(self) -> tuple[tuple[str, ...], dict]:
        """(document ids, {protocol: (documents x 3) TP, FP, FN}), read from the text without building records."""
        import numpy as np

        from bre_core.runs.folder import PREDICTIONS, read_regular_bytes, regular_size

        with self._lock:
            if self._scan is None:
                # the folder's counts file when it was written for these predictions, else the predictions' text
                counted = read_counts(self.folder, regular_size(self.folder / PREDICTIONS))
                try:
                    if counted is None:
                        data = read_regular_bytes(self.folder / PREDICTIONS)
                    ids, rows = counted or _scanned_whole(data) or _scanned(data) or _parsed(data)
                except (ValueError, KeyError, AttributeError, TypeError) as exc:
                    raise RunError(
                        f"{self.folder}: damaged run folder ({PREDICTIONS}: {exc}). Delete it and run it again."
                    ) from None
                if len(set(ids)) != len(ids):
                    raise RunError(f"{self.folder}: damaged run folder ({PREDICTIONS}: a document id appears twice).")
                arrays = {}
                for name, values in rows.items():
                    arrays[name] = np.array(values, dtype=np.int64).reshape(-1, 3)
                    arrays[name].flags.writeable = False
                self._scan = tuple(ids), arrays
            return self._scan

    def counts(self, protocol: str):
        arrays = self.scan()[1]
        if protocol not in arrays:
            raise RunError(f"{self.folder}: damaged run folder (predictions lack the {protocol} protocol's judgement).")
        return arrays[protocol]


class RecordsFile(Sequence):
    """A run's records under one protocol, read from its folder when first needed (a damaged file: RunError)."""

    def __init__(self, folder: Path, protocol: str, source: _Source | None = None):
        self.protocol = protocol
        self._source = source or _Source(Path(folder), protocol)

    def under(self, protocol: str) -> RecordsFile:
        return RecordsFile(self._source.folder, protocol, self._source)

    def counts(self):
        """(documents x 3) TP, FP, FN under this protocol, read without building the records."""
        return self._source.counts(self.protocol)

    def ids(self) -> tuple[str, ...]:
        """The document ids in file order, read without building the records."""
        return self._source.scan()[0]

    def __len__(self) -> int:
        return len(self.ids())

    def __getitem__(self, index):
        return self._source.records(self.protocol)[index]

    def __iter__(self):
        return iter(self._source.records(self.protocol))

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None
