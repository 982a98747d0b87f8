"""User text is never logged: not by the app's handlers, not by the served app, not when a request fails."""

import logging
import sys

import pytest
from served_app import call_api, fn_index, join_queue, served

SECRET = "Jane Roe, MRN 0042, took warfarin"


@pytest.fixture
def app(ui_context):
    with served(ui_context, max_size=8) as app:
        yield app


def logged(capfd, caplog) -> str:
    out, err = capfd.readouterr()
    return caplog.text + out + err


def test_nothing_a_user_sends_reaches_the_logs(app, capfd, caplog, monkeypatch):
    from gradio_client import Client

    import bre_core.models

    client = Client(app.local_url, verbose=False)
    with caplog.at_level(logging.DEBUG):
        answered = client.predict("ddi", "t5-base", "scifive-base", SECRET, api_name="/compare_text")
        assert "relations" in answered["a"]
        refusals = [
            ("ddi", "t5-base", "scifive-base", SECRET + "\x07"),  # refused: a control character
            ("ddi", "t5-base", SECRET, "Warfarin."),  # refused: not a listed model
        ]
        for arguments in refusals:
            with pytest.raises(Exception) as refused:
                client.predict(*arguments, api_name="/compare_text")
            assert "Traceback" not in str(refused.value)

        def crash(*args, **kwargs):
            raise RuntimeError(f"cannot read {SECRET}")  # a library quoting the input in its message

        monkeypatch.setattr(bre_core.models, "generate", crash)
        failed = client.predict("ddi", "t5-base", "scifive-base", SECRET, api_name="/compare_text")
        assert failed["a"]["error"] == "t5-base failed (RuntimeError); the server log has the details."
    text = logged(capfd, caplog)
    assert "RuntimeError" in text  # the failure is logged, to be debugged...
    assert SECRET not in text and "MRN 0042" not in text  # ...without the text


def test_malformed_requests_leave_nothing_of_theirs_in_the_logs(app, capfd, caplog):
    """Requests no page sends, made over the raw HTTP API: each is refused, and no log line quotes it."""
    compare = fn_index(app, "compare_text")
    # an event of the Corpus tab whose first input is a dropdown of datasets, and one of the Dashboard's multiselects
    dropdown = next(i for i, fn in app.fns.items() if fn.inputs and getattr(fn.inputs[0], "choices", None))
    multiselect = next(i for i, fn in app.fns.items() if fn.inputs and getattr(fn.inputs[0], "multiselect", False))
    file = {"path": f"/tmp/{SECRET}.txt", "meta": {"_type": "gradio.FileData"}}  # Gradio names the path it refuses
    with caplog.at_level(logging.DEBUG):
        joined = [
            {"fn_index": compare, "data": ["ddi", "t5-base", SECRET]},  # a value short: Gradio quotes what came
            {"fn_index": compare, "data": ["ddi", "t5-base", "scifive-base", file]},
            {"fn_index": compare, "data": ["ddi", "t5-base", "scifive-base", {"text": SECRET}]},  # not a string
            {"fn_index": dropdown, "data": [SECRET, SECRET, SECRET]},  # not one of the choices
            {"fn_index": multiselect, "data": [[SECRET]] * len(app.fns[multiselect].inputs)},
            {"fn_index": dropdown, "data": [file, SECRET, SECRET]},
            {"fn_index": 999, "data": [SECRET]},
            {"fn_index": -1, "data": [SECRET]},
        ]
        answers = [join_queue(app, body) for body in joined]
        calls = [
            call_api(app, "compare_text", data) for data in (["ddi", "t5-base", SECRET], [SECRET], [1, 2, 3, file])
        ]
        unknown = call_api(app, "no_such_endpoint", [SECRET])
    text = logged(capfd, caplog)
    assert SECRET not in text and "MRN 0042" not in text, text[-2000:]
    # each refused: an event's error, or 404 for an event the app lacks (never a server error)
    for body, (status, completed) in zip(joined, answers):
        assert (status, completed and completed["success"]) in ((200, False), (404, None)), body
    for status, answer in calls:
        assert status == 200 and answer.startswith("event: error") and "Traceback" not in answer
    assert unknown[0] == 404


def test_refusals_say_what_is_wrong_to_the_caller(app):
    compare = fn_index(app, "compare_text")
    _, short = join_queue(app, {"fn_index": compare, "data": ["ddi", "t5-base", SECRET]})
    assert short["output"]["error"] == "This event takes 4 values; the request sent 3."
    _, file = join_queue(
        app,
        {
            "fn_index": compare,
            "data": ["ddi", "t5-base", "t5-base", {"path": "http://x/y", "meta": {"_type": "gradio.FileData"}}],
        },
    )
    assert file["output"]["error"] == "This app takes no files."


def test_logged_exceptions_keep_their_type_not_their_message(app):
    """Behind the served app, an error logged by the server, asyncio or Gradio has its message left out."""
    from bre_core.ui.app import MessagesLeftOut

    for name in ("uvicorn.error", "asyncio", "gradio.route_utils"):
        assert any(isinstance(f, MessagesLeftOut) for f in logging.getLogger(name).filters), name
    try:
        raise ValueError(f"cannot parse {SECRET}")
    except ValueError as exc:
        record = logging.LogRecord("gradio", logging.ERROR, __file__, 1, "failed: %s", (exc,), sys.exc_info())
    assert MessagesLeftOut().filter(record)
    text = logging.Formatter().format(record)
    assert "failed: ValueError (message left out)" in text and "test_privacy.py" in text and SECRET not in text
