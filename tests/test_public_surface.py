"""What a public deployment exposes: one API endpoint, listed models only, no uploads, no file access widened,
request bodies capped, unknown events refused as such."""

import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from served_app import served

from bre_core.errors import InputError
from bre_core.ui.compare_tab import compare_text

UPLOADS = {"File", "UploadButton", "Image", "Audio", "Video", "Gallery", "Model3D", "MultimodalTextbox", "ImageEditor"}


@pytest.fixture(scope="module")
def app(ui_context):
    with served(ui_context, max_size=8) as app:
        yield app


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize(
    "name",
    [
        "google/flan-t5-base",  # a hub id, even of a listed model's checkpoint
        "gpt2",
        "/etc/passwd",
        "../models.yaml",
        "t5-base ",
        "T5-BASE",
        "https://huggingface.co/gpt2",
        "t5-base; rm -rf /",
    ],
)
def test_only_names_of_the_models_file_are_accepted(ui_context, name):
    with pytest.raises(InputError, match="Unknown model") as refused:
        compare_text(ui_context, "ddi", name, "t5-base", "Warfarin and aspirin.")
    assert "Available: t5-base, scifive-base, gone" in str(refused.value)


def test_the_app_has_no_upload_inputs_and_its_downloads_are_outputs(app):
    kinds = {type(block).__name__ for block in app.blocks.values()}
    assert not kinds & UPLOADS
    assert {"DownloadButton", "Textbox", "Dropdown"} <= kinds  # the scan sees the app's real components


def test_only_compare_text_is_an_api(app):
    from gradio_client import Client

    api = Client(app.local_url, verbose=False).view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/compare_text"] and not api["unnamed_endpoints"]
    parameters = [p["parameter_name"] for p in api["named_endpoints"]["/compare_text"]["parameters"]]
    assert parameters == ["task", "model_a", "model_b", "text"]


def test_files_outside_gradios_own_are_not_served(app, ui_context):
    model_config = f"{ui_context.spec('t5-base').path}/config.json"
    url = app.local_url.rstrip("/")
    for path in ["/etc/passwd", model_config, __file__]:
        assert status_of(f"{url}/gradio_api/file={path}") in (403, 404), path
    assert status_of(url) == 200


def raw_request(app, head: bytes, body_parts=(), timeout: float = 10) -> bytes:
    """Send an HTTP/1.1 request by hand (headers of our choosing, the body in parts) and read the answer's head."""
    # The answer is read while the body is still being sent: a server that refuses early closes the connection, and
    # what it sent could be lost to the reset if it were read only after the last part.
    answer = []
    with socket.create_connection((app.server_name, app.server_port), timeout=timeout) as sock:
        reader = threading.Thread(target=lambda: answer.append(_first_bytes(sock)), daemon=True)
        reader.start()
        try:
            sock.sendall(head)
            for part in body_parts:
                if answer:  # answered already: the rest is not wanted
                    break
                sock.sendall(part)
        except (ConnectionResetError, BrokenPipeError):
            pass  # refused before the body ended; the answer is what the reader got
        reader.join(timeout)
    return answer[0] if answer else b""


def _first_bytes(sock) -> bytes:
    try:
        return sock.recv(4096)
    except OSError:
        return b""


def test_uploads_are_refused_and_nothing_is_stored(app):
    import httpx

    marker = uuid.uuid4().hex.encode()
    started = time.time()
    url = app.local_url.rstrip("/")
    for path in ["/gradio_api/upload", "/gradio_api/upload/", "/upload", "/gradio_api/upload?upload_id=x"]:
        response = httpx.post(url + path, files={"files": ("note.txt", marker * 1000)}, timeout=10)
        assert response.status_code in (403, 404), (path, response.status_code)
    # Gradio's other routes that read multipart forms into files: refused for any multipart body
    for path in ["/gradio_api/process_recording", "/gradio_api/component_server"]:
        response = httpx.post(url + path, files={"data": ("a.wav", marker)}, data={"session_hash": "x"}, timeout=10)
        assert response.status_code in (403, 404), (path, response.status_code)
    folder = Path(app.server_app.uploaded_file_dir)
    new = [p for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime >= started - 1] if folder.is_dir() else []
    assert not [p for p in new if marker in p.read_bytes()]


def test_a_body_over_the_limit_is_refused_before_it_is_read(app):
    from bre_core.ui.app import MAX_BODY_BYTES

    # 300 MB announced, a few bytes sent: the answer comes at once, nothing waits for (or stores) the rest
    head = b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    started = time.monotonic()
    answer = raw_request(app, head + b"Content-Length: 300000000\r\n\r\n", [b'{"data": ["'], timeout=5)
    assert answer.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5
    # no length announced (chunked): refused once the body passes the limit, not after reading it all
    chunk = b"a" * 2**16
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (MAX_BODY_BYTES // len(chunk) + 2) + [b"0\r\n\r\n"]
    assert raw_request(app, head + b"Transfer-Encoding: chunked\r\n\r\n", parts).startswith(b"HTTP/1.1 413")


def test_ordinary_requests_pass_the_guard(app):
    from gradio_client import Client

    longest = ("Warfarin and aspirin interact. " * 400)[:12_000]  # ddi's longest allowed passage
    client = Client(app.local_url, verbose=False)
    for text in ["Warfarin and aspirin.", longest]:
        answer = client.predict("ddi", "t5-base", "scifive-base", text, api_name="/compare_text")
        assert answer["a"]["model"] == "t5-base"  # answered (the long one refused in its columns: tiny models)
    assert "reads at most 512" in answer["a"]["error"]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/gradio_api/queue/join", {"fn_index": 999, "data": [], "session_hash": "x"}),
        ("/gradio_api/queue/join", {"fn_index": -1, "data": [], "session_hash": "x"}),
        ("/gradio_api/queue/join", {"fn_index": 10**30, "data": [], "session_hash": "x"}),
        ("/gradio_api/run/predict", {"fn_index": 999, "data": []}),
        ("/gradio_api/call/no_such_endpoint", {"data": []}),
    ],
)
def test_an_unknown_event_is_a_client_error(app, path, body):
    import httpx

    response = httpx.post(app.local_url.rstrip("/") + path, json=body, timeout=10)
    assert response.status_code == 404 and response.json() == {"detail": "No such event or API endpoint."}
