"""The Gradio app: the only package that imports gradio. `build_app()` assembles the tabs."""

from bre_core.ui.app import build_app

__all__ = ["build_app"]
