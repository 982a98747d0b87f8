"""The app served on a free loopback port, for the tests that reach it over HTTP (gradio_client, a browser)."""

from __future__ import annotations

import contextlib
import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(ctx, css: str | None = None, **queue):
    """The app of `ctx` behind its bounded queue (`queue`: configure_queue's options), closed afterwards."""
    from bre_core.ui import build_app
    from bre_core.ui.app import configure_queue

    app = configure_queue(build_app(ctx), **queue)
    app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, css=css)
    try:
        yield app
    finally:
        app.close()
