"""The outputs `score` reads: JSON lines {"id", "output"}, each fault named by file and line."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

from bre_core.datasets.files import iter_lines
from bre_core.errors import DataError, PredictionFileError


def read_predictions(path: str | Path, known_ids: Collection[str]) -> dict[str, str]:
    """{document id: output} from JSON lines `{"id": ..., "output": ...}`.

    An unreadable line, a missing key, an id that is not among `known_ids` or an id given twice is an
    error naming the file and line.
    """
    path = Path(path)
    if not path.exists():
        raise PredictionFileError(f"{path}: no such predictions file.")
    if not path.is_file():  # a pipe or a device would block or never end
        raise PredictionFileError(f"{path}: not a regular file (a pipe, a device or a folder); give a JSON-lines file.")
    known = set(known_ids)
    outputs: dict[str, str] = {}
    try:
        lines = list(iter_lines(path))
    except DataError as exc:
        raise PredictionFileError(str(exc)) from None
    for number, line in lines:
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PredictionFileError(f"{where}: not valid JSON ({exc.msg}).") from None
        except RecursionError:
            raise PredictionFileError(
                f'{where}: JSON nested too deeply; expected {{"id": ..., "output": ...}}.'
            ) from None
        if not isinstance(row, dict) or "id" not in row or "output" not in row:
            raise PredictionFileError(f'{where}: expected an object with keys "id" and "output", found {line[:120]!r}.')
        doc_id, output = str(row["id"]), row["output"]
        if not isinstance(output, str):
            raise PredictionFileError(f'{where}: "output" must be a string, found {type(output).__name__}.')
        if doc_id not in known:
            sample = ", ".join(sorted(known)[:3])
            raise PredictionFileError(
                f"{where}: id '{doc_id}' is not a document of this split "
                f"(ids look like: {sample}, ...). Check --dataset and --split."
            )
        if doc_id in outputs:
            raise PredictionFileError(f"{where}: id '{doc_id}' appears a second time.")
        outputs[doc_id] = output
    return outputs
