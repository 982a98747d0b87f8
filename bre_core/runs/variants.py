"""Model variants to compare: each models-file model as published, and each finetuned checkpoint of it on a task.

A finetuned variant comes from a run folder (a `finetune` run with its `checkpoint/`, or one whose manifest names
the hub repository it was published to) or from a models-file entry with `finetuned:` lineage. Each variant has an
id the app maps back to it: the model's name for "as published", the entry's name for a models-file entry, else
`MODEL@DATASET-SETTING-seedS`. A client only ever sends such an id, never a path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bre_core.config import Lineage, ModelsFile, ModelSpec
from bre_core.runs.run import Run

ZERO_SHOT = "zero-shot"
PUBLISHED_LABEL = "as published (zero-shot)"
CHECKPOINT = "checkpoint"
ADAPTER_CONFIG = "adapter_config.json"  # peft's: a LoRA checkpoint holds its adapter, loaded onto its base model
# Where a finetuned variant's weights come from, most trusted first: the models file says so explicitly.
SOURCE_RANK = {"models file": 0, "checkpoint": 1, "hub": 2, "none": 3}


@dataclass(frozen=True)
class Variant:
    """One choice of a Compare column: a model as published, or finetuned on one task with a setting and seed.

    `spec` is what a live run loads (None: the run's checkpoint is not here, its predictions only); `run` the run
    folder it was made from, if any; `validation_f1` the best validation micro-F1 of its training, if it had any.
    """

    id: str
    model: str
    dataset: str | None
    setting: str
    seed: int | None
    spec: ModelSpec | None
    source: str = "models file"
    run: Path | None = None
    validation_f1: float | None = None

    @property
    def finetuned(self) -> bool:
        return self.dataset is not None

    @property
    def key(self) -> tuple:
        return (self.model, self.dataset, self.setting, self.seed)

    @property
    def label(self) -> str:
        if not self.finetuned:
            return PUBLISHED_LABEL
        text = f"finetuned on {self.dataset}: {self.setting}, seed {self.seed}"
        if self.validation_f1 is not None:
            text += f" (validation micro-F1 {self.validation_f1:.3f})"
        return text + (" (predictions only)" if self.spec is None else "")


def checkpoint_kind(run_path: Path) -> str | None:
    """What a run folder's `checkpoint/` holds: "model" (a whole model), "adapter" (a LoRA adapter), or None."""
    checkpoint = Path(run_path) / CHECKPOINT
    if (checkpoint / "config.json").is_file():
        return "model"
    return "adapter" if (checkpoint / ADAPTER_CONFIG).is_file() else None


def variant_id(model: str, dataset: str, setting: str, seed) -> str:
    """A finetuned variant's id: the model, then the dataset, setting and seed of its training.

    >>> variant_id("t5-base", "chemprot", "full", 42)
    't5-base@chemprot-full-seed42'
    """
    return f"{model}@{dataset}-{setting}-seed{seed}"


def model_caption(spec: ModelSpec) -> str:
    """A model as the pickers show it: 'scifive-base · biomedical', 'flan-t5-base · general · instruction-tuned'."""
    parts = [spec.name] + ([spec.domain] if spec.domain else [])
    if spec.ift == "general":
        parts.append("instruction-tuned")
    elif spec.ift == "biomedical":
        parts.append("biomedical instruction-tuned")
    return " · ".join(parts)


def run_variant_key(manifest: Mapping) -> tuple | None:
    """(model, dataset, setting, seed) of the variant a run was made with; dataset None for a zero-shot run.

    A run of a models-file entry with lineage is that lineage's variant; a run with a training setting (full, kN)
    is its model finetuned; anything else (zero-shot, zero-shot-firstN) is the model as published.
    """
    model = manifest.get("model") if isinstance(manifest.get("model"), Mapping) else {}
    lineage = model.get("finetuned")
    if isinstance(lineage, Mapping):
        return (lineage.get("base"), lineage.get("dataset"), lineage.get("setting"), lineage.get("seed"))
    name = Path(str(model.get("name", "?"))).name
    setting = manifest.get("setting")
    if not isinstance(setting, str) or setting.startswith(ZERO_SHOT):
        return (name, None, ZERO_SHOT, None)
    return (name, manifest.get("dataset"), setting, manifest.get("seed"))


def best_validation_f1(metrics: Mapping) -> float | None:
    """The validation micro-F1 of the kept epoch (`best_epoch`), else the best of the curve; None without a curve."""
    curve = [p for p in metrics.get("validation_curve") or [] if isinstance(p, Mapping) and "micro_f1" in p]
    if not curve:
        return None
    kept = [p for p in curve if p.get("epoch") == metrics.get("best_epoch")]
    return float((kept or [max(curve, key=lambda p: p["micro_f1"])])[0]["micro_f1"])


def published_record(manifest: Mapping) -> tuple[str, str] | None:
    """(hub id, revision) that `publish` recorded in a run's manifest, or None."""
    record = manifest.get("published")
    if (
        isinstance(record, Mapping)
        and isinstance(record.get("hub_id"), str)
        and isinstance(record.get("revision"), str)
    ):
        return record["hub_id"], record["revision"]
    return None


def discover_variants(models: ModelsFile, runs: Iterable[Run]) -> list[Variant]:
    """Every variant: each base model as published, then its finetuned variants (models file, then runs).

    Two sources of one variant (same model, dataset, setting, seed) are one variant: its weights come from the
    most trusted source (SOURCE_RANK), its run and validation score from a run.
    """
    bases = {spec.name: spec for spec in models.models if spec.finetuned is None}
    found: dict[tuple, Variant] = {}
    for spec in models.models:
        if spec.finetuned is not None:
            lineage = spec.finetuned
            variant = Variant(spec.name, lineage.base, lineage.dataset, lineage.setting, lineage.seed, spec)
            found.setdefault(variant.key, variant)
    for run in runs:
        key = run_variant_key(run.manifest)
        if key is None or key[1] is None or key[0] not in bases or not isinstance(key[3], int):
            continue
        found[key] = _merge(found.get(key), _from_run(bases[key[0]], key, run))
    published = [Variant(name, name, None, ZERO_SHOT, None, spec) for name, spec in bases.items()]
    order = list(bases)
    finetuned = sorted(
        found.values(), key=lambda v: (order.index(v.model), v.dataset, _setting_order(v.setting), v.seed)
    )
    return published + finetuned


def _from_run(base: ModelSpec, key: tuple, run: Run) -> Variant:
    model, dataset, setting, seed = key
    identity = variant_id(model, dataset, setting, seed)
    lineage = Lineage(base=model, dataset=dataset, setting=setting, seed=seed)
    checkpoint = run.path / CHECKPOINT
    hub = published_record(run.manifest)
    common = {"name": identity, "finetuned": lineage}
    if checkpoint_kind(run.path) is not None:  # load_model merges an adapter onto its base model
        spec, source = (
            base.model_copy(update={**common, "path": str(checkpoint), "hub_id": None, "revision": None}),
            "checkpoint",
        )
    elif hub is not None:
        spec, source = base.model_copy(update={**common, "hub_id": hub[0], "revision": hub[1], "path": None}), "hub"
    else:
        spec, source = None, "none"
    return Variant(identity, model, dataset, setting, seed, spec, source, run.path, best_validation_f1(run.metrics))


def _merge(known: Variant | None, new: Variant) -> Variant:
    if known is None:
        return new
    better, other = (known, new) if SOURCE_RANK[known.source] <= SOURCE_RANK[new.source] else (new, known)
    return Variant(
        known.id if known.source == "models file" else better.id,
        better.model,
        better.dataset,
        better.setting,
        better.seed,
        better.spec,
        better.source,
        better.run or other.run,
        better.validation_f1 if better.validation_f1 is not None else other.validation_f1,
    )


def _setting_order(setting: str) -> tuple:
    """full first, then kN by N, then anything else by name."""
    if setting == "full":
        return (0, 0, "")
    if setting[:1] == "k" and setting[1:].isdigit():
        return (1, int(setting[1:]), "")
    return (2, 0, setting)


def best_variant(variants: Iterable[Variant]) -> Variant | None:
    """The variant to show first: the best validation micro-F1, then full data, then the study's seed 42."""
    ranked = sorted(
        variants,
        key=lambda v: (
            v.validation_f1 is None,
            -(v.validation_f1 or 0.0),
            v.setting != "full",
            v.seed != 42,
            v.seed or 0,
        ),
    )
    return ranked[0] if ranked else None


def runnable_variants(variants: Iterable[Variant], dataset: str) -> dict[str, list[Variant]]:
    """The finetuned variants of `dataset` that can run live (their weights are here or on the hub), by model."""
    by_model: dict[str, list[Variant]] = {}
    for variant in variants:
        if variant.finetuned and variant.dataset == dataset and variant.spec is not None:
            by_model.setdefault(variant.model, []).append(variant)
    return by_model
