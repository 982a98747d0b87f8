"""Faults stay in their own column and request: a model that fails to load, runs out of memory, raises or is slow."""

import logging
import time

import pytest
import torch
from served_app import served

from bre_core.models import ModelCache
from bre_core.models.loading import load_model
from bre_core.ui.compare_tab import FREE_TEXT, compare_text, run_comparison
from bre_core.ui.context import AppContext

PASSAGE = "Warfarin interacts with fluconazole and increases bleeding risk."
SECRET = "patient Jane Roe, MRN 0042"


def fresh_context(ui_context, loader=load_model, retry_after_s=0.0) -> AppContext:
    """The test models file with its own cache (so a fault planted here cannot leak into other tests)."""
    cache = ModelCache(loader=loader, retry_after_s=retry_after_s)
    ctx = AppContext(models=ui_context.models, data_dir=ui_context.data_dir, _cache=cache)
    ctx.max_new_tokens = 12
    return ctx


def loaded(ctx: AppContext, name: str):
    return ctx.cache.get(ctx.spec(name))


def test_a_model_that_runs_out_of_memory_fails_alone_and_the_next_request_works(ui_context, monkeypatch):
    ctx = fresh_context(ui_context)
    calls = []

    def out_of_memory(**kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with monkeypatch.context() as patch:
        patch.setattr(loaded(ctx, "t5-base").model, "generate", out_of_memory)
        result = run_comparison(ctx, "ddi", "t5-base", "scifive-base", FREE_TEXT, text=PASSAGE)
        api = compare_text(ctx, "ddi", "t5-base", "scifive-base", PASSAGE)
    assert calls == [1, 1]  # one passage: a batch of one, so there is no smaller batch to retry with
    assert "runs out of GPU memory on a single source" in result.a.caption and result.a.raw == ""
    assert "live ·" in result.b.caption and result.b.raw
    assert "runs out of GPU memory" in api["a"]["error"] and "relations" in api["b"]
    again = compare_text(ctx, "ddi", "t5-base", "scifive-base", PASSAGE)
    assert "relations" in again["a"] and "relations" in again["b"]


def test_a_model_that_fails_to_load_is_retried_on_the_next_request(ui_context):
    failures = []

    def flaky(spec):
        if spec.name == "scifive-base" and not failures:
            failures.append(spec.name)
            raise torch.cuda.OutOfMemoryError("CUDA out of memory while loading")
        return load_model(spec)

    ctx = fresh_context(ui_context, loader=flaky)
    first = compare_text(ctx, "cdr", "t5-base", "scifive-base", PASSAGE)
    assert first["b"]["error"] == "scifive-base failed (OutOfMemoryError); the server log has the details."
    assert "relations" in first["a"]
    second = compare_text(ctx, "cdr", "t5-base", "scifive-base", PASSAGE)
    assert "relations" in second["a"] and "relations" in second["b"]


def test_a_failed_load_is_not_retried_on_every_request(ui_context, monkeypatch):
    loads = []

    def too_big(spec):
        loads.append(spec.name)
        if spec.name == "scifive-base":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory while loading")
        return load_model(spec)

    ctx = fresh_context(ui_context, loader=too_big, retry_after_s=60)
    answers = [compare_text(ctx, "cdr", "t5-base", "scifive-base", PASSAGE) for _ in range(3)]
    assert loads == ["t5-base", "scifive-base"]  # one load attempt, not one per request
    assert answers[0]["b"]["error"] == "scifive-base failed (OutOfMemoryError); the server log has the details."
    for later in answers[1:]:
        assert later["b"]["error"].startswith("scifive-base failed to load (OutOfMemoryError) (not tried again for")
        assert "relations" in later["a"]
    clock = time.monotonic()
    monkeypatch.setattr("bre_core.models.cache.time.monotonic", lambda: clock + 61)  # a minute later
    compare_text(ctx, "cdr", "t5-base", "scifive-base", PASSAGE)
    assert loads == ["t5-base", "scifive-base", "scifive-base"]


def test_an_unexpected_error_is_logged_without_the_users_text(ui_context, monkeypatch, caplog):
    ctx = fresh_context(ui_context)

    def crash(**kwargs):
        raise ValueError(f"cannot handle {SECRET}")  # as if a library quoted the input in its message

    monkeypatch.setattr(loaded(ctx, "scifive-base").model, "generate", crash)
    with caplog.at_level(logging.DEBUG):
        result = run_comparison(ctx, "chemprot", "t5-base", "scifive-base", FREE_TEXT, text=f"{SECRET} took aspirin.")
    assert "scifive-base failed (ValueError); the server log has the details." in result.b.caption
    assert "live ·" in result.a.caption
    assert "ValueError" in caplog.text and "in crash" in caplog.text  # the frames are there to debug with
    assert SECRET not in caplog.text


def test_a_slow_generation_is_cut_at_the_time_limit_in_its_own_column(ui_context, monkeypatch):
    ctx = fresh_context(ui_context)
    ctx.max_seconds = 0.3
    slow = loaded(ctx, "t5-base")
    forward = slow.model.forward
    eos = slow.tokenizer.eos_token_id
    steps = []

    def slow_forward(*args, **kwargs):
        time.sleep(0.1)
        steps.append(1)
        output = forward(*args, **kwargs)
        output.logits[..., eos] = -1e9  # never ends by itself: only the time limit stops it
        return output

    monkeypatch.setattr(slow.model, "forward", slow_forward)
    result = run_comparison(ctx, "dce", "t5-base", "scifive-base", FREE_TEXT, text="Aspirin with clopidogrel.")
    assert "⏱ stopped at the 0.3 s time limit: the output is cut short" in result.a.caption
    assert 2 <= len(steps) < 12  # stopped by time, well before the 12-token budget
    assert "⏱" not in result.b.caption and "live ·" in result.b.caption
    api = compare_text(ctx, "dce", "t5-base", "scifive-base", "Aspirin with clopidogrel.")
    assert api["a"]["note"].startswith("stopped at the 0.3 s time limit") and api["b"]["note"] is None
    assert api["a"]["output_tokens"] < 12


def test_the_served_app_answers_after_a_fault(ui_context, monkeypatch):
    from gradio_client import Client

    ctx = fresh_context(ui_context)
    with served(ctx, max_size=8) as app:
        client = Client(app.local_url, verbose=False)

        def crash(**kwargs):
            raise RuntimeError("device-side assert triggered")

        with monkeypatch.context() as patch:
            patch.setattr(loaded(ctx, "t5-base").model, "generate", crash)
            hurt = client.predict("ddi", "t5-base", "scifive-base", PASSAGE, api_name="/compare_text")
        assert hurt["a"] == {
            "model": "t5-base",
            "error": "t5-base failed (RuntimeError); the server log has the details.",
        }
        assert "relations" in hurt["b"]
        with pytest.raises(Exception, match="control character") as refused:
            client.predict("ddi", "t5-base", "scifive-base", "a\x00b", api_name="/compare_text")
        assert "Traceback" not in str(refused.value)
        healed = client.predict("ddi", "t5-base", "scifive-base", PASSAGE, api_name="/compare_text")
        assert "relations" in healed["a"] and "relations" in healed["b"]
