"""Assembles the app's tabs into one gr.Blocks; settings come from environment variables."""

from __future__ import annotations

import os

from bre_core.ui import corpus_tab

TITLE = "bre: general vs biomedical language models for relation extraction"


def build_app(data_dir: str | None = None):
    import gradio as gr

    data_dir = data_dir or os.environ.get("BRE_DATA_DIR") or None
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(
            f"# {TITLE}\nThe study's four corpora in its task formats (Brokman & Kavuluru, arXiv:2402.13470). "
            "A research tool, not for clinical use."
        )
        with gr.Tab("Corpus"):
            corpus_tab.build(gr, app, data_dir)
    return app
