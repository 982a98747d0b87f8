"""Load test of the /compare_text API: concurrent gradio_client sessions against a loopback app; prints JSON."""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import math
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

# Before gradio, gradio_client or transformers are imported: nothing may leave the machine.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
API_NAME = "/compare_text"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_SESSIONS = 200  # each session is a thread and a client with its own connections: a bound on both
MAX_PER_SESSION = 100
# Per request, and per HTTP read: a hung server fails the run instead of hanging it. Keep it above the 15 s
# between the heartbeats of gradio's event stream, whose quiet spells are not hangs.
TIMEOUT_S = 120.0
FALLBACK_TEXTS = ["Warfarin interacts with fluconazole and increases bleeding risk."]


def check_loopback(url: str) -> str:
    """The URL, if it points at this machine; a load test must never be aimed at someone else's server."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
        raise ValueError(f"refusing to load {url!r}: only http(s) on {', '.join(sorted(LOOPBACK))} is allowed")
    return url


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: always one of the measured values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def classify(answer) -> tuple[str, str]:
    """(outcome, message) of a /compare_text answer: answered only if both sides carry relations and an output."""
    if not isinstance(answer, dict):
        return "error", f"unexpected answer of type {type(answer).__name__}: {str(answer)[:200]}"
    for slot in ("a", "b"):
        side = answer.get(slot)
        if not isinstance(side, dict) or "relations" not in side or "output" not in side:
            detail = side.get("error") if isinstance(side, dict) else side
            return "error", f"side {slot} has no relations/output: {str(detail)[:200]}"
    return "answered", ""


def _client(url: str, timeout: float):
    from gradio_client import Client

    # analytics_enabled=False explicitly: the client's default True overrides GRADIO_ANALYTICS_ENABLED.
    return Client(url, verbose=False, analytics_enabled=False, download_files=False, httpx_kwargs={"timeout": timeout})


def _request(client, args: tuple, timeout: float) -> dict:
    """One comparison: its outcome, latency and (for busy and error) the message the caller saw."""
    from gradio_client.utils import QueueError

    started = time.perf_counter()
    job = answer = None
    try:
        job = client.submit(*args, api_name=API_NAME)
        answer = job.result(timeout=timeout)
        outcome, message = classify(answer)
    # The client raises QueueError for any HTTP 503 from /queue/join: the queue is full (or, while the server
    # shuts down, stopped). The request is refused at once and never runs.
    except QueueError as exc:
        outcome, message = "busy", f"{type(exc).__name__}: {exc}"
    except concurrent.futures.TimeoutError:
        job.cancel()
        outcome, message = "error", f"no answer within {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - anything else is what the load test is looking for
        outcome, message = "error", f"{type(exc).__name__}: {exc}"
    return {"outcome": outcome, "seconds": time.perf_counter() - started, "message": message, "answer": answer}


def server_answers(url: str, args: tuple, timeout: float = TIMEOUT_S) -> bool:
    """Whether a fresh session gets a comparison answered."""
    try:
        client = _client(url, timeout)
    except Exception:  # noqa: BLE001 - a server that cannot even be connected to does not answer
        return False
    try:
        return _request(client, args, timeout)["outcome"] == "answered"
    finally:
        client.close()


def run_load(
    url: str,
    sessions: int = 20,
    per_session: int = 5,
    task: str = "chemprot",
    model_a: str = "t5-base",
    model_b: str = "scifive-base",
    texts: list[str] | None = None,
    timeout: float = TIMEOUT_S,
    budget_s: float | None = None,
) -> dict:
    """`sessions` clients in as many threads, started together, each making `per_session` comparisons in turn.

    Every request ends "answered", "busy" (refused by the full queue) or "error" (kept with its message); no
    request waits longer than `timeout`, and none is sent after `budget_s` (default: timeout × (per_session + 2)).
    Latency figures are over answered requests only; busy refusals are immediate and would flatter them."""
    check_loopback(url)
    if not 1 <= sessions <= MAX_SESSIONS:
        raise ValueError(f"sessions must be between 1 and {MAX_SESSIONS}, not {sessions}")
    if not 1 <= per_session <= MAX_PER_SESSION:
        raise ValueError(f"per_session must be between 1 and {MAX_PER_SESSION}, not {per_session}")
    texts = texts or FALLBACK_TEXTS
    deadline = time.perf_counter() + (budget_s if budget_s is not None else timeout * (per_session + 2))
    records: list[dict] = []
    records_lock = threading.Lock()
    load_started: list[float] = []
    # Sessions connect first, then all send at once: otherwise early sessions finish before late ones connect.
    barrier = threading.Barrier(sessions, action=lambda: load_started.append(time.perf_counter()))

    def session(number: int) -> None:
        client, failure = None, ""
        try:
            client = _client(url, min(timeout, max(0.1, deadline - time.perf_counter())))
        except Exception as exc:  # noqa: BLE001 - a refused connection is an outcome, not a crash of the harness
            failure = f"could not connect: {type(exc).__name__}: {exc}"
        try:
            barrier.wait(timeout=max(0.0, deadline - time.perf_counter()))
        except threading.BrokenBarrierError:
            pass  # another session could not connect in time; this one still runs its requests
        for index in range(per_session):
            text = texts[(number * per_session + index) % len(texts)]
            left = deadline - time.perf_counter()
            if client is None or left <= 0:
                failure = failure or "not sent: the run's time budget ran out"
                result = {"outcome": "error", "seconds": 0.0, "message": failure, "answer": None}
            else:
                result = _request(client, (task, model_a, model_b, text), min(timeout, left))
            with records_lock:
                records.append({"session": number, "request": index, "text": text, **result})
        if client is not None:
            client.close()

    threads = [threading.Thread(target=session, args=(n,), name=f"load-{n}", daemon=True) for n in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:  # every wait in a session ends by the deadline; the margin covers closing a client
        thread.join(timeout=max(0.0, deadline + 10 - time.perf_counter()))
    finished = time.perf_counter()
    hung = sum(thread.is_alive() for thread in threads)
    started = load_started[0] if load_started else finished
    with records_lock:  # a hung session may still add to the list
        records = sorted(records, key=lambda r: (r["session"], r["request"]))

    counts = {outcome: sum(r["outcome"] == outcome for r in records) for outcome in ("answered", "busy", "error")}
    latencies = [r["seconds"] for r in records if r["outcome"] == "answered"]
    errors: dict[str, int] = {}
    for r in records:
        if r["outcome"] == "error":
            errors[r["message"]] = errors.get(r["message"], 0) + 1
    busy_messages = sorted({r["message"] for r in records if r["outcome"] == "busy"})
    # The two models' own generation time, as the app reports it: what is left of the wall time is serving.
    generating = [
        r["answer"]["a"]["seconds"] + r["answer"]["b"]["seconds"] for r in records if r["outcome"] == "answered"
    ]
    wall = finished - started
    return {
        "url": url,
        "sessions": sessions,
        "per_session": per_session,
        "requests": sessions * per_session,
        "recorded": len(records),
        "sessions_hung": hung,
        **counts,
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "max": max(latencies, default=None),
        },
        "wall_s": wall,
        "answered_per_s": counts["answered"] / wall if wall > 0 else None,
        "generation_s_per_answer": sum(generating) / len(generating) if generating else None,
        "busy_messages": busy_messages,
        "errors": errors,
        "server_answers_after": server_answers(url, (task, model_a, model_b, texts[0]), timeout),
        "records": records,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_models_file(folder: Path) -> Path:
    """A models file with a tiny T5 and a tiny BART, built offline in seconds."""
    import yaml

    sys.path.insert(0, str(ROOT / "tests"))  # the tests' tiny-model builder, rather than a second copy of it
    from tiny_models import build_tiny_model

    # Two encoder-decoders: the tiny decoder-only models read 128 positions, fewer than a demo passage needs.
    entries = []
    for family, name in (("t5", "tiny-t5"), ("bart", "tiny-bart")):
        spec = build_tiny_model(family, folder / family)
        entries.append({**spec.model_dump(mode="json", exclude_none=True), "name": name})
    models_file = folder / "models.yaml"
    spec = {
        "models": entries,
        "pairs": {"rq1": [["tiny-t5", "tiny-bart"]]},
        "default_pair": ["tiny-t5", "tiny-bart"],
    }
    models_file.write_text(yaml.safe_dump(spec))
    return models_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20, help=f"concurrent client sessions (at most {MAX_SESSIONS})")
    parser.add_argument("--per-session", type=int, default=5, help="sequential comparisons per session")
    parser.add_argument("--queue-size", type=int, default=None, help="the app's queue size (default: the app's own)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="tokens generated per model and passage")
    parser.add_argument("--task", default="chemprot")
    parser.add_argument("--url", help="load this already-running app (loopback only) instead of starting one")
    parser.add_argument("--model-a", help="with --url: a model name of that app's models file")
    parser.add_argument("--model-b", help="with --url: a model name of that app's models file")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per request")
    parser.add_argument("--records", action="store_true", help="include every request's record in the JSON")
    args = parser.parse_args()
    if not 1 <= args.sessions <= MAX_SESSIONS:
        parser.error(f"--sessions must be between 1 and {MAX_SESSIONS}")
    if not 1 <= args.per_session <= MAX_PER_SESSION:
        parser.error(f"--per-session must be between 1 and {MAX_PER_SESSION}")
    sys.path.insert(0, str(ROOT))

    from bre_core.ui.context import demo_passages

    texts = [p["text"] for passages in demo_passages().values() for p in passages]
    options = {
        "sessions": args.sessions,
        "per_session": args.per_session,
        "task": args.task,
        "texts": texts,
        "timeout": args.timeout,
    }
    if args.url:
        try:
            check_loopback(args.url)
        except ValueError as exc:
            parser.error(str(exc))
        if not (args.model_a and args.model_b):
            parser.error("--url needs --model-a and --model-b (names of that app's models file)")
        figures = {"app": "given", **run_load(args.url, model_a=args.model_a, model_b=args.model_b, **options)}
    else:
        figures = _against_tiny_app(args, options)
    if not args.records:
        figures.pop("records")
    print(json.dumps(_rounded(figures), indent=2))
    complete = figures["recorded"] == figures["requests"] and figures["error"] == 0
    return 0 if complete and figures["server_answers_after"] else 1


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _against_tiny_app(args, options: dict) -> dict:
    from bre_core.config import load_models_file
    from bre_core.ui.app import QUEUE_SIZE, build_app, configure_queue
    from bre_core.ui.context import AppContext

    queue_size = args.queue_size if args.queue_size is not None else QUEUE_SIZE
    with tempfile.TemporaryDirectory(prefix="bre-load-") as folder:
        ctx = AppContext(models=load_models_file(tiny_models_file(Path(folder))))
        ctx.max_new_tokens = args.max_new_tokens
        app = configure_queue(build_app(ctx), max_size=queue_size)
        app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
        try:
            url = app.local_url
            pair = ("tiny-t5", "tiny-bart")
            # Loads both models, so that the load measures serving rather than the first load from disk.
            started = time.perf_counter()
            if not server_answers(url, (args.task, *pair, options["texts"][0]), args.timeout):
                raise SystemExit("the app does not answer a single comparison")
            warmup = time.perf_counter() - started
            figures = run_load(url, model_a=pair[0], model_b=pair[1], **options)
        finally:
            with contextlib.redirect_stdout(sys.stderr):  # gradio prints "Closing server ...": keep stdout JSON
                app.close()
    import torch

    threads = torch.get_num_threads()
    return {
        "app": "tiny models, started here",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} ({threads} threads)",
        "models": "tiny T5 vs tiny BART (2 layers, d 32, random weights)",
        "max_new_tokens": args.max_new_tokens,
        "queue_size": queue_size,
        "warmup_s": warmup,
        **figures,
    }


if __name__ == "__main__":
    sys.exit(main())
