"""Loading, greedy batched generation and the model cache, on tiny models built offline."""

import threading
import time

import pytest
import torch
from tiny_models import ARCHITECTURE, CONTEXT, EOS, FAMILIES, SENTENCES, build_tiny_model

from bre_core import hub_access
from bre_core.config import ModelSpec, load_models_file
from bre_core.errors import BreError
from bre_core.models import (
    Generation,
    ModelCache,
    ModelUnavailableError,
    default_max_new_tokens,
    generate,
    load_model,
    loading,
)

SOURCES = SENTENCES[:9] + ["Aspirin", "Lithium toxicity was observed together with renal failure. " * 3]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from more threads, and spinning threads slow to a crawl when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_specs(tmp_path_factory) -> dict[str, ModelSpec]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {family: build_tiny_model(family, root / family) for family in FAMILIES}


@pytest.fixture(scope="session")
def tiny(tiny_specs):
    """family -> LoadedModel on the CPU, also where a GPU is present (tests must not change them)."""
    return {family: load_model(spec, device="cpu") for family, spec in tiny_specs.items()}


def reference_greedy(loaded, source: str, max_new_tokens: int) -> list[int]:
    """Greedy decoding by hand, one token at a time with the full forward pass: argmax until end of sequence."""
    model, ids = loaded.model, loaded.tokenizer(source)["input_ids"]
    prompt = torch.tensor([ids])
    tokens: list[int] = []
    with torch.inference_mode():
        for _ in range(max_new_tokens):
            if loaded.is_seq2seq:
                decoder = torch.tensor([[model.config.decoder_start_token_id] + tokens])
                logits = model(input_ids=prompt, decoder_input_ids=decoder).logits
            else:
                logits = model(input_ids=torch.tensor([ids + tokens])).logits
            tokens.append(int(logits[0, -1].argmax()))
            if tokens[-1] == EOS:
                break
    return tokens


# --- loading -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_load_model_from_a_local_folder(tiny, family):
    loaded = tiny[family]
    assert loaded.model.config.is_encoder_decoder == (ARCHITECTURE[family] == "seq2seq")
    assert (loaded.device.type, loaded.dtype, next(loaded.model.parameters()).dtype) == (
        "cpu",
        torch.float32,
        torch.float32,
    )
    assert not loaded.model.training
    expected_side = "left" if ARCHITECTURE[family] == "causal" else "right"
    assert loaded.tokenizer.padding_side == expected_side
    # GPT-2 ships no pad token: the end-of-sequence token stands in.
    assert loaded.tokenizer.pad_token == ("</s>" if family == "gpt2" else "<pad>")
    assert loaded.memory_bytes == sum(p.numel() * 4 for p in loaded.model.parameters()) + sum(
        b.numel() * b.element_size() for b in loaded.model.buffers()
    )


def test_checkpoint_generation_settings_are_kept_aside(tiny):
    bart = tiny["bart"]
    assert (bart.checkpoint_generation_config.num_beams, bart.checkpoint_generation_config.min_length) == (4, 20)
    assert bart.model.generation_config.num_beams is None
    assert bart.model.generation_config.no_repeat_ngram_size is None
    assert bart.model.generation_config.forced_bos_token_id is None
    assert bart.model.generation_config.decoder_start_token_id == EOS


def test_uncached_hub_model_offline_fails_fast():
    spec = ModelSpec(
        name="absent", hub_id="bre-tests/never-published", revision="v1", architecture="seq2seq", family="t5"
    )
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as caught:
        load_model(spec)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "HF_HUB_OFFLINE" in message
    assert "`hf download bre-tests/never-published --revision v1`" in message
    assert "`path:`" in message


def test_unreachable_hub_fails_fast(monkeypatch):
    monkeypatch.setattr(hub_access, "offline_setting", lambda: None)
    monkeypatch.setattr(hub_access, "endpoint", lambda: "http://127.0.0.1:9")  # nothing listens on the discard port
    spec = ModelSpec(name="absent", hub_id="bre-tests/never-published", architecture="causal", family="gpt2")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"off limits \(no answer from http://127.0.0.1:9"):
        load_model(spec)
    assert time.monotonic() - started < 5


def test_missing_local_folder_says_what_to_fix(tmp_path):
    spec = ModelSpec(name="mine", path=str(tmp_path / "nowhere"), architecture="causal", family="gpt2")
    with pytest.raises(ModelUnavailableError, match=r"not a model folder \(no config.json\).*`path:` in models.yaml"):
        load_model(spec)


def test_dtype_follows_the_device(monkeypatch):
    cuda, t5, bart = torch.device("cuda"), load_models_file().get("t5-base"), load_models_file().get("bart-base")
    assert loading.choose_dtype(torch.device("cpu"), bart) == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert loading.choose_dtype(cuda, t5) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert loading.choose_dtype(cuda, bart) == torch.float16
    assert loading.choose_dtype(cuda, t5) == torch.float32  # T5 overflows in fp16


# --- generation ----------------------------------------------------------------------------------------------------
def test_default_output_budgets():
    models = load_models_file()
    assert default_max_new_tokens(models.get("flan-t5-base")) == 512
    assert default_max_new_tokens(models.get("biogpt")) == 1024


@pytest.mark.parametrize("family", FAMILIES)
def test_generation_is_plain_greedy(tiny, family):
    loaded = tiny[family]
    outputs = generate(loaded, SOURCES[:4], max_new_tokens=24, batch_size=4)
    for source, output in zip(SOURCES[:4], outputs):
        expected = reference_greedy(loaded, source, 24)
        assert output.text == loaded.tokenizer.decode(expected, skip_special_tokens=True)
        assert output.output_tokens == len(expected)
        assert output.input_tokens == len(loaded.tokenizer(source)["input_ids"])
        assert source not in output.text  # decoder-only: the prompt is cut off


def test_checkpoint_beams_ngram_block_and_min_length_are_overridden(tiny):
    bart = tiny["bart"]
    ours = generate(bart, SOURCES, max_new_tokens=24)
    expected = [reference_greedy(bart, source, 24) for source in SOURCES]
    assert [g.output_tokens for g in ours] == [len(tokens) for tokens in expected]
    assert [g.text for g in ours] == [bart.tokenizer.decode(t, skip_special_tokens=True) for t in expected]
    assert min(len(t) for t in expected) < 20  # some greedy outputs end before the checkpoint's min_length
    # What the checkpoint's own settings (4 beams, no repeated 3-grams, min_length 20) would have produced instead.
    batch = bart.tokenizer(SOURCES, return_tensors="pt", padding=True)
    with torch.inference_mode():
        theirs = bart.model.generate(**batch, generation_config=bart.checkpoint_generation_config, max_new_tokens=24)
    theirs_text = bart.tokenizer.batch_decode(theirs, skip_special_tokens=True)
    assert sum(a != b.text for a, b in zip(theirs_text, ours)) >= len(SOURCES) // 2


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_equals_one_at_a_time(tiny, family):
    loaded = tiny[family]
    batched = generate(loaded, SOURCES, max_new_tokens=16, batch_size=4)
    single = [generate(loaded, [source], max_new_tokens=16)[0] for source in SOURCES]
    assert [(g.text, g.input_tokens, g.output_tokens) for g in batched] == [
        (g.text, g.input_tokens, g.output_tokens) for g in single
    ]
    assert len({g.text for g in batched}) >= len(SOURCES) - 2  # outputs depend on the input: order is testable
    assert all(isinstance(g, Generation) and g.seconds > 0 for g in batched)


def test_seq2seq_sources_are_truncated_at_512_tokens(tiny):
    t5 = tiny["t5"]
    long_source = " ".join(SENTENCES * 6)
    assert len(t5.tokenizer(long_source)["input_ids"]) > 600
    output = generate(t5, [long_source, SOURCES[0]], max_new_tokens=4)
    assert [g.input_tokens for g in output] == [512, len(t5.tokenizer(SOURCES[0])["input_ids"])]


@pytest.mark.parametrize("family", ["gpt2", "biogpt"])
def test_causal_sources_leave_room_for_the_output(tiny, family):
    loaded = tiny[family]
    long_source = " ".join(SENTENCES * 3)
    short = generate(loaded, [long_source], max_new_tokens=8)[0]
    assert short.input_tokens == CONTEXT - 8
    # A budget of more than half the context: the prompt keeps half, the output stops at the context's end.
    large = generate(loaded, [long_source], max_new_tokens=100)[0]
    assert large.input_tokens == CONTEXT // 2
    assert large.output_tokens <= CONTEXT // 2


def test_out_of_memory_halves_the_batch(tiny, monkeypatch):
    gpt2 = tiny["gpt2"]
    expected = generate(gpt2, SOURCES, max_new_tokens=6, batch_size=8)
    sizes, real_generate = [], gpt2.model.generate

    def flaky_generate(*args, **kwargs):
        sizes.append(len(kwargs["input_ids"]))
        if len(sizes) == 1 and sizes[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(gpt2.model, "generate", flaky_generate)
    retried = generate(gpt2, SOURCES, max_new_tokens=6, batch_size=8)
    assert [(g.text, g.output_tokens) for g in retried] == [(g.text, g.output_tokens) for g in expected]
    assert sizes == [8, 4, 4, 3]


def test_cublas_allocation_failure_counts_as_out_of_memory_but_other_errors_propagate(tiny, monkeypatch):
    t5, real_generate, sizes = tiny["t5"], tiny["t5"].model.generate, []

    def failing(*args, **kwargs):
        sizes.append(len(kwargs["input_ids"]))
        if len(sizes) == 1:
            raise RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`")
        if len(sizes) == 3:
            raise RuntimeError("shape mismatch")
        return real_generate(*args, **kwargs)

    monkeypatch.setattr(t5.model, "generate", failing)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        generate(t5, SOURCES[:4], max_new_tokens=4, batch_size=4)
    assert sizes == [4, 2, 2]


def test_out_of_memory_on_one_source_says_what_to_do(tiny, monkeypatch):
    def no_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(tiny["t5"].model, "generate", no_memory)
    with pytest.raises(BreError, match="runs out of GPU memory on a single source"):
        generate(tiny["t5"], SOURCES[:3], max_new_tokens=4, batch_size=2)


def test_no_sources_no_work(tiny):
    assert generate(tiny["t5"], [], max_new_tokens=4) == []


# --- cache ---------------------------------------------------------------------------------------------------------
class FakeModel:
    def __init__(self, spec, memory_bytes):
        self.spec, self.memory_bytes = spec, memory_bytes


class CountingLoader:
    def __init__(self, delay=0.0, memory_bytes=100):
        self.calls, self.delay, self.memory_bytes = [], delay, memory_bytes
        self._lock = threading.Lock()

    def __call__(self, spec):
        with self._lock:
            self.calls.append(spec.name)
        time.sleep(self.delay)
        return FakeModel(spec, self.memory_bytes)


def fake_spec(name):
    return ModelSpec(name=name, path=f"/models/{name}", architecture="seq2seq", family="t5")


A, B, C = fake_spec("a"), fake_spec("b"), fake_spec("c")


def test_cache_loads_once_per_model_across_threads():
    loader = CountingLoader(delay=0.3)
    cache = ModelCache(loader=loader)
    barrier, got = threading.Barrier(8), []

    def ask():
        barrier.wait()
        got.append(cache.get(A))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loader.calls == ["a"]
    assert len(got) == 8 and all(model is got[0] for model in got)


def test_cache_evicts_the_least_recently_used():
    loader = CountingLoader()
    cache = ModelCache(max_models=2, loader=loader)
    first_a = cache.get(A)
    cache.get(B)
    assert cache.get(A) is first_a  # a is now the most recently used
    cache.get(C)
    assert cache.loaded() == [A, C]
    cache.get(B)
    assert loader.calls == ["a", "b", "c", "b"]


def test_cache_memory_budget():
    cache = ModelCache(max_models=5, memory_budget_bytes=250, loader=CountingLoader(memory_bytes=100))
    for spec in (A, B, C):
        cache.get(spec)
    assert cache.loaded() == [B, C]
    alone = ModelCache(memory_budget_bytes=50, loader=CountingLoader(memory_bytes=100))
    alone.get(A)  # larger than the budget on its own: kept, since it is the one asked for
    assert alone.loaded() == [A]


def test_models_in_use_are_not_evicted():
    loader = CountingLoader()
    cache = ModelCache(max_models=2, loader=loader)
    with cache.use(A, B) as (model_a, model_b):
        assert (model_a.spec, model_b.spec) == (A, B)
        cache.get(C)
        assert cache.loaded() == [A, B, C]
    assert cache.loaded() == [B, C]


def test_failed_load_reaches_every_waiter_and_is_retried():
    attempts = []

    def failing_once(spec):
        attempts.append(spec.name)
        if len(attempts) == 1:
            raise ModelUnavailableError("offline")
        return FakeModel(spec, 1)

    cache = ModelCache(loader=failing_once)
    with pytest.raises(ModelUnavailableError):
        cache.get(A)
    assert cache.get(A).spec == A and attempts == ["a", "a"]
