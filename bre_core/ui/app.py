"""Assembles the app's tabs and its API into one gr.Blocks, guarded for a public server; settings from env."""

from __future__ import annotations

import functools
import json
import logging
import re
import traceback

from bre_core.errors import BreError, log_fault
from bre_core.ui import about_tab, compare_tab, corpus_tab, dashboard_tab, errors_tab, link_box
from bre_core.ui.context import GENERATION_GROUP, AppContext, context_from_env

log = logging.getLogger(__name__)
PUBLIC_API = "compare_text"  # the one documented endpoint
QUEUE_SIZE = 64  # waiting requests; at about a second per comparison on a GPU, a minute's wait at most
MAX_BODY_BYTES = 2**20  # a request body; the longest passage allowed (12,000 characters) is under 150 KB as JSON
CLOSED_ROUTES = {"upload", "process_recording"}  # Gradio's routes that store what is sent; the app takes no files
# The routes that name an event to run, by fn_index in the JSON body or by API name in the path.
EVENT_ROUTE = re.compile(r"/(?:queue/join|(?:run|api|call|call/v2)/([^/]+))$")
NO_FILES = "This app takes no files."
TOO_LARGE = f"The request is larger than {MAX_BODY_BYTES:,} bytes."
NO_EVENT = "No such event or API endpoint."
TITLE = "bre — general vs biomedical language models for relation extraction"
CSS = """
.bre-passage { line-height: 1.6; padding: 8px; border: 1px solid var(--border-color-primary); border-radius: 6px; }
.bre-passage mark { padding: 0 2px; border-radius: 3px; }
mark.bre-correct { background: #c8ecd0; }
mark.bre-wrong { background: #f7cdcd; }
mark.bre-missed { background: #e2e2e2; }
mark.bre-found { background: #fde9b0; }
.bre-legend { font-size: 0.9em; margin: 4px 0; }
.bre-legend mark { padding: 0 4px; border-radius: 3px; margin-right: 4px; }
"""


def build_app(ctx: AppContext | None = None, data_dir: str | None = None):
    import gradio as gr

    ctx = ctx or context_from_env(data_dir=data_dir)
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nA research tool, not for clinical use · based on Brokman & Kavuluru, arXiv:2402.13470")
        links = link_box.build(gr)
        # Each tab has an id, so that a link (?tab=...) can open it; build() returns the controls a link names.
        # Dashboard and Error cases read the runs when they are opened, not when a page loads.
        with gr.Tabs(selected=link_box.DEFAULT_TAB) as tabs:
            with gr.Tab("Compare", id="compare") as compare:
                named = {"compare": compare_tab.build(gr, app, ctx)}
            with gr.Tab("Dashboard", id="dashboard") as dashboard:
                named["dashboard"] = dashboard_tab.build(gr, app, ctx, tab=dashboard)
            with gr.Tab("Error cases", id="errors") as errors:
                named["errors"] = errors_tab.build(gr, app, ctx, tab=errors)
            with gr.Tab("Corpus", id="corpus") as corpus:
                named["corpus"] = corpus_tab.build(gr, app, ctx.data_dir)
            with gr.Tab("About", id="about") as about:
                about_tab.build(gr)
        link_box.wire(
            gr,
            app,
            ctx,
            links,
            tabs,
            {"compare": compare, "dashboard": dashboard, "errors": errors, "corpus": corpus, "about": about},
            named,
        )

        def compare_text(task: str, model_a: str, model_b: str, text: str) -> dict:
            """Run two models of the models file on a passage: their relations, raw outputs and timings."""
            try:
                return compare_tab.compare_text(ctx, task, model_a, model_b, text)
            # Not printed by Gradio: a refusal can quote what the user sent, and user text is never logged.
            except BreError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            except Exception as exc:  # never a stack trace in the response, never the user's text in the log
                raise gr.Error(log_fault(log, "compare_text", exc), print_exception=False) from None

        gr.api(compare_text, api_name=PUBLIC_API, concurrency_id=GENERATION_GROUP, concurrency_limit=1)
    _keep_internal_events_private(app)
    _process_quietly(app, gr)
    _launch_guarded(app)
    return app


def _keep_internal_events_private(app) -> None:
    """Only /compare_text is an API: the tabs' own events stay out of the API page and the client libraries."""
    for fn in app.fns.values():
        if fn.api_name != PUBLIC_API:
            fn.api_visibility = "private"


def _process_quietly(app, gr) -> None:
    """Every event's failure reaches the log as its type and frames only, and a refusal not at all.

    Gradio prints the traceback of any exception an event raises, message included, and its messages quote what
    was sent: "Received inputs: [...]" for too few values, the value itself for a choice not in a dropdown.
    Whatever arrives here is a request's data, so nothing of it is printed.
    """
    process_api = app.process_api

    async def quiet(block_fn, inputs, *args, **kwargs):
        fn = app.fns[block_fn] if isinstance(block_fn, int) else block_fn
        if len(inputs or ()) < len(fn.inputs):
            raise gr.Error(
                f"This event takes {len(fn.inputs)} values; the request sent {len(inputs or ())}.",
                print_exception=False,
            )
        if _holds_file(inputs):  # Gradio would fetch a URL named in it into its cache
            raise gr.Error(NO_FILES, print_exception=False)
        try:
            return await process_api(block_fn, inputs, *args, **kwargs)
        except gr.Error as exc:  # a refusal, shown to whoever sent the value it may quote; never printed
            exc.print_exception = False
            raise
        except Exception as exc:
            raise gr.Error(log_fault(log, fn.name or "The event", exc), print_exception=False) from None

    app.process_api = quiet


def _holds_file(value) -> bool:
    """Whether a request's value holds a file reference (Gradio's FileData), at any depth."""
    if isinstance(value, dict):
        return (value.get("meta") or {}).get("_type") == "gradio.FileData" or any(map(_holds_file, value.values()))
    return isinstance(value, list) and any(map(_holds_file, value))


def _launch_guarded(app) -> None:
    """Whoever launches the app (serve, the tests, the load benchmark) serves it behind the RequestGuard."""
    launch = app.launch

    @functools.wraps(launch)
    def guarded(*args, app_kwargs=None, **options):
        from starlette.middleware import Middleware

        kwargs = dict(app_kwargs or {})
        kwargs["middleware"] = [*kwargs.get("middleware", []), Middleware(RequestGuard, blocks=app)]
        # An unhandled error's message can quote the request: the server's, asyncio's and Gradio's loggers drop it.
        gradio = [name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] == "gradio"]
        for logger in map(logging.getLogger, ["uvicorn.error", "asyncio", "gradio", *gradio]):
            if not any(isinstance(f, MessagesLeftOut) for f in logger.filters):
                logger.addFilter(MessagesLeftOut())
        # Static file workers and a Node front server would answer requests that never pass the guard.
        options.update(ssr_mode=False, num_workers=0, max_file_size=MAX_BODY_BYTES)
        return launch(*args, app_kwargs=kwargs, **options)

    app.launch = guarded


class MessagesLeftOut(logging.Filter):
    """A logged exception keeps its type and frames, not its message, as log_fault writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):  # logger.warning("failed: %s", exc)
            record.args = tuple(
                f"{type(a).__name__} (message left out)" if isinstance(a, BaseException) else a for a in record.args
            )
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frames = "".join(traceback.format_tb(exc.__traceback__))
            record.exc_info, record.exc_text = None, f"{type(exc).__name__} (message left out):\n{frames}"
        return True


class RequestGuard:
    """ASGI middleware before Gradio's routes: no file uploads, bodies of at most MAX_BODY_BYTES, known events only.

    A body is refused from its Content-Length before it is read, or as soon as a streamed body passes the limit;
    a body within it is read here (it is small) and handed on whole.
    """

    def __init__(self, app, blocks, max_bytes: int = MAX_BODY_BYTES):
        self.app, self.blocks, self.max_bytes = app, blocks, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.datastructures import Headers

        headers, path = Headers(scope=scope), scope["path"].rstrip("/")
        if path.rsplit("/", 1)[-1] in CLOSED_ROUTES or headers.get("content-type", "").startswith("multipart/"):
            return await _refuse(scope, receive, send, 403, NO_FILES)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await _refuse(scope, receive, send, 413, TOO_LARGE)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None  # the client left: nobody to answer
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await _refuse(scope, receive, send, 413, TOO_LARGE)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if scope["method"] == "POST" and self._unknown_event(path, body):
            return await _refuse(scope, receive, send, 404, NO_EVENT)
        handed = False

        async def replay():
            nonlocal handed
            if handed:
                return await receive()  # what comes after the body: a disconnect
            handed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    def _unknown_event(self, path: str, body: bytes) -> bool:
        """Whether the request names an event the app lacks (Gradio answers those with a server error, 500)."""
        route = EVENT_ROUTE.search(path)
        if route is None:
            return False
        try:
            request = json.loads(body)
            index = request.get("fn_index")
            index = None if index is None else int(index)
        except (ValueError, TypeError, AttributeError, OverflowError):
            return False  # not JSON, or not an event's fields: Gradio's own validation answers (422)
        if index is not None:
            return index not in self.blocks.fns
        return route.group(1) is not None and route.group(1) not in {fn.api_name for fn in self.blocks.fns.values()}


async def _refuse(scope, receive, send, status: int, detail: str) -> None:
    from starlette.responses import JSONResponse

    # Connection: close, since the body, if any, is left unread.
    await JSONResponse({"detail": detail}, status_code=status, headers={"Connection": "close"})(scope, receive, send)


def configure_queue(app, max_size: int = QUEUE_SIZE):
    """The bounded queue: a request beyond `max_size` waiting is refused at once with "queue is full"."""
    # One event of a kind at a time; the generating events share one slot (GENERATION_GROUP), since they share the GPU.
    return app.queue(max_size=max_size, default_concurrency_limit=1)


def serve(ctx: AppContext | None = None, **launch_options):
    """Build the app and serve it (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where; 127.0.0.1:7860 by default)."""
    app = configure_queue(build_app(ctx))
    return app.launch(css=CSS, **launch_options)
