"""ConfigError, and how YAML and pydantic problems of the project's YAML files become one: file, line, key, fix."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bre_core.errors import BreError

Schema = TypeVar("Schema", bound=BaseModel)
Problem = tuple[str, tuple]  # (message, key path as pydantic gives it)


class ConfigError(BreError):
    """A configuration file (or a model reference) that is invalid; the message names the file, line and key."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None, loc: tuple = ()):
        self.path, self.line, self.loc, self.detail = path, line, tuple(loc), message
        where = "" if path is None else f"{path}" + (f", line {line}" if line else "") + ": "
        key = f"{key_path(loc)}: " if loc else ""
        super().__init__(where + key + message)


def key_path(loc: tuple) -> str:
    """('models', 3, 'domian') -> 'models[3].domian'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


MAX_YAML_BYTES = 1 << 20  # the study's grid is 5 KiB; a larger file is a mistake, and YAML parsing is slow
MAX_YAML_DEPTH = 20  # the deepest key path of either file format is 5


def read_yaml(path: Path, what: str) -> tuple[Any, yaml.Node | None]:
    """(data, node tree for line numbers) of a YAML file; an unreadable file or bad YAML is a ConfigError.

    Files over MAX_YAML_BYTES, nested over MAX_YAML_DEPTH levels, or with anchors and aliases (`&a` / `*a`,
    which can make a few lines expand to billions of values) are refused before they are built.
    """
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(f"{size:,} bytes; {what} may be at most {MAX_YAML_BYTES:,} bytes (1 MiB)", path)
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"not valid UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8", path, line) from None
    try:
        _check_structure(text, path)
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML: {getattr(exc, 'problem', None) or exc}", path, mark.line + 1 if mark else None
        ) from exc


def _check_structure(text: str, path: Path) -> None:
    """Refuse aliases and deep nesting while only reading events, so that nothing is expanded or recursed."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ConfigError("anchors and aliases (&name, *name) are not allowed: write the values out", path, line)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ConfigError(f"nested more than {MAX_YAML_DEPTH} levels deep", path, line)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def check_duplicate_keys(node: yaml.Node | None, path: Path, loc: tuple = ()) -> None:
    """YAML keeps the last of two equal keys silently; the project's files must not have any."""
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if key.value in lines:
                raise ConfigError(
                    f"duplicate key '{key.value}' (also on line {lines[key.value]})", path, line, loc + (key.value,)
                )
            lines[key.value] = line
            check_duplicate_keys(value, path, loc + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            check_duplicate_keys(item, path, loc + (index,))


def validate(
    schema: type[Schema],
    data: Any,
    path: Path,
    root: yaml.Node | None,
    describe: Callable[[dict], str],
    not_in_file: Iterable[str] = (),
) -> Schema:
    """`schema` validated from `data`; every problem is a line of one ConfigError (see `config_error`).

    A validator may raise ConfigError with a key path (pydantic lets it through, unlike ValueError): it gets
    the file and line here. `describe` turns one pydantic error into its message.
    """
    try:
        return schema.model_validate(data)
    except ConfigError as exc:
        raise config_error([(exc.detail, exc.loc)], path, root, not_in_file) from None
    except ValidationError as exc:
        problems = [(describe(error), error["loc"]) for error in exc.errors()]
        raise config_error(problems, path, root, not_in_file) from None


def config_error(
    problems: list[Problem], path: Path, root: yaml.Node | None, not_in_file: Iterable[str] = ()
) -> ConfigError:
    """One ConfigError for all problems, in file order: a line each (file, line, key: message).

    Its path, line and loc are the first problem's. `not_in_file` names the parts of pydantic locations
    that are not keys of the file (the tags of a union's branches).
    """
    located = sorted(
        ((message, *locate(root, loc, not_in_file)) for message, loc in problems), key=lambda item: item[1] or 0
    )
    if len(located) == 1:
        message, line, loc = located[0]
        return ConfigError(message, path, line, loc)
    error = ConfigError("\n".join(str(ConfigError(message, path, line, loc)) for message, line, loc in located))
    error.path, error.line, error.loc = path, located[0][1], located[0][2]
    return error


def locate(root: yaml.Node | None, loc: tuple, not_in_file: Iterable[str] = ()) -> tuple[int | None, tuple]:
    """The 1-based line of the YAML node at `loc` (the key itself for a mapping entry), and the key path as written.

    Parts of a pydantic location that are not in the file (`not_in_file`, dict-key markers) are left out.
    """
    skipped = {"[key]", *not_in_file}
    node, line, clean = root, (root.start_mark.line + 1 if root is not None else None), []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is not None:
                clean.append(part)
                line, node = match[0].start_mark.line + 1, match[1]
                continue
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            clean.append(part)
            node = node.value[part]
            line = node.start_mark.line + 1
            continue
        if part in skipped or (isinstance(part, int) and isinstance(node, yaml.ScalarNode)):
            continue  # not in the file: a union branch, or the list a single value stands for
        clean.append(part)  # a missing key: named, but the line stays that of its parent
        node = None
    return line, tuple(clean)


def describe(error: dict, schema_at: Callable[[tuple], type[BaseModel]]) -> str:
    """One pydantic error as a fix: an unknown key with the allowed ones, a missing key, a bad value with the value.

    `schema_at(loc)` is the pydantic model whose keys are allowed at `loc`.
    """
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        allowed = list(schema_at(loc).model_fields)
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        return f"unknown key{hint}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required key missing"
    got = error.get("input")
    # A validator's own message already names the value; a mapping or list is too long to repeat.
    shown = "" if isinstance(got, (dict, list)) or kind == "value_error" else f" (got {got!r})"
    return error["msg"].removeprefix("Value error, ") + shown
