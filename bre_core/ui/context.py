"""What the app runs with and remembers: models file, data and runs folders, and every cache (models, runs, corpora)."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from bre_core.config import ModelsFile, ModelSpec, load_models_file, resolve_model
from bre_core.runs import Run, RunReader, find_runs
from bre_core.user_input import check_choice

ASSETS = Path(__file__).resolve().parents[2] / "assets"
RESULTS = ASSETS / "results"
GENERATION_GROUP = "generation"  # the concurrency group of every event that runs models: one at a time
MAX_NEW_TOKENS = 256  # per model and passage in the app: bounded, so one request cannot hold the GPU for long
LOAD_RETRY_S = 60.0  # a model that failed to load is tried again after this long, not on every request
MAX_SECONDS = 60.0  # wall time per model and passage; a generation cut short says so in its column


MAX_CORPORA = 4  # corpus splits kept in memory (ChemProt's test split is about 5 MB of Documents)
MAX_DERIVED = 16  # derived tables kept (a dashboard's views, error-case tables)


@dataclass
class AppContext:
    """The app's configuration and the one owner of its state: every cache is here, locked and bounded.

    Tabs receive it; runs(refresh=True) re-lists the runs and drops what was derived from them, for every tab.
    """

    models: ModelsFile
    data_dir: str | None = None
    runs_dirs: list[Path] = field(default_factory=list)
    max_new_tokens: int = MAX_NEW_TOKENS
    max_seconds: float = MAX_SECONDS
    reader: RunReader = field(default_factory=RunReader)
    _cache: object = None
    _runs: list[Run] | None = None
    _warnings: list[str] = field(default_factory=list)
    _corpora: OrderedDict = field(default_factory=OrderedDict)
    _derived: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def model_names(self) -> list[str]:
        return self.models.names

    def spec(self, name) -> ModelSpec:
        """A model of the models file by its exact name; never a path or a free hub id (the app serves listed
        models only). Anything else, a non-string included, is an InputError naming the listed models."""
        return resolve_model(check_choice(name, "model", self.model_names), self.models, allow_path=False)

    @property
    def cache(self):
        with self._lock:
            if self._cache is None:
                import functools

                from bre_core.models import ModelCache, load_with_engine  # torch only when a model is first needed

                engine, compute_type = live_engine()
                loader = functools.partial(load_with_engine, engine=engine, compute_type=compute_type)
                self._cache = ModelCache(max_models=2, retry_after_s=LOAD_RETRY_S, loader=loader)
            return self._cache

    def runs(self, refresh: bool = False) -> tuple[list[Run], list[str]]:
        """The complete runs in the runs folders (listed once, again on refresh: then only changed folders are read
        again), and warnings for skipped folders. A refresh drops every table derived from the runs."""
        with self._lock:
            if self._runs is None or refresh:
                self._runs, self._warnings = find_runs(*self.runs_dirs, reader=self.reader)
                self._derived.clear()
            return self._runs, self._warnings

    def run(self, path) -> Run:
        """One run folder, through the same reader (read again only when its files change)."""
        return self.reader.read(Path(path))

    def documents(self, dataset: str, split: str, split_seed=None) -> tuple:
        """A corpus split's documents (kept for the last MAX_CORPORA splits); errors are not kept."""
        from bre_core.datasets import load_documents

        key = (dataset, split, split_seed)
        with self._lock:
            if key in self._corpora:
                self._corpora.move_to_end(key)
                return self._corpora[key]
        options = {} if split_seed is None else {"split_seed": split_seed}
        documents = tuple(load_documents(dataset, split, self.data_dir, **options))
        return self._keep(self._corpora, key, documents, MAX_CORPORA)

    def derived(self, key, compute, refresh: bool = False):
        """A table computed from the runs (kept until the runs are refreshed, the last MAX_DERIVED of them)."""
        with self._lock:
            if key in self._derived and not refresh:
                self._derived.move_to_end(key)
                return self._derived[key]
        return self._keep(self._derived, key, compute(), MAX_DERIVED)

    def forget(self, key) -> None:
        """Drop one derived table (one that may change without the runs changing)."""
        with self._lock:
            self._derived.pop(key, None)

    def _keep(self, store: OrderedDict, key, value, limit: int):
        with self._lock:
            store[key] = value
            store.move_to_end(key)
            while len(store) > limit:
                store.popitem(last=False)
            return value

    def precomputed(self, model: str, dataset: str, split: str, document_id: str):
        """(record, run) of a run of `model` on this dataset and split holding the document, or None."""
        for run in self.runs()[0]:
            manifest = run.manifest
            if manifest.model_label == model and manifest.get("dataset") == dataset and manifest.get("split") == split:
                for record in run.predictions:
                    if record.id == document_id:
                        return record, run
        return None


def live_engine() -> tuple[str, str | None]:
    """The engine of live runs: $BRE_ENGINE (hf or ctranslate2; default ctranslate2 where it is installed) and
    $BRE_COMPUTE_TYPE (ctranslate2's default float32; int8 is faster on a CPU, README: Decoding engines)."""
    from bre_core.models import fast_engine_available

    engine = os.environ.get("BRE_ENGINE") or ("ctranslate2" if fast_engine_available() else "hf")
    return engine, os.environ.get("BRE_COMPUTE_TYPE") or None


def context_from_env(
    data_dir: str | None = None, runs_dirs: list[str | Path] | None = None, models_path: str | None = None
) -> AppContext:
    """BRE_DATA_DIR, BRE_RUNS_DIR (several folders separated by os.pathsep) and BRE_MODELS, unless given."""
    if runs_dirs is None:
        runs_dirs = [RESULTS] + [Path(p) for p in os.environ.get("BRE_RUNS_DIR", "").split(os.pathsep) if p]
    return AppContext(
        models=load_models_file(models_path),
        data_dir=data_dir or os.environ.get("BRE_DATA_DIR") or None,
        runs_dirs=[Path(p) for p in runs_dirs],
    )


def demo_passages() -> dict[str, list[dict]]:
    """The hand-written demo passages of assets/demo_passages.json, by task."""
    data = json.loads((ASSETS / "demo_passages.json").read_text(encoding="utf-8"))
    return {task: passages for task, passages in data.items() if not task.startswith("_")}
