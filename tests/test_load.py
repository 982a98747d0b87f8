"""Load on the /compare_text API: 20 gradio_client sessions × 5 comparisons, with the app's queue and a tiny one."""

import importlib.util
import math
import socket
from pathlib import Path

import pytest
from served_app import served
from tiny_models import SENTENCES

from bre_core.ui.compare_tab import compare_text

pytestmark = pytest.mark.slow  # a served app under concurrent clients

# bench/ holds scripts, not a package: load the harness from its file rather than put bench/ on everyone's sys.path.
_spec = importlib.util.spec_from_file_location("bench_load", Path(__file__).resolve().parents[1] / "bench" / "load.py")
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)

SESSIONS, PER_SESSION = 20, 5
PAIR = ("t5-base", "scifive-base")
# A hung server fails the test instead of hanging CI: no request waits longer than TIMEOUT_S and none is sent
# after BUDGET_S; both are several times what a run takes on a 2-core CPU shared with other work.
TIMEOUT_S, BUDGET_S = 60, 150
BUSY = "QueueError: Queue is full! Please try again."  # how gradio_client reports the server's 503 "queue full"


def run(url: str) -> dict:
    result = load.run_load(
        url, SESSIONS, PER_SESSION, "chemprot", *PAIR, texts=SENTENCES, timeout=TIMEOUT_S, budget_s=BUDGET_S
    )
    assert result["requests"] == result["recorded"] == SESSIONS * PER_SESSION and result["sessions_hung"] == 0
    return result


@pytest.fixture(scope="module")
def expected(ui_context) -> dict[str, dict]:
    """Each passage's answer computed in-process, one at a time: what every session must get back for it."""
    return {text: compare_text(ui_context, "chemprot", *PAIR, text) for text in SENTENCES}


def assert_answers_match(records: list[dict], expected: dict[str, dict]) -> None:
    """Each answer has both sides, and is the one for the passage this session sent (no answers crossed)."""
    for record in records:
        answer, wanted = record["answer"], expected[record["text"]]
        for slot, model in zip(("a", "b"), PAIR):
            side = answer[slot]
            assert side["model"] == model and isinstance(side["relations"], list) and isinstance(side["output"], str)
            assert (side["output"], side["relations"]) == (wanted[slot]["output"], wanted[slot]["relations"])


def test_the_default_queue_answers_20_sessions_of_5(ui_context, expected):
    with served(ui_context) as app:
        result = run(app.local_url)
    assert (result["answered"], result["busy"], result["error"]) == (100, 0, 0), result["errors"]
    assert_answers_match(result["records"], expected)
    latency = result["latency_s"]
    assert all(math.isfinite(latency[key]) and latency[key] > 0 for key in ("p50", "p95", "max"))
    assert latency["p50"] <= latency["p95"] <= latency["max"]
    assert latency["max"] == max(record["seconds"] for record in result["records"])
    assert result["answered_per_s"] > 0 and result["server_answers_after"]
    # reported with `pytest -s`; bench/load.py prints the same figures as JSON
    print(f"\n20 sessions x 5: p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s, max {latency['max']:.2f} s")


def test_a_full_queue_refuses_cleanly_as_busy_and_the_server_stays_up(ui_context, expected):
    with served(ui_context, max_size=2) as app:
        result = run(app.local_url)
    assert result["error"] == 0, result["errors"]
    assert result["answered"] + result["busy"] == 100
    assert result["busy"] >= 1 and result["answered"] >= 1
    assert result["busy_messages"] == [BUSY]
    assert_answers_match([r for r in result["records"] if r["outcome"] == "answered"], expected)
    assert result["server_answers_after"]


def test_the_harness_only_loads_this_machine():
    for url in ("http://example.org:7860/", "http://10.0.0.5:7860/", "ftp://127.0.0.1/", "127.0.0.1:7860"):
        with pytest.raises(ValueError, match="refusing"):
            load.run_load(url)
    with pytest.raises(ValueError, match="sessions"):
        load.run_load("http://127.0.0.1:1/", sessions=load.MAX_SESSIONS + 1)


def test_a_server_that_never_answers_gives_errors_not_a_hang():
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        result = load.run_load(url, sessions=2, per_session=2, timeout=1, budget_s=5)
    assert (result["answered"], result["busy"], result["error"], result["recorded"]) == (0, 0, 4, 4)
    assert all(message.startswith("could not connect: ReadTimeout") for message in result["errors"])
    assert result["latency_s"] == {"p50": None, "p95": None, "max": None}
    assert result["sessions_hung"] == 0 and not result["server_answers_after"]
