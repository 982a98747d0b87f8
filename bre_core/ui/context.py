"""What the app runs with and remembers: models file, data and runs folders, and every cache (models, runs, corpora)."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from bre_core.config import ModelsFile, ModelSpec, load_models_file
from bre_core.errors import BreError
from bre_core.runs import Run, RunReader, find_runs
from bre_core.runs.default_pair import DefaultPair, default_pair
from bre_core.runs.variants import Variant, discover_variants, run_variant_key
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
    reader: RunReader = field(default_factory=lambda: RunReader(lazy=True))  # predictions read when needed
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
        """What a variant id loads: a models-file name, or a finetuned variant found in the runs folders; never a path
        or a free hub id (the app serves listed models only). Anything else, a non-string included, is an InputError
        naming the listed models; a variant whose checkpoint is not here is a BreError saying so."""
        variant = self.variant(name)
        if variant.spec is None:
            raise BreError(
                f"The checkpoint of {variant.id} is not here: its run folder ({variant.run.name}) holds predictions "
                f"only. Pick another variant, or publish the checkpoint (python -m bre_core publish)."
            )
        return variant.spec

    def variants(self) -> list[Variant]:
        """Every model as published and every finetuned variant of it (models file and runs folders)."""
        return self.derived(("variants",), lambda: discover_variants(self.models, self.runs()[0]))

    def variant_ids(self) -> list[str]:
        """The ids a client may name a model by (Compare's pickers, the API, links)."""
        return [variant.id for variant in self.variants()]

    def variant(self, name) -> Variant:
        """A variant by its id (InputError naming the models file's models when it is none)."""
        by_id = {variant.id: variant for variant in self.variants()}
        if isinstance(name, str) and name in by_id:
            return by_id[name]
        # Every other listed name is a second models-file entry of a variant listed under another name.
        spec = self.models.get(check_choice(name, "model", self.model_names))
        lineage = spec.finetuned
        return Variant(spec.name, lineage.base, lineage.dataset, lineage.setting, lineage.seed, spec)

    def default_pair(self, dataset: str) -> DefaultPair:
        """The variants the Compare tab opens with for `dataset` (finetuned ones when there are)."""
        return default_pair(self.models, self.variants(), dataset)

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
        again), and warnings for skipped folders. A refresh that finds other runs drops every table derived from them."""
        with self._lock:
            if self._runs is None or refresh:
                before = self._runs
                self._runs, self._warnings = find_runs(*self.runs_dirs, reader=self.reader)
                # The reader returns the same Run for an unchanged folder: tables derived from the same runs stay.
                if before is None or list(map(id, before)) != list(map(id, self._runs)):
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

    def precomputed(self, variant_id: str, dataset: str, split: str, document_id: str):
        """(record, run) of a run made with exactly this variant (model, and for a finetuned one its dataset, setting
        and seed) on this dataset and split holding the document, or None."""
        key = self.variant(variant_id).key
        runs = self.runs()[0]
        for run in runs:
            manifest = run.manifest
            if manifest.get("dataset") != dataset or manifest.get("split") != split:
                continue
            if run_variant_key(manifest) == key:
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
