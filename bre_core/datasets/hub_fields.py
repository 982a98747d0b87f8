"""Reading hub rows: mappings, typed fields, records and offsets, each error naming the row and the key."""

from __future__ import annotations

from collections.abc import Mapping

from bre_core.errors import DataError


def mapping_at(value, at: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise DataError(f"expected a mapping, got {type(value).__name__}.", path=at)
    return value


def typed_field(mapping: Mapping, key: str, kind, at: str):
    """mapping[key], checked for presence and type, or a DataError naming the row and the key."""
    mapping = mapping_at(mapping, at)
    if key not in mapping:
        raise DataError(
            f"missing key '{key}' (keys present: {', '.join(sorted(map(str, mapping))) or 'none'}).", path=at
        )
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DataError(f"key '{key}' has type {type(value).__name__}, expected {expected}.", path=at)
    return value


def records_at(mapping: Mapping, key: str, at: str) -> list[Mapping]:
    """A list of records, whether stored as a list of dicts or, as `datasets.Sequence({...})` returns them, as a
    dict of equally long lists."""
    value = typed_field(mapping, key, (list, tuple, Mapping), at)
    if isinstance(value, Mapping):
        lengths = {len(v) if isinstance(v, (list, tuple)) else -1 for v in value.values()}
        if -1 in lengths or len(lengths) > 1:
            raise DataError(f"key '{key}' holds columns of different lengths or non-list columns.", path=at)
        count = lengths.pop() if lengths else 0
        return [{name: column[i] for name, column in value.items()} for i in range(count)]
    for i, record in enumerate(value, start=1):
        mapping_at(record, f"{at}, {key} {i}")
    return list(value)


def offsets_pair(value, at: str) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in value)
    ):
        raise DataError(f"expected offsets [start, end], found {value!r}.", path=at)
    return int(value[0]), int(value[1])
