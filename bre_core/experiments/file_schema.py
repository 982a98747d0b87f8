"""The experiment file's schema (pydantic, strict): model selections, finetune and evaluate blocks, epochs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictStr,
    Tag,
    model_validator,
)

from bre_core.errors import BreError
from bre_core.settings import parse_setting
from bre_core.yaml_errors import describe as describe_error

DEFAULT_OUT = "runs"
# Parts of a pydantic error location that are not keys of the file (the branches of the tagged unions below).
TAGS = frozenset({"names", "filter", "number", "per_model"})


def _as_list(value: Any) -> Any:
    """A single value stands for a list of one: `datasets: cdr`, `seeds: 7`."""
    return value if isinstance(value, (list, dict)) or value is None else [value]


def _check_setting(value: str) -> str:
    try:
        parse_setting(value)
    except BreError:
        raise ValueError(
            f"unknown setting '{value}': full (all training data) or k<N> with N >= 1 (k16, k64)"
        ) from None
    return value


def _check_prompt_setting(value: str) -> str:
    from bre_core.tasks.prompting import parse_prompt_setting

    try:
        parse_prompt_setting(value)
    except BreError:
        raise ValueError(f"unknown setting '{value}': zero-shot or icl-k<N> with N >= 1 (icl-k4)") from None
    return value


SettingName = Annotated[StrictStr, AfterValidator(_check_setting)]
PromptSettingName = Annotated[StrictStr, AfterValidator(_check_prompt_setting)]
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
    settings: _list_of(PromptSettingName) = ["zero-shot"]  # icl-kN: N demonstrations from the training split


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


def describe(error: dict) -> str:
    """One pydantic error of an experiment file as its message."""
    return describe_error(error, _schema_at)


def _schema_at(loc: tuple) -> type[BaseModel]:
    """The block whose keys are allowed at `loc`."""
    if "filter" in loc[:-1]:
        return ModelFilter
    if len(loc) >= 3 and loc[0] == "finetune":
        return FinetuneBlock
    if len(loc) >= 3 and loc[0] == "evaluate":
        return EvaluateBlock
    return ExperimentFile
