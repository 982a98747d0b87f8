"""Checks the text a user submits before any model reads it: type, encoding, control characters, length."""

from __future__ import annotations

import unicodedata

from bre_core.errors import InputError, UnknownNameError
from bre_core.tasks import Task

# Tab, line feed and carriage return are text; every other C0/C1 control character is not.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
# Direction overrides and isolates reorder what is displayed ("Trojan source"): refused, not rendered.
_DIRECTION_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_passage(text, task: Task) -> str:
    """The passage, trimmed and with line ends normalised, or an InputError that says what to change.

    Accepts str, or bytes that are valid UTF-8. Refuses empty or whitespace-only text, unpaired surrogates
    (what invalid UTF-8 becomes on its way through JSON), control and direction-override characters, and
    text longer than the task's `max_text_chars`.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"The text is not valid UTF-8 (byte {exc.start:,} cannot be decoded).") from None
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError(f"The text must be a string, not {type(text).__name__}.")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if text.startswith("\ufeff"):  # a byte-order mark pasted from a file
        text = text[1:].strip()
    if not text:
        raise InputError("The text is empty: enter a passage (or pick a demo passage).")
    if len(text) > task.max_text_chars:
        raise InputError(
            f"The text has {len(text):,} characters; the limit for {task.name} is {task.max_text_chars:,}. "
            f"Shorten it, or split it into passages."
        )
    for position, char in enumerate(text):
        problem = _problem(char)
        if problem:
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            raise InputError(
                f"The text holds {problem} (U+{ord(char):04X}) at line {line}, column {column}; remove it."
            )
    return text


def check_choice(value, kind: str, available: list[str] | tuple[str, ...]) -> str:
    """A name picked from a list (task, model, split): a string among `available`, else an InputError naming them."""
    if isinstance(value, str) and value in available:
        return value
    shown = value[:80] if isinstance(value, str) else f"a {type(value).__name__}"
    raise InputError(str(UnknownNameError(kind, shown, available)))


def _problem(char: str) -> str | None:
    category = unicodedata.category(char)
    if category == "Cs":
        return "an unpaired surrogate, which is not valid UTF-8"
    if category == "Cc" and char not in _ALLOWED_CONTROLS:
        return "a control character"
    if char in _DIRECTION_CONTROLS:
        return "a text-direction override character"
    if char in "\ufffe\uffff":
        return "a noncharacter"
    return None
