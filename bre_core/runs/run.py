"""A run as read: its manifest, its metrics and records under one protocol, and views under the others."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from bre_core.errors import RunError
from bre_core.runs.records import LEGACY, PredictionRecord
from bre_core.tasks.protocol import PROTOCOLS

# What makes two runs' documents the same: paired statistics are only valid over the same documents.
SAME_DOCUMENTS = ("dataset", "split", "data_hash")


@dataclass(frozen=True)
class Manifest(Mapping):
    """manifest.json, typed where the code reads it, the whole object still readable as a mapping."""

    raw: Mapping = field(repr=False)

    def __getitem__(self, key):
        return self.raw[key]

    def __iter__(self):
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def model(self) -> Mapping:
        return self.raw.get("model") or {}

    @property
    def model_label(self) -> str:
        """The model's name as tables and charts show it: a path's last part (a finetuned checkpoint's folder)."""
        return Path(str(self.model.get("name", "?"))).name

    @property
    def dataset(self) -> str:
        return self.raw["dataset"]

    @property
    def split(self) -> str:
        return self.raw["split"]

    @property
    def setting(self) -> str | None:
        return self.raw.get("setting")

    @property
    def seed(self) -> int | None:
        return self.raw.get("seed")

    def same_documents(self, other: Manifest) -> bool:
        """Whether both runs are over the same dataset, split and document content (hash)."""
        return all(self.raw.get(key) == other.raw.get(key) for key in SAME_DOCUMENTS)


@dataclass(frozen=True)
class Run:
    """A complete run folder, seen under one protocol: `metrics` and each record's judgement are that protocol's.

    `scores` holds metrics.json's block of every protocol the run was scored with; `under()` switches.
    """

    path: Path
    manifest: Manifest
    metrics: dict
    predictions: tuple[PredictionRecord, ...]
    protocol: str = LEGACY
    scores: Mapping[str, dict] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.manifest, Manifest):
            object.__setattr__(self, "manifest", Manifest(self.manifest))

    @property
    def name(self) -> str:
        return self.path.name

    def counts(self):
        """(documents x 3) array of each document's TP, FP, FN, in document order: what paired tests resample."""
        import numpy as np

        if hasattr(self.predictions, "counts"):  # a RecordsFile (runs/lazy.py): read without building records
            return self.predictions.counts()
        return np.array([[p.tp, p.fp, p.fn] for p in self.predictions], dtype=np.int64).reshape(-1, 3)

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
        if hasattr(self.predictions, "under"):  # a RecordsFile: still unread, checked when read
            return replace(
                self, metrics=self.scores[protocol], predictions=self.predictions.under(protocol), protocol=protocol
            )
        records = tuple(record.under(protocol) for record in self.predictions)
        if any(record is None for record in records):
            return None
        return replace(self, metrics=self.scores[protocol], predictions=records, protocol=protocol)


def documents_difference(run_a: Run, run_b: Run) -> str | None:
    """What makes two runs' documents differ (a manifest key, or the document ids), or None: the same documents."""
    for key in SAME_DOCUMENTS:
        if run_a.manifest.get(key) != run_b.manifest.get(key):
            return f"{key}: {run_a.manifest.get(key)!r} vs {run_b.manifest.get(key)!r}"
    if document_ids(run_a) != document_ids(run_b):
        return "they list different document ids"
    return None


def document_ids(run: Run) -> tuple[str, ...]:
    """The run's document ids in order (a RecordsFile, runs/lazy.py, reads them without building its records)."""
    if hasattr(run.predictions, "ids"):
        return run.predictions.ids()
    return tuple(p.id for p in run.predictions)


def same_documents(run_a: Run, run_b: Run) -> bool:
    """Whether two runs are over the same documents: dataset, split, content hash and the document ids in order."""
    return documents_difference(run_a, run_b) is None


def check_same_documents(run_a: Run, run_b: Run) -> None:
    """A RunError naming what differs unless both runs are over the same documents."""
    why = documents_difference(run_a, run_b)
    if why is not None:
        raise RunError(
            f"{run_a.path} and {run_b.path} are not over the same documents: different documents ({why}); "
            "compare runs of the same dataset, split and data."
        )


def shared_protocol(run_a: Run, run_b: Run, wanted: str | None = None) -> str | None:
    """The protocol a pair is compared under: `wanted` (default: A's) when both runs hold it, else the first one
    both hold; None when they share none (a paired difference never mixes two protocols)."""
    wanted = wanted or run_a.protocol
    if wanted in run_a.protocols and wanted in run_b.protocols:
        return wanted
    return next((name for name in run_a.protocols if name in run_b.protocols), None)


def on_shared_protocol(run_a: Run, run_b: Run) -> tuple[Run, Run]:
    """Both runs seen under one protocol: A's, when B has it, else one they share (an old run has only corrected).

    Paired comparisons are valid only when both sides are counted by the same rules.
    """
    name = shared_protocol(run_a, run_b)
    if name is None:
        raise RunError(f"{run_a.path} and {run_b.path} share no scoring protocol; evaluate one of them again.")
    return run_a.under(name), run_b.under(name)
