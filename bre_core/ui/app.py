"""Assembles the app's tabs and its API into one gr.Blocks; settings come from environment variables."""

from __future__ import annotations

import logging

from bre_core.ui import about_tab, compare_tab, corpus_tab, dashboard_tab, errors_tab
from bre_core.ui.context import GENERATION_GROUP, AppContext, context_from_env

log = logging.getLogger(__name__)
PUBLIC_API = "compare_text"  # the one documented endpoint
QUEUE_SIZE = 64  # waiting requests; at about a second per comparison on a GPU, a minute's wait at most
TITLE = "bre — general vs biomedical language models for relation extraction"
CSS = """
.bre-passage { line-height: 1.6; padding: 8px; border: 1px solid var(--border-color-primary); border-radius: 6px; }
.bre-passage mark { padding: 0 2px; border-radius: 3px; }
mark.bre-correct { background: #c8ecd0; }
mark.bre-wrong { background: #f7cdcd; }
mark.bre-missed { background: #e2e2e2; }
mark.bre-found { background: #fde9b0; }
"""


def build_app(ctx: AppContext | None = None, data_dir: str | None = None):
    import gradio as gr

    from bre_core.errors import BreError, log_fault

    ctx = ctx or context_from_env(data_dir=data_dir)
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nA research tool, not for clinical use · based on Brokman & Kavuluru, arXiv:2402.13470")
        with gr.Tab("Compare"):
            compare_tab.build(gr, app, ctx)
        with gr.Tab("Dashboard"):
            dashboard_tab.build(gr, app, ctx)
        with gr.Tab("Error cases"):
            errors_tab.build(gr, app, ctx)
        with gr.Tab("Corpus"):
            corpus_tab.build(gr, app, ctx.data_dir)
        with gr.Tab("About"):
            about_tab.build(gr)

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
    return app


def _keep_internal_events_private(app) -> None:
    """Only /compare_text is an API: the tabs' own events stay out of the API page and the client libraries."""
    for fn in app.fns.values():
        if fn.api_name != PUBLIC_API:
            fn.api_visibility = "private"


def configure_queue(app, max_size: int = QUEUE_SIZE):
    """The bounded queue: a request beyond `max_size` waiting is refused at once with "queue is full"."""
    # One event of a kind at a time; the generating events share one slot (GENERATION_GROUP), since they share the GPU.
    return app.queue(max_size=max_size, default_concurrency_limit=1)


def serve(ctx: AppContext | None = None, **launch_options):
    """Build the app and serve it (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where; 127.0.0.1:7860 by default)."""
    app = configure_queue(build_app(ctx))
    return app.launch(css=CSS, **launch_options)
