"""Links to a view of the app: URL query parameters (?tab=&task=&split=&id=&a=&b=) read and written, validated."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from bre_core.datasets import DATASETS, SPLITS

TABS = ("compare", "dashboard", "errors", "corpus", "about")
DEFAULT_TAB, DEFAULT_TASK, DEFAULT_SPLIT = "compare", "chemprot", "test"
MAX_VALUE = 200  # characters: longer than any id, model or run name; a longer value is not a name
KEYS = ("tab", "task", "split", "id", "a", "b")
# What each tab reads from a link (and writes into one); the other keys are left out of its links.
TAB_KEYS = {
    "compare": ("task", "split", "id", "a", "b"),
    "dashboard": ("task",),
    "errors": ("task", "a", "b"),
    "corpus": ("task", "split", "id"),
    "about": (),
}


@dataclass(frozen=True)
class View:
    """What a link opens: a tab, a task (dataset), a split, an example id and two models (Compare) or runs (Error
    cases). Empty strings mean "the tab's default"; `notes` say what in the link was not understood (plain text:
    escape it for the component that shows it)."""

    tab: str = DEFAULT_TAB
    task: str = DEFAULT_TASK
    split: str = DEFAULT_SPLIT
    id: str = ""
    a: str = ""
    b: str = ""
    notes: tuple[str, ...] = ()
    linked: bool = False  # the page was opened with view parameters (else every tab shows its defaults)

    def wants(self, tab: str) -> bool:
        """Whether this link opens `tab` (so the tab applies its values)."""
        return self.linked and self.tab == tab

    def noted(self, *notes: str) -> View:
        return replace(self, notes=self.notes + tuple(notes))


def _text(value) -> str | None:
    """A query value as a stripped string, or None when it is no usable string."""
    if isinstance(value, (list, tuple)):  # a key given twice: its last value, as Starlette reads it
        value = value[-1] if value else ""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > MAX_VALUE or any(
        ord(c) < 32 or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in value
    ):
        return None
    return value


def _choice(key: str, value, allowed: Collection[str], default: str, notes: list[str]) -> str:
    if value is None:
        return default
    text = _text(value)
    if text is None:
        notes.append(f"The link's {key} is not a usable value; showing {default}.")
        return default
    if text in allowed:
        return text
    if text.lower() in allowed:
        return text.lower()
    notes.append(f"The link's {key} '{text}' is not one of {', '.join(allowed)}; showing {default}.")
    return default


def parse_view(query: Mapping | None, models: Collection[str] | None = None) -> View:
    """The view a link's query parameters name, every value checked: an unknown tab, task or split falls back to the
    default with a note; `a`/`b` must be names of `models` when the link opens Compare and `models` is given.
    Never raises, whatever the query holds."""
    query = query if isinstance(query, Mapping) else {}
    if not any(key in query for key in KEYS):
        return View()
    notes: list[str] = []
    tab = _choice("tab", query.get("tab"), TABS, DEFAULT_TAB, notes)
    task = _choice("task", query.get("task"), sorted(DATASETS), DEFAULT_TASK, notes)
    split = _choice("split", query.get("split"), list(SPLITS), DEFAULT_SPLIT, notes)
    values = {}
    for key in ("id", "a", "b"):
        raw = query.get(key)
        text = "" if raw is None else _text(raw)
        if text is None:
            notes.append(f"The link's {key} is not a usable value; it is left out.")
        values[key] = text or ""
    if tab == "compare" and models is not None:
        for key in ("a", "b"):
            if values[key] and values[key] not in models:
                notes.append(f"The link's model {key} '{values[key]}' is not in the models file; the default is shown.")
                values[key] = ""
    return View(tab, task, split, values["id"], values["a"], values["b"], tuple(notes), linked=True)


def view_link(view: View) -> str:
    """The query string ("?tab=...") that opens `view`: the tab, then the values that tab reads, empty ones left out."""
    fields = {"tab": view.tab, **{key: getattr(view, key) for key in TAB_KEYS.get(view.tab, ())}}
    return "?" + urlencode({key: value for key, value in fields.items() if value})


def query_of(request) -> dict:
    """A gr.Request's query parameters as a plain dict ({} when there is no request, as in a direct call)."""
    try:
        return dict(getattr(request, "query_params", None) or {})
    except (TypeError, ValueError, AttributeError):
        return {}


def notes_markdown(view: View, escape) -> str:
    """The link's notes as one Markdown line, each escaped with `escape` (compare_view.markdown_text)."""
    return " ".join(f"⚠️ {escape(note)}" for note in view.notes)
