"""Experiment grids (experiments/*.yaml), validated strictly, expanded into runs, then listed, printed or run.

An experiment file names models (from a models file), datasets, settings and seeds in blocks; each block is the
product of its lists. The format is documented at the top of experiments/paper.yaml, which holds the study's
grid and its epochs (read by `finetune` through `study_epochs`).
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictStr,
    Tag,
    ValidationError,
    model_validator,
)

from bre_core.config import ENV_MODELS_FILE, MODELS_FILE, ConfigError, ModelsFile, load_models_file, read_yaml
from bre_core.datasets import DATASETS
from bre_core.errors import UnknownNameError
from bre_core.results import is_complete, run_name

PAPER_FILE = Path(__file__).resolve().parents[2] / "experiments" / "paper.yaml"
DATASET_NAMES = tuple(DATASETS)  # cdr, chemprot, ddi, dce
DEFAULT_OUT = "runs"
ALL = "all"
_SETTING = re.compile(r"k([1-9][0-9]*)|full")
# Parts of a pydantic error location that are not keys of the file (the branches of a tagged union, dict keys).
_TAGS = frozenset({"names", "filter", "number", "per_model", "[key]"})

Kind = Literal["finetune", "evaluate"]
Status = Literal["done", "partial", "pending"]


# --- the file's schema -----------------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    """A single value stands for a list of one: `datasets: cdr`, `seeds: 7`."""
    return value if isinstance(value, (list, dict)) or value is None else [value]


def _check_setting(value: str) -> str:
    if not _SETTING.fullmatch(value):
        raise ValueError(f"unknown setting '{value}': full (all training data) or k<N> with N >= 1 (k16, k64)")
    return value


SettingName = Annotated[StrictStr, AfterValidator(_check_setting)]
Epochs = Annotated[float, Field(strict=True, gt=0)]
Seed = Annotated[int, Field(strict=True, ge=0)]


def _list_of(item: Any) -> Any:
    return Annotated[list[item], Field(min_length=1), BeforeValidator(_as_list)]


class ModelFilter(BaseModel):
    """The models of the models file whose fields have these values (each a value or a list of values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: _list_of(Literal["seq2seq", "causal"]) | None = None
    domain: _list_of(Literal["general", "biomedical"]) | None = None
    ift: _list_of(Literal["none", "general", "biomedical"]) | None = None
    family: _list_of(StrictStr) | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> ModelFilter:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(f"a model filter needs at least one of: {', '.join(type(self).model_fields)}")
        return self

    def matches(self, spec: Any) -> bool:
        return all(
            getattr(self, name) is None or getattr(spec, name) in getattr(self, name)
            for name in type(self).model_fields
        )


ModelSelection = Annotated[
    Annotated[_list_of(StrictStr), Tag("names")] | Annotated[ModelFilter, Tag("filter")],
    Discriminator(lambda value: "filter" if isinstance(value, dict) else "names"),
    BeforeValidator(_as_list),
]
EpochsEntry = Annotated[
    Annotated[Epochs, Tag("number")] | Annotated[dict[StrictStr, Epochs], Tag("per_model")],
    Discriminator(lambda value: "per_model" if isinstance(value, dict) else "number"),
]


class FinetuneBlock(BaseModel):
    """Finetuning runs: every model × dataset × setting × seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: ModelSelection
    datasets: _list_of(StrictStr)
    settings: _list_of(SettingName)
    seeds: _list_of(Seed) | None = None
    epochs: Epochs | None = None


class EvaluateBlock(BaseModel):
    """Zero-shot evaluations: every model × dataset on one split."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: ModelSelection
    datasets: _list_of(StrictStr)
    split: Literal["train", "validation", "test"] = "test"


class ExperimentFile(BaseModel):
    """The whole of an experiment file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: StrictStr | None = None
    models: StrictStr | None = None
    out: StrictStr = DEFAULT_OUT
    epochs: dict[SettingName, EpochsEntry] = {}
    finetune: list[FinetuneBlock] = []
    evaluate: list[EvaluateBlock] = []

    @model_validator(mode="after")
    def _some_runs(self) -> ExperimentFile:
        if not self.finetune and not self.evaluate:
            raise ValueError("no runs: give at least one `finetune` or `evaluate` block")
        return self


# --- planned runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRun:
    """One run of a grid: what it is, where its folder goes, and the command that makes it."""

    kind: Kind
    model: str
    dataset: str
    setting: str  # full, k<N>, or zero-shot for an evaluation
    seed: int | None  # None for an evaluation
    epochs: float | None  # None: finetune's own default (and for an evaluation)
    name: str
    folder: Path
    command: str  # one shell command line, `python -m bre_core ...`
    argv: tuple[str, ...] = field(default=(), repr=False)  # the arguments after `python -m bre_core`
    split: str = "test"

    def status(self) -> Status:
        if is_complete(self.folder):
            return "done"
        return "partial" if self.folder.exists() else "pending"


@dataclass(frozen=True)
class _Run:
    """A run as the file defines it, before an output folder is chosen."""

    kind: Kind
    model: str
    dataset: str
    setting: str
    seed: int | None
    epochs: float | None
    split: str
    block: tuple  # the key path of the block that makes it

    @property
    def name(self) -> str:
        if self.kind == "finetune":
            return run_name(self.model, self.dataset, "test", self.setting, self.seed)
        return run_name(self.model, self.dataset, self.split, self.setting)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file and the models file its names refer to."""

    path: Path
    spec: ExperimentFile
    models_file: ModelsFile
    models_path: Path
    runs: tuple[_Run, ...]

    def epochs_for(self, model: str, setting: str) -> float | None:
        """The file's epochs for this model and setting; None when it says nothing for them."""
        entry = self.spec.epochs.get(setting)
        if isinstance(entry, dict):
            return entry.get(model)
        return entry

    def plan(self, out: str | Path | None = None, data_dir: str | Path | None = None) -> list[PlannedRun]:
        """Every run, in file order, with its folder (under `out`, default the file's) and its command."""
        out = str(out if out is not None else self.spec.out)
        models_option: tuple[str, ...] = ()
        if self.models_path != _default_models_path():
            models_option = ("--models", _shown_path(self.models_path))
        planned = []
        for run in self.runs:
            if run.kind == "finetune":
                argv = ["finetune", "--model", run.model, "--dataset", run.dataset, "--setting", run.setting]
                argv += ["--seed", str(run.seed)]
                if run.epochs is not None:
                    argv += ["--epochs", format_number(run.epochs)]
            else:
                argv = ["evaluate", "--model", run.model, "--dataset", run.dataset, "--split", run.split]
            argv += ["--out", out]
            if data_dir is not None:
                argv += ["--data-dir", str(data_dir)]
            argv += models_option
            planned.append(
                PlannedRun(
                    kind=run.kind,
                    model=run.model,
                    dataset=run.dataset,
                    setting=run.setting,
                    seed=run.seed,
                    epochs=run.epochs,
                    name=run.name,
                    folder=Path(out) / run.name,
                    command=shlex.join(["python", "-m", "bre_core", *argv]),
                    argv=tuple(argv),
                    split=run.split,
                )
            )
        return planned


# --- loading ---------------------------------------------------------------------------------------


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; every mistake is a ConfigError naming the file, line and key."""
    path = Path(path)
    data, root = read_yaml(path, "the experiment file")
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with the keys " + ", ".join(ExperimentFile.model_fields), path, 1)
    _check_duplicate_keys(root, path)
    try:
        spec = ExperimentFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error([(_describe(error), error["loc"]) for error in exc.errors()], path, root) from None

    if spec.models is not None:
        models_path = (path.parent / Path(spec.models).expanduser()).resolve()
        if not models_path.is_file():
            raise _config_error([(f"no such models file: {models_path}", ("models",))], path, root)
    else:
        models_path = _default_models_path()
    models_file = load_models_file(models_path)

    problems: list[tuple[str, tuple]] = []
    runs = _expand(spec, models_file, problems)
    if problems:
        raise _config_error(problems, path, root)
    return Experiment(path=path, spec=spec, models_file=models_file, models_path=models_path, runs=tuple(runs))


def _expand(spec: ExperimentFile, models_file: ModelsFile, problems: list) -> list[_Run]:
    """The runs of every block, in file order; unknown names and runs made twice go to `problems`."""
    for setting, entry in spec.epochs.items():
        if isinstance(entry, dict):
            for model in entry:
                if model not in models_file.names:
                    problems.append(
                        (str(UnknownNameError("model", model, models_file.names)), ("epochs", setting, model))
                    )
    runs: list[_Run] = []
    seen: dict[str, tuple] = {}
    blocks = [("finetune", i, block) for i, block in enumerate(spec.finetune)]
    blocks += [("evaluate", i, block) for i, block in enumerate(spec.evaluate)]
    for kind, index, block in blocks:
        loc = (kind, index)
        models = _select_models(block.models, models_file, loc + ("models",), problems)
        datasets = _select_names(block.datasets, "dataset", DATASET_NAMES, loc + ("datasets",), problems)
        if kind == "finetune":
            combos = [
                (model, dataset, setting, seed)
                for model in models
                for dataset in datasets
                for setting in block.settings
                for seed in (block.seeds or [42 if setting == "full" else 0])
            ]
            new = [
                _Run(
                    "finetune",
                    model,
                    dataset,
                    setting,
                    seed,
                    block.epochs if block.epochs is not None else _table_epochs(spec, model, setting),
                    "test",
                    loc,
                )
                for model, dataset, setting, seed in combos
            ]
        else:
            new = [
                _Run("evaluate", model, dataset, "zero-shot", None, None, block.split, loc)
                for model in models
                for dataset in datasets
            ]
        for run in new:
            if run.name in seen:
                other = seen[run.name]
                where = "this block" if other == loc else f"{other[0]}[{other[1]}]"
                problems.append((f"run {run.name} comes twice (also from {where}); each run must be listed once", loc))
                break  # one report per block is enough
            seen[run.name] = loc
        runs += new
    return runs


def _table_epochs(spec: ExperimentFile, model: str, setting: str) -> float | None:
    entry = spec.epochs.get(setting)
    return entry.get(model) if isinstance(entry, dict) else entry


def _select_models(
    selection: list[str] | ModelFilter, models_file: ModelsFile, loc: tuple, problems: list
) -> list[str]:
    if isinstance(selection, ModelFilter):
        chosen = [spec.name for spec in models_file.models if selection.matches(spec)]
        if not chosen:
            problems.append(("no model of the models file matches this filter", loc))
        return chosen
    return _select_names(selection, "model", models_file.names, loc, problems)


def _select_names(names: list[str], kind: str, known: tuple | list, loc: tuple, problems: list) -> list[str]:
    if ALL in names:
        if len(names) > 1:
            problems.append((f"`{ALL}` stands alone: write `{loc[-1]}: {ALL}` or list the {kind}s", loc))
        return list(known)
    for index, name in enumerate(names):
        if name not in known:
            problems.append((str(UnknownNameError(kind, name, list(known))), loc + (index,)))
    return [name for name in names if name in known]


def _default_models_path() -> Path:
    """The models file that `finetune` and `evaluate` read when not given --models."""
    return Path(os.environ.get(ENV_MODELS_FILE) or MODELS_FILE).expanduser().resolve()


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# --- error reporting -------------------------------------------------------------------------------


def _config_error(problems: list[tuple[str, tuple]], path: Path, root: yaml.Node) -> ConfigError:
    """One ConfigError for all problems: a line each (file, line, key: message); its attributes are the first's."""
    located = sorted(((message, *_locate(root, loc)) for message, loc in problems), key=lambda item: item[1] or 0)
    if len(located) == 1:
        message, line, loc = located[0]
        return ConfigError(message, path, line, loc)
    error = ConfigError("\n".join(str(ConfigError(message, path, line, loc)) for message, line, loc in located))
    error.path, error.line, error.loc = path, located[0][1], located[0][2]
    return error


def _locate(root: yaml.Node | None, loc: tuple) -> tuple[int | None, tuple]:
    """The 1-based line of the YAML node at `loc` (the key itself for a mapping entry), and the key path as written.

    Parts of a pydantic location that are not in the file (union branches, dict-key markers) are left out.
    """
    node, line, clean = root, (root.start_mark.line + 1 if root is not None else None), []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is not None:
                clean.append(part)
                line, node = match[0].start_mark.line + 1, match[1]
                continue
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            clean.append(part)
            node = node.value[part]
            line = node.start_mark.line + 1
            continue
        if part in _TAGS or (isinstance(part, int) and isinstance(node, yaml.ScalarNode)):
            continue  # not in the file: a union branch, or the list a single value stands for
        clean.append(part)  # a missing key: named, but the line stays that of its parent
        node = None
    return line, tuple(clean)


def _describe(error: dict) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = list(_model_at(loc).model_fields)
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        return f"unknown key{hint}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required key missing"
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or kind == "value_error" else f" (got {got!r})"
    return error["msg"].removeprefix("Value error, ") + shown


def _model_at(loc: tuple) -> type[BaseModel]:
    if "filter" in loc[:-1]:
        return ModelFilter
    if len(loc) >= 3 and loc[0] == "finetune":
        return FinetuneBlock
    if len(loc) >= 3 and loc[0] == "evaluate":
        return EvaluateBlock
    return ExperimentFile


def _check_duplicate_keys(node: yaml.Node, path: Path, loc: tuple = ()) -> None:
    """YAML keeps the last of two equal keys silently; an experiment file must not have any."""
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.value in lines:
                raise ConfigError(
                    f"duplicate key '{key.value}' (also on line {lines[key.value]})", path, line, loc + (key.value,)
                )
            lines[key.value] = line
            _check_duplicate_keys(value, path, loc + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicate_keys(item, path, loc + (index,))


# --- the study's epochs ----------------------------------------------------------------------------


def study_epochs(model_name: str, setting: str) -> float | None:
    """The study's training epochs for a model and setting (experiments/paper.yaml); None when it gives none.

    Few-shot epochs are given for the encoder-decoder models only (the study left decoder-only models out of
    few-shot); full data is 30 epochs for every model.
    """
    try:
        mtime_ns = PAPER_FILE.stat().st_mtime_ns
    except OSError:
        mtime_ns = -1  # load_experiment says the file cannot be read
    return _cached_experiment(str(PAPER_FILE), mtime_ns).epochs_for(model_name, setting)


@functools.lru_cache(maxsize=4)
def _cached_experiment(path: str, mtime_ns: int) -> Experiment:
    return load_experiment(path)
