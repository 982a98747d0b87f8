"""Finding the data folder and reading corpus files line by line, with errors that name file and line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from bre_core.errors import DataError

DEFAULT_DATA_DIR = "data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder: the explicit argument, else $BRE_DATA_DIR, else ./data."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir)
    return Path(os.environ.get("BRE_DATA_DIR") or DEFAULT_DATA_DIR)


def how_to_get(dataset: str, data_dir: Path) -> str:
    return (
        f"Get it with `python -m bre_core data download --dataset {dataset} --data-dir {data_dir}`, "
        f"or point --data-dir (or BRE_DATA_DIR) at a folder laid out like the official releases "
        f"(see the README, section 'Data')."
    )


def require_file(path: Path, dataset: str, data_dir: Path) -> Path:
    if not path.is_file():
        # A mistyped --data-dir or BRE_DATA_DIR is the likelier cause than a missing file: say so.
        gone = "" if data_dir.is_dir() else f" (the data folder {data_dir} does not exist)"
        raise DataError(f"missing {dataset} file{gone}.", path=path, hint=how_to_get(dataset, data_dir))
    return path


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line ending); invalid UTF-8 is an error naming the line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"not valid UTF-8 ({exc.reason} at byte {exc.start}).",
                    path=path,
                    line=number,
                    hint="The file is damaged; download it again.",
                ) from None
            yield number, line.rstrip("\n").rstrip("\r")


def iter_tsv(path: Path, columns: int | tuple[int, ...]) -> Iterator[tuple[int, list[str]]]:
    """Rows of a header-less TSV, checking the column count; blank lines are skipped."""
    allowed = (columns,) if isinstance(columns, int) else columns
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) not in allowed:
            expected = " or ".join(str(c) for c in allowed)
            raise DataError(
                f"expected {expected} tab-separated columns, found {len(cells)}: {line[:120]!r}",
                path=path,
                line=number,
                hint="The file is truncated or not in the official format.",
            )
        yield number, cells


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Objects of a JSON-lines file; a line that is not a JSON object is an error naming the line."""
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"not valid JSON ({exc.msg}, column {exc.colno}).",
                path=path,
                line=number,
                hint="The file is truncated or damaged; download it again.",
            ) from None
        if not isinstance(row, dict):
            raise DataError("expected a JSON object.", path=path, line=number)
        yield number, row


def field(row: dict, key: str, path: Path, line: int, kind: type | tuple[type, ...] = object):
    """row[key], checked for presence and type, or an error naming the file, line and key."""
    if key not in row:
        raise DataError(
            f"missing key '{key}' (keys present: {', '.join(sorted(row)) or 'none'}).", path=path, line=line
        )
    value = row[key]
    if not isinstance(value, kind):
        raise DataError(
            f"key '{key}' has type {type(value).__name__}, expected {getattr(kind, '__name__', kind)}.",
            path=path,
            line=line,
        )
    return value


def to_int(value: str, what: str, path: Path, line: int) -> int:
    try:
        return int(value)
    except ValueError:
        raise DataError(f"{what} is not an integer: {value!r}.", path=path, line=line) from None
