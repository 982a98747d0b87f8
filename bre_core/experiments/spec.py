"""Experiment grids (experiments/*.yaml), validated strictly, expanded into runs, then listed, printed or run.

An experiment file names models (from a models file), datasets, settings and seeds in blocks; each block is the
product of its lists. The format is documented at the top of experiments/paper.yaml, which holds the study's
grid and its epochs (read by `finetune` through `study_epochs`).
"""

from __future__ import annotations

import functools
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bre_core.config import ENV_MODELS_FILE, MODELS_FILE, ModelsFile, load_models_file
from bre_core.datasets import DATASETS
from bre_core.datasets.integrity import TRAIN_DOCUMENTS
from bre_core.errors import UnknownNameError
from bre_core.experiments.file_schema import TAGS, ExperimentFile, ModelFilter, describe
from bre_core.runs import is_complete, run_name
from bre_core.settings import FEW_SHOT_SEEDS, FULL_DATA_SEED, parse_setting
from bre_core.yaml_errors import ConfigError, check_duplicate_keys, config_error, read_yaml, validate

PAPER_FILE = Path(__file__).resolve().parents[2] / "experiments" / "paper.yaml"
DATASET_NAMES = tuple(DATASETS)  # cdr, chemprot, ddi, dce
ALL = "all"

Kind = Literal["finetune", "evaluate"]
Status = Literal["done", "partial", "pending"]


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

    def check_out(self) -> None:
        """The file's `out` must lie in the working tree or beside the file: a file cannot send runs to /etc.

        A folder elsewhere can be given on the command line instead (--out), as an absolute path.
        """
        out = Path(self.spec.out).resolve()
        allowed = (Path.cwd().resolve(), Path(self.path).resolve().parent)
        if not any(out == root or root in out.parents for root in allowed):
            raise ConfigError(
                f"{self.spec.out!r} is outside the working tree {allowed[0]} and the file's folder {allowed[1]}; "
                "use a folder inside one of them, or give --out /absolute/path on the command line",
                self.path,
                loc=("out",),
            )

    def plan(self, out: str | Path | None = None, data_dir: str | Path | None = None) -> list[PlannedRun]:
        """Every run, in file order, with its folder (under `out`, default the file's) and its command."""
        if out is None:
            self.check_out()
        out = str(out if out is not None else self.spec.out)
        models_option: tuple[str, ...] = ()
        if self.models_path != _default_models_path():
            models_option = ("--models", _shown_path(self.models_path))
        planned = []
        for run in self.runs:
            if run.kind == "finetune":
                plan = parse_setting(run.setting)  # lora-k64: the k64 data, trained with adapters
                argv = ["finetune", "--model", run.model, "--dataset", run.dataset, "--setting", plan.data]
                argv += (
                    ["--peft", "lora"] + (["--quantize", "4bit"] if plan.peft == "qlora" else []) if plan.peft else []
                )
                argv += ["--seed", str(run.seed)]
                if run.epochs is not None:
                    argv += ["--epochs", format_number(run.epochs)]
            else:
                argv = ["evaluate", "--model", run.model, "--dataset", run.dataset, "--split", run.split]
                argv += ["--setting", run.setting] if run.setting != "zero-shot" else []
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
    check_duplicate_keys(root, path)
    spec = validate(ExperimentFile, data, path, root, describe, TAGS)

    if spec.models is not None:
        models_path = (path.parent / Path(spec.models).expanduser()).resolve()
        if not models_path.is_file():
            raise config_error([(f"no such models file: {models_path}", ("models",))], path, root)
    else:
        models_path = _default_models_path()
    models_file = load_models_file(models_path)

    problems: list[tuple[str, tuple]] = []
    runs = _expand(spec, models_file, problems)
    if problems:
        raise config_error(problems, path, root, TAGS)
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
                for seed in (block.seeds or [FULL_DATA_SEED if setting == "full" else FEW_SHOT_SEEDS[0]])
            ]
            for setting in block.settings:
                k = parse_setting(setting).k
                too_large = [d for d in datasets if k is not None and k > TRAIN_DOCUMENTS[d]]
                if too_large:
                    sizes = ", ".join(f"{d} {TRAIN_DOCUMENTS[d]}" for d in too_large)
                    problems.append(
                        (f"{setting} asks for more training documents than there are ({sizes})", loc + ("settings",))
                    )
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
                _Run("evaluate", model, dataset, setting, None, None, block.split, loc)
                for model in models
                for dataset in datasets
                for setting in block.settings
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
