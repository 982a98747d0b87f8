"""The seeded train/validation split for corpora that ship without a validation set (DDI, DCE)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

DEFAULT_SPLIT_SEED = 42
VALIDATION_FRACTION = 0.2


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


def seeded_split(items: Sequence[T], split: str, seed: int | None = DEFAULT_SPLIT_SEED) -> list[T]:
    """The items of `split` for a corpus whose official training set also gives the validation split."""
    if split == "test":
        return list(items)
    train, validation = split_train_validation(items, DEFAULT_SPLIT_SEED if seed is None else seed)
    return train if split == "train" else validation
