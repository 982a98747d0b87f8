"""Errors a user can act on: each message says what is wrong and how to fix it."""

from __future__ import annotations

import difflib
import errno
import traceback
from pathlib import Path


class BreError(Exception):
    """Base class of every error this library raises on purpose."""


class UnknownNameError(BreError, KeyError, ValueError):
    """A name (dataset, split, model, setting, document id, format) that is not one of the known ones."""

    def __init__(self, kind: str, name: str, available: list[str] | tuple[str, ...]):
        self.kind, self.name, self.available = kind, name, tuple(available)
        guess = difflib.get_close_matches(str(name), [str(a) for a in available], n=1)
        hint = f" Did you mean '{guess[0]}'?" if guess else ""
        super().__init__(f"Unknown {kind} '{name}'.{hint} Available: {', '.join(available)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return self.args[0]


class DataError(BreError):
    """A corpus file that is missing or cannot be read."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None, hint: str | None = None):
        self.path, self.line = path, line
        where = ""
        if path is not None:
            where = f"{path}" + (f", line {line}" if line is not None else "") + ": "
        super().__init__(where + message + (f"\n{hint}" if hint else ""))


class DownloadError(BreError):
    """A download that failed or produced files that do not match their recorded checksums."""


class HubUnavailableError(BreError):
    """The Hugging Face hub cannot be reached (offline machine or HF_HUB_OFFLINE=1)."""


class PredictionFileError(BreError):
    """A predictions file with a malformed line or an id that is not in the split."""


class RunError(BreError):
    """A run folder that is missing, incomplete, damaged or not comparable with another."""


class DiskFullError(BreError, OSError):
    """No space left while writing a file; what was written before is intact, so the same command resumes."""

    def __init__(self, path: Path | str):
        self.path = path
        super().__init__(f"disk full while writing {path}; free space and run the same command again, it resumes.")


def disk_full(exc: OSError) -> bool:
    """Whether an OSError is "no space left on device" (or over a disk quota)."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


class InputError(BreError):
    """Text or a choice a user submitted that the app refuses (empty, too long, control characters, unknown)."""


class SourceTooLongError(InputError):
    """A passage that, with its task's instruction, is longer than a model reads; the app refuses to cut it."""

    def __init__(self, model: str, tokens: int, limit: int):
        self.model, self.tokens, self.limit = model, tokens, limit
        super().__init__(
            f"The passage with its instruction is {tokens:,} tokens for {model}, which reads at most {limit:,}: "
            f"shorten it by about {1 - limit / tokens:.0%}."
        )


def log_fault(log, what: str, exc: BaseException) -> str:
    """Log an unexpected exception's type and frames, never its message (it can quote a user's text).

    Returns the line to show the user instead of a stack trace."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s failed (%s):\n%s", what, type(exc).__name__, frames)
    return f"{what} failed ({type(exc).__name__}); the server log has the details."
