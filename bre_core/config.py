"""models.yaml, validated strictly: model specs, comparison pairs, and name-or-folder resolution."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from bre_core.errors import UnknownNameError
from bre_core.yaml_errors import ConfigError, check_duplicate_keys, describe, read_yaml, validate

MODELS_FILE = Path(__file__).resolve().parents[1] / "models.yaml"
ENV_MODELS_FILE = "BRE_MODELS"

Architecture = Literal["seq2seq", "causal"]
Domain = Literal["general", "biomedical"]
Ift = Literal["none", "general", "biomedical"]
Dataset = Literal["cdr", "chemprot", "ddi", "dce"]
# What a finetuned entry takes from its base model's entry when it does not say.
INHERITED = ("architecture", "params", "domain", "ift", "family")


class Lineage(BaseModel):
    """What a finetuned checkpoint was trained from: its base model (a models-file name) and the run's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str
    dataset: Dataset
    setting: str  # full, kN, or a PEFT variant of them
    seed: int


class ModelSpec(BaseModel):
    """One model: a hub id (optionally at a pinned revision) or a local folder, and what it is.

    `params`, `domain` and `ift` are None only for a local folder named directly (see `resolve_model`) whose base
    model is not in models.yaml; every models.yaml entry states them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    hub_id: str | None = None
    path: str | None = None
    revision: str | None = None
    architecture: Architecture
    params: str | None = None
    domain: Domain | None = None
    ift: Ift | None = None
    family: str
    finetuned: Lineage | None = None  # set for a checkpoint trained by `finetune` (or published from one)

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if (self.hub_id is None) == (self.path is None):
            raise ValueError("give exactly one of hub_id (a Hugging Face hub id) or path (a local folder)")
        if self.revision is not None and self.hub_id is None:
            raise ValueError("revision pins a hub_id; a local path has no revision")
        return self


class ListedModelSpec(ModelSpec):
    """A models.yaml entry: the study metadata is required there."""

    params: str
    domain: Domain
    ift: Ift


class ModelsFile(BaseModel):
    """The whole of models.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[ListedModelSpec]
    pairs: dict[str, list[tuple[str, str]]] = {}
    default_pair: tuple[str, str]

    @model_validator(mode="before")
    @classmethod
    def _inherit_from_base(cls, data):
        """A finetuned entry may leave out what its base model's entry says (architecture, domain, ...)."""
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            return data
        by_name = {m.get("name"): m for m in data["models"] if isinstance(m, dict)}
        models = []
        for index, entry in enumerate(data["models"]):
            lineage = entry.get("finetuned") if isinstance(entry, dict) else None
            if isinstance(lineage, dict) and "base" in lineage:
                base = by_name.get(lineage["base"])
                if not isinstance(base, dict) or base is entry:
                    names = [n for n in by_name if isinstance(n, str) and n != entry.get("name")]
                    error = UnknownNameError("base model", str(lineage["base"]), names)
                    raise ConfigError(str(error), loc=("models", index, "finetuned", "base"))
                entry = {key: base[key] for key in INHERITED if key in base} | entry
            models.append(entry)
        return {**data, "models": models}

    @model_validator(mode="after")
    def _names_resolve(self) -> ModelsFile:
        # Raised as ConfigError (not ValueError) so that pydantic passes it through with its key path intact.
        seen: dict[str, int] = {}
        for index, spec in enumerate(self.models):
            if spec.name in seen:
                raise ConfigError(
                    f"duplicate model name '{spec.name}' (also models[{seen[spec.name]}]); names must be unique",
                    loc=("models", index, "name"),
                )
            seen[spec.name] = index
        references = [
            (("pairs", group, i, j), name)
            for group, pairs in self.pairs.items()
            for i, pair in enumerate(pairs)
            for j, name in enumerate(pair)
        ]
        references += [(("default_pair", j), name) for j, name in enumerate(self.default_pair)]
        for loc, name in references:
            if name not in seen:
                raise ConfigError(str(UnknownNameError("model", name, self.names)), loc=loc)
        return self

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.models]

    def get(self, name: str) -> ListedModelSpec:
        for spec in self.models:
            if spec.name == name:
                return spec
        raise UnknownNameError("model", name, self.names)


def load_models_file(path: Path | str | None = None) -> ModelsFile:
    """Read and validate models.yaml (default: $BRE_MODELS, else the one next to the package)."""
    from_env = path is None and bool(os.environ.get(ENV_MODELS_FILE))
    path = Path(path if path is not None else os.environ.get(ENV_MODELS_FILE) or MODELS_FILE)
    hint = f" (set by ${ENV_MODELS_FILE})" if from_env else ""
    data, root = read_yaml(path, f"the models file{hint}")
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with the keys models, pairs, default_pair", path)
    check_duplicate_keys(root, path)
    return _with_absolute_paths(validate(ModelsFile, data, path, root, _describe), path.parent)


def resolve_model(name_or_path: str, models_file: ModelsFile | None = None, *, allow_path: bool = True) -> ModelSpec:
    """A models.yaml name, or (when `allow_path`) a local model folder; never a free hub id.

    A folder listed in models.yaml (`path:`) gets its entry; any other folder gets its architecture from its
    config.json (`is_encoder_decoder`), its family from `model_type`, and no params/domain/ift.
    The app passes `allow_path=False`: a visitor can only pick listed models.
    """
    models_file = models_file if models_file is not None else load_models_file()
    if name_or_path in models_file.names:
        return models_file.get(name_or_path)
    folder = Path(name_or_path).expanduser()
    if not allow_path or not folder.is_dir():
        error = UnknownNameError("model", name_or_path, models_file.names)
        if allow_path:
            error.args = (
                error.args[0] + ". To use another model, add it to models.yaml (hub_id: or path:) or "
                "pass the folder of a model saved with save_pretrained",
            )
        raise error
    folder = folder.resolve()
    for spec in models_file.models:
        if spec.path is not None and Path(spec.path).resolve() == folder:
            return spec
    adapter = _adapter_spec(folder)
    if adapter is not None:
        return adapter
    config_file = folder / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"not a model folder: config.json is missing or unreadable "
            f"({getattr(exc, 'strerror', None) or exc}); give a folder written by save_pretrained",
            folder,
        ) from exc
    architecture = "seq2seq" if config.get("is_encoder_decoder") else "causal"
    # What a folder was pretrained on is not in its files: params, domain and ift stay unknown (None).
    return ModelSpec(
        name=str(folder), path=str(folder), architecture=architecture, family=str(config.get("model_type") or "unknown")
    )


def _adapter_spec(folder: Path) -> ModelSpec | None:
    """A LoRA adapter folder written by `finetune --peft` is its base model adapted: the base's architecture, family
    and study metadata (bre_adapter.json, bre_core/models/adapters.py); None for any other folder."""
    try:
        base = json.loads((folder / "bre_adapter.json").read_text(encoding="utf-8"))["base"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    inherited = {key: base.get(key) for key in ("architecture", "family", "params", "domain", "ift")}
    return ModelSpec(name=str(folder), path=str(folder), **inherited)


def _describe(error: dict) -> str:
    kind, loc = error["type"], error["loc"]
    in_pair = bool(loc) and loc[0] in ("pairs", "default_pair")
    if in_pair and (kind in ("too_long", "tuple_type") or (kind == "missing" and isinstance(loc[-1], int))):
        return "a pair is two model names: [general or plain, biomedical or instruction-tuned]"
    return describe(error, _schema_at)


def _schema_at(loc: tuple) -> type[BaseModel]:
    if len(loc) >= 4 and loc[0] == "models" and loc[2] == "finetuned":
        return Lineage
    return ListedModelSpec if len(loc) >= 3 and loc[0] == "models" else ModelsFile


def _with_absolute_paths(models_file: ModelsFile, base: Path) -> ModelsFile:
    """Relative `path:` entries are relative to models.yaml, not to the working directory."""
    models = [
        spec.model_copy(update={"path": str((base / Path(spec.path).expanduser()).resolve())})
        if spec.path is not None
        else spec
        for spec in models_file.models
    ]
    return models_file.model_copy(update={"models": models})
