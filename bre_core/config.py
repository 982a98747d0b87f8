"""models.yaml, validated strictly: model specs, comparison pairs, and name-or-folder resolution."""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bre_core.errors import BreError, UnknownNameError

MODELS_FILE = Path(__file__).resolve().parents[1] / "models.yaml"
ENV_MODELS_FILE = "BRE_MODELS"

Architecture = Literal["seq2seq", "causal"]
Domain = Literal["general", "biomedical"]
Ift = Literal["none", "general", "biomedical"]


class ConfigError(BreError):
    """A configuration file (or a model reference) that is invalid; the message names the file, line and key."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None, loc: tuple = ()):
        self.path, self.line, self.loc, self.detail = path, line, tuple(loc), message
        where = "" if path is None else f"{path}" + (f", line {line}" if line else "") + ": "
        key = f"{key_path(loc)}: " if loc else ""
        super().__init__(where + key + message)


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


def key_path(loc: tuple) -> str:
    """('models', 3, 'domian') -> 'models[3].domian'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_yaml(path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    """(data, node tree for line numbers) of a YAML file; an unreadable file or bad YAML is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", path) from exc
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}", path, mark.line + 1 if mark else None
        ) from exc


def load_models_file(path: Path | str | None = None) -> ModelsFile:
    """Read and validate models.yaml (default: $BRE_MODELS, else the one next to the package)."""
    path = Path(path if path is not None else os.environ.get(ENV_MODELS_FILE) or MODELS_FILE)
    hint = f" (set by ${ENV_MODELS_FILE})" if os.environ.get(ENV_MODELS_FILE) else ""
    data, root = read_yaml(path, f"the models file{hint}")
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with the keys models, pairs, default_pair", path)
    try:
        models_file = ModelsFile.model_validate(data)
    except ConfigError as exc:
        raise ConfigError(exc.detail, path, _line(root, exc.loc), exc.loc) from None
    except ValidationError as exc:
        lines = [
            str(ConfigError(_describe(error), path, _line(root, error["loc"]), error["loc"])) for error in exc.errors()
        ]
        first = exc.errors()[0]["loc"]
        error = ConfigError("\n".join(lines))
        error.path, error.line, error.loc = path, _line(root, first), tuple(first)
        raise error from None
    return _with_absolute_paths(models_file, path.parent)


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


def _describe(error: dict) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        return f"unknown key{hint}; allowed: {', '.join(allowed)}"
    if kind == "missing" and loc and loc[0] in ("pairs", "default_pair") and isinstance(loc[-1], int):
        return "a pair is two model names: [general or plain, biomedical or instruction-tuned]"
    if kind == "missing":
        return "required key missing"
    if kind in ("too_long", "tuple_type") and loc and loc[0] in ("pairs", "default_pair"):
        return "a pair is two model names: [general or plain, biomedical or instruction-tuned]"
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    return error["msg"].removeprefix("Value error, ") + shown


def _allowed_keys(loc: tuple) -> list[str]:
    if len(loc) >= 3 and loc[0] == "models":
        return list(ListedModelSpec.model_fields)
    return list(ModelsFile.model_fields)


def _line(node: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based line of the YAML node at `loc` (the key itself for a mapping entry), or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _with_absolute_paths(models_file: ModelsFile, base: Path) -> ModelsFile:
    """Relative `path:` entries are relative to models.yaml, not to the working directory."""
    models = [
        spec.model_copy(update={"path": str((base / Path(spec.path).expanduser()).resolve())})
        if spec.path is not None
        else spec
        for spec in models_file.models
    ]
    return models_file.model_copy(update={"models": models})
