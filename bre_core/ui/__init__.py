"""The Gradio app: the only package that imports gradio. `build_app()` assembles the tabs, `serve()` runs it."""

from bre_core.ui.app import build_app, serve

__all__ = ["build_app", "serve"]
