"""Entry point for `python app.py` and Hugging Face Spaces: build the bre app and serve it."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no network calls

from bre_core.ui import serve  # noqa: E402

if __name__ == "__main__":
    serve()
