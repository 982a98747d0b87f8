"""The app served on a free loopback port, for the tests that reach it over HTTP (gradio_client, a browser, raw)."""

from __future__ import annotations

import contextlib
import json
import socket
import uuid


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


def fn_index(app, api_name: str) -> int:
    return next(index for index, fn in app.fns.items() if fn.api_name == api_name)


def _completion(app, session: str) -> dict:
    """The server-sent events of a session's queued request, read until it completes: the last message."""
    import httpx

    url = f"{app.local_url}gradio_api/queue/data"
    with httpx.stream("GET", url, params={"session_hash": session}, timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and (message := json.loads(line[5:])).get("msg") == "process_completed":
                return message
    raise AssertionError("the event stream ended before the request completed")


def join_queue(app, body: dict) -> tuple[int, dict | None]:
    """POST /gradio_api/queue/join as the page does (any body), then wait for the answer: (status, completion)."""
    import httpx

    session = uuid.uuid4().hex
    response = httpx.post(f"{app.local_url}gradio_api/queue/join", json={"session_hash": session, **body}, timeout=30)
    if response.status_code != 200:
        return response.status_code, None
    return 200, _completion(app, session)


def call_api(app, api_name: str, data) -> tuple[int, str]:
    """POST /gradio_api/call/NAME (the documented HTTP API), then GET its answer: (status, the answer's text)."""
    import httpx

    response = httpx.post(f"{app.local_url}gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    if response.status_code != 200:
        return response.status_code, response.text
    answer = httpx.get(f"{app.local_url}gradio_api/call/{api_name}/{response.json()['event_id']}", timeout=60)
    return answer.status_code, answer.text
