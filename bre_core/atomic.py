"""Atomic file writes: write a temporary file beside the target, then rename it into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bre_core.errors import DiskFullError, disk_full


def write_text_atomic(path: str | Path, chunks: Iterable[str] | str) -> Path:
    """Write text to `path` so that readers see either the old file or the whole new one, never a part."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if disk_full(exc):
            raise DiskFullError(path) from exc
        raise
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            for chunk in [chunks] if isinstance(chunks, str) else chunks:
                stream.write(chunk)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError) and disk_full(exc):
            raise DiskFullError(path) from exc
        raise
    return path
