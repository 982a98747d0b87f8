"""User text is never logged: not by the app's handlers, not by the served app, not when a request fails."""

import logging

import pytest
from served_app import served

SECRET = "Jane Roe, MRN 0042, took warfarin"


@pytest.fixture
def app(ui_context):
    with served(ui_context, max_size=8) as app:
        yield app


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
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert "RuntimeError" in logged  # the failure is logged, to be debugged...
    assert SECRET not in logged and "MRN 0042" not in logged  # ...without the text
