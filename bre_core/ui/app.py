"""Assembles the app's tabs and its API into one gr.Blocks; settings come from environment variables."""

from __future__ import annotations

from bre_core.ui import about_tab, compare_tab, corpus_tab, dashboard_tab, errors_tab
from bre_core.ui.context import AppContext, context_from_env

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

    from bre_core.errors import BreError

    ctx = ctx or context_from_env(data_dir=data_dir)
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nA research tool, not for clinical use · based on Brokman & Kavuluru, arXiv:2402.13470")
        with gr.Tab("Compare"):
            compare_tab.build(gr, app, ctx)
        with gr.Tab("Dashboard"):
            dashboard_tab.build(gr, app, ctx.runs_dirs, ctx.models)
        with gr.Tab("Error cases"):
            errors_tab.build(gr, app, ctx.runs_dirs, ctx.data_dir)
        with gr.Tab("Corpus"):
            corpus_tab.build(gr, app, ctx.data_dir)
        with gr.Tab("About"):
            about_tab.build(gr)

        def compare_text(task: str, model_a: str, model_b: str, text: str) -> dict:
            """Run two models of the models file on a passage: their relations, raw outputs and timings."""
            try:
                return compare_tab.compare_text(ctx, task, model_a, model_b, text)
            except BreError as exc:
                raise gr.Error(str(exc)) from None

        gr.api(compare_text, api_name="compare_text")
    return app


def serve(ctx: AppContext | None = None, **launch_options):
    """Build the app and serve it (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where; 127.0.0.1:7860 by default)."""
    app = build_app(ctx)
    # One generation at a time per event: two models already share the GPU; a bounded queue answers "busy" early.
    app.queue(max_size=64, default_concurrency_limit=1)
    return app.launch(css=CSS, **launch_options)
