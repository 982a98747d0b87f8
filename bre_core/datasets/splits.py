"""The train/validation split of corpora that ship without a validation set (DDI, DCE): seeded, or the study's."""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TypeVar

from bre_core.errors import DataError

T = TypeVar("T")

DEFAULT_SPLIT_SEED = 42
STUDY_SPLIT = "study"  # the study's own validation documents, listed in study_splits/validation_ids.json
VALIDATION_FRACTION = 0.2
# The field of a corpus row that the study's list names.
_ID_FIELDS = {"ddi": "document_id", "dce": "doc_id"}


def check_split_seed(value: int | str) -> int | str:
    """`study`, or an integer seed (a string of digits from the command line is one).

    >>> check_split_seed("7"), check_split_seed("study")
    (7, 'study')
    """
    if value == STUDY_SPLIT or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise DataError(f"--split-seed must be 'study' (the study's own validation split) or an integer, got {value!r}.")


@functools.cache
def study_validation_ids(dataset: str) -> frozenset[str]:
    """The ids of the study's validation documents of `dataset` (shipped with the package)."""
    text = resources.files("bre_core.datasets").joinpath("study_splits/validation_ids.json").read_text("utf-8")
    return frozenset(json.loads(text)[dataset]["validation"])


def study_split(items: Sequence[tuple[int, Mapping]], split: str, dataset: str) -> list[tuple[int, Mapping]]:
    """The (line, row) items of `split` under the study's own train/validation split of `dataset`."""
    ids, field = study_validation_ids(dataset), _ID_FIELDS[dataset]
    validation = [item for item in items if str(item[1].get(field)) in ids]
    if len(validation) != len(ids):
        found = {str(item[1].get(field)) for item in validation}
        absent = sorted(ids - found)
        raise DataError(
            f"the study's {dataset} validation split names {len(absent)} of its {len(ids)} documents that are "
            f"not in this training file (e.g. {', '.join(absent[:3])}): it is not the official release. "
            f"Use --split-seed N for a seeded split instead."
        )
    return validation if split == "validation" else [item for item in items if str(item[1].get(field)) not in ids]


def split_train_validation(
    items: Sequence[T], seed: int = DEFAULT_SPLIT_SEED, fraction: float = VALIDATION_FRACTION
) -> tuple[list[T], list[T]]:
    """A seeded `fraction` of `items` (rounded) as validation, the rest as train; both keep file order."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    validation = set(order[: round(len(items) * fraction)])
    train = [item for i, item in enumerate(items) if i not in validation]
    held_out = [item for i, item in enumerate(items) if i in validation]
    return train, held_out


def seeded_split(
    items: Sequence[T], split: str, seed: int | str | None = DEFAULT_SPLIT_SEED, dataset: str = ""
) -> list[T]:
    """The items of `split` for a corpus whose official training set also gives the validation split.

    `seed` is an integer (a seeded share of train) or "study" (the study's own list; items are (line, row)).
    """
    if split == "test":
        return list(items)
    if seed == STUDY_SPLIT:
        return study_split(items, split, dataset)
    train, validation = split_train_validation(items, DEFAULT_SPLIT_SEED if seed is None else seed)
    return train if split == "train" else validation
