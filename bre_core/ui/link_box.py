"""The app's link to the current view: opening a link selects its tab and notes what it could not use; "Copy link"
shows (and copies) the link of what is on the screen."""

# No postponed annotations: Gradio fills in a parameter annotated gr.Request only when it sees the class.

import json
from pathlib import Path

from bre_core.ui.compare_view import markdown_text
from bre_core.ui.context import AppContext
from bre_core.ui.deep_links import DEFAULT_TAB, TAB_KEYS, View, notes_markdown, parse_view, query_of, view_link

__all__ = ["DEFAULT_TAB", "build", "current_view", "wire"]
FREE_TEXT = "Free text"  # compare_tab.FREE_TEXT: typed text is never put in a link
# In the browser: the page's address without its query, then the view's query; copied where the browser allows.
COPY_JS = """(query) => {
    const url = window.location.origin + window.location.pathname + (query || "");
    try { navigator.clipboard.writeText(url).catch(() => {}); } catch (e) {}
    return url;
}"""


# In the browser: click the button of the link's tab (a known tab id only; anything else leaves Compare shown).
OPEN_TAB_JS = f"""() => {{
    const tab = new URLSearchParams(window.location.search).get("tab");
    if ({json.dumps(list(TAB_KEYS))}.includes(tab) && tab !== "{DEFAULT_TAB}") {{
        document.querySelector(`button[data-tab-id="${{tab}}"]`)?.click();
    }}
}}"""


def build(gr) -> dict:
    """The link row (above the tabs) and the note about a link's unusable values."""
    note = gr.Markdown()
    with gr.Row():
        link = gr.Textbox(
            label="Link to this view", interactive=False, scale=5, placeholder="Copy link: the address of what is shown"
        )
        copy = gr.Button("Copy link", scale=1, size="sm")
    return {"note": note, "link": link, "copy": copy, "tab": gr.State(DEFAULT_TAB)}


def _value(values: dict, key: str) -> str:
    value = values.get(key)
    if isinstance(value, (list, tuple)):  # a multiselect filter: one chosen value names one task
        value = value[0] if len(value) == 1 else ""
    return value.strip() if isinstance(value, str) else ""


def current_view(tab: str, values: dict) -> View:
    """The view on the screen: `values` are the shown tab's controls by the keys of deep_links (task, split, id, a,
    b; a run is named by its folder's name, and Compare's id only for a benchmark example)."""
    tab = tab if tab in TAB_KEYS else DEFAULT_TAB
    fields = {key: _value(values, key) for key in TAB_KEYS[tab]}
    if tab == "compare" and values.get("kind") == FREE_TEXT:
        fields["id"] = ""
    if tab == "errors":
        fields.update({key: Path(fields[key]).name for key in ("a", "b") if fields.get(key)})
    # A value not on the screen stays out of the link (an empty dataset filter is no task).
    return View(tab, **{key: fields.get(key, "") for key in ("task", "split", "id", "a", "b")}, linked=True)


def wire(gr, app, ctx: AppContext, links: dict, tabs, tab_items: dict, named: dict) -> None:
    """Open the link's tab on load; track the tab shown; make the link of the view shown on "Copy link"."""

    def opened(request: gr.Request):
        link = parse_view(query_of(request), models=ctx.variant_ids())
        if not link.linked:  # no link: leave the tabs alone (a tab clicked before this answer stays chosen)
            return gr.skip(), ""
        return link.tab, notes_markdown(link, markdown_text)

    # The tab is opened by a click on its button in the page, not by selecting it from the server: a click fires
    # the tab's select event, which is what makes the Dashboard and Error cases read the runs.
    app.load(opened, None, [links["tab"], links["note"]], api_visibility="private").then(
        None, None, None, js=OPEN_TAB_JS
    )
    for tab_id, item in tab_items.items():
        item.select(lambda shown=tab_id: shown, None, links["tab"], api_visibility="private")
    # Every control a link can name, in one list; each tab's values are picked out by position.
    controls = [(tab_id, key, c) for tab_id, shown in named.items() for key, c in (shown or {}).items()]

    def link_of(tab, *values):
        mine = {key: value for (tab_id, key, _), value in zip(controls, values) if tab_id == tab}
        return view_link(current_view(tab, mine))

    links["copy"].click(
        link_of, [links["tab"], *(c for *_, c in controls)], links["link"], api_visibility="private"
    ).then(None, links["link"], links["link"], js=COPY_JS)
