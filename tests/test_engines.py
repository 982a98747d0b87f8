"""The decoding engines on tiny models: CTranslate2 conversion and its cache, greedy ids equal to hf's in float32,
the converter's transformers-5 pitfalls, the fallback for BioGPT, records, and both models at once."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from tiny_models import SENTENCES, build_tiny_model, tokenizer_for

from bre_core.config import ModelSpec
from bre_core.errors import BreError
from bre_core.models import ModelCache, generate, load_model, load_with_engine
from bre_core.settings import DecodingSettings

try:
    import ctranslate2  # noqa: F401

    HAVE_CT2 = True
except ImportError:
    HAVE_CT2 = False
needs_ct2 = pytest.mark.skipif(
    not HAVE_CT2, reason="ctranslate2 is not installed: pip install -r requirements-fast.txt to test the fast engine"
)
SOURCES = SENTENCES[:7] + ["Aspirin", "Lithium toxicity was observed together with renal failure. " * 12]


@pytest.fixture(scope="module", autouse=True)
def one_thread_and_own_cache(tmp_path_factory):
    """One torch thread (tiny models gain nothing from more), and conversions into this module's own folder."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRE_CT2_CACHE", str(tmp_path_factory.mktemp("ct2")))
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict[str, ModelSpec]:
    root = tmp_path_factory.mktemp("engine-models")
    return {family: build_tiny_model(family, root / family) for family in ("t5", "bart", "gpt2", "biogpt")}


def same_outputs(a, b) -> list[tuple]:
    """Where two engines' generations differ: (index, hf's, ct2's); ids, text, token counts and stop reason."""
    keys = lambda g: (g.token_ids, g.text, g.input_tokens, g.output_tokens, g.stopped)  # noqa: E731
    return [(i, keys(x), keys(y)) for i, (x, y) in enumerate(zip(a, b)) if keys(x) != keys(y)]


@needs_ct2
@pytest.mark.parametrize("family", ["t5", "bart", "gpt2"])
def test_greedy_outputs_equal_the_hf_engine_in_float32(specs, family):
    hf = load_model(specs[family], device="cpu")
    fast = load_with_engine(specs[family], "ctranslate2", "float32", "cpu")
    assert (fast.engine, fast.compute_type, fast.releases_gil) == ("ctranslate2", "float32", True)
    for batch_size in (1, 4):
        ours, theirs = generate(hf, SOURCES, 40, batch_size), generate(fast, SOURCES, 40, batch_size)
        assert same_outputs(ours, theirs) == []
    # The long source is truncated alike (GPT-2's 128 positions leave it 128 - 40 = 88), and the outputs vary.
    limit = {"t5": 512, "bart": 512, "gpt2": 88}[family]
    assert theirs[-1].input_tokens == min(limit, len(hf.tokenizer(SOURCES[-1])["input_ids"]))
    assert len({g.text for g in theirs}) > 3


@needs_ct2
def test_stop_strings_cut_both_engines_alike(specs):
    """In-context prompts stop at a stop string (a plain prompt's newline): CTranslate2's outputs are cut as hf's."""
    from bre_core.models import generate_encoded
    from bre_core.models.generation import encode_sources

    hf = load_model(specs["gpt2"], device="cpu")
    fast = load_with_engine(specs["gpt2"], "ctranslate2", "float32", "cpu")
    encoded = encode_sources(hf, SOURCES[:4], 88)
    free = generate_encoded(hf, encoded, 40, 4)
    stop = free[0].text[5:7]  # a string the first output holds (tiny random models write varied text)
    assert stop and stop in free[0].text
    ours, theirs = (generate_encoded(m, encoded, 40, 4, stop_strings=[stop]) for m in (hf, fast))
    assert ours[0].stopped == "stop" and ours[0].text == free[0].text[: free[0].text.index(stop)]
    keys = lambda g: (g.text, g.output_tokens, g.stopped)  # noqa: E731
    assert [keys(g) for g in theirs] == [keys(g) for g in ours]


@needs_ct2
def test_a_decoder_only_budget_stops_at_the_end_of_the_context(specs):
    """The study's 1024 tokens for GPT-2: the prompt keeps half the context and generation stops where it ends."""
    hf, fast = load_model(specs["gpt2"], device="cpu"), load_with_engine(specs["gpt2"], "ctranslate2", None, "cpu")
    ours, theirs = generate(hf, SOURCES[:3], 1024, 3), generate(fast, SOURCES[:3], 1024, 3)
    assert same_outputs(ours, theirs) == []
    assert max(g.input_tokens + g.output_tokens for g in theirs) == 128


@needs_ct2
def test_the_time_limit_cuts_generation_short(specs):
    fast = load_with_engine(specs["t5"], "ctranslate2", "float32", "cpu")
    (cut,) = generate(fast, SOURCES[:1], 400, max_seconds=1e-6)
    assert cut.stopped == "time" and 1 <= cut.output_tokens < 400


@needs_ct2
def test_a_source_too_long_is_refused_when_asked(specs):
    from bre_core.errors import SourceTooLongError

    fast = load_with_engine(specs["gpt2"], "ctranslate2", "float32", "cpu")
    with pytest.raises(SourceTooLongError):
        generate(fast, SOURCES[-1:], 40, refuse_long=True)


@needs_ct2
def test_conversion_is_cached_by_source_and_compute_type(specs, monkeypatch, tmp_path):
    from bre_core.models import ct2_convert
    from bre_core.models.ct2_generation import load_ct2

    loads = []

    def counting_loader(spec, **options):
        loads.append(spec.name)
        return load_model(spec, **options)

    monkeypatch.setenv("BRE_CT2_CACHE", str(tmp_path))
    spec = specs["bart"]
    first = load_ct2(spec, "float32", "cpu", load_hf=counting_loader)
    again = load_ct2(spec, "float32", "cpu", load_hf=counting_loader)
    quantized = load_ct2(spec, "int8", "cpu", load_hf=counting_loader)
    assert loads == ["tiny-bart", "tiny-bart"]  # converted once per compute type, then read from the cache
    assert first.folder == again.folder != quantized.folder
    assert first.folder.parent == quantized.folder.parent
    assert (first.folder.name, quantized.folder.name) == ("float32", "int8")
    assert first.folder.parent.name.startswith("local--bart--")
    assert quantized.memory_bytes < first.memory_bytes
    # A hub model's folder is named by its id and the commit its revision resolves to in the local cache.
    hub = ModelSpec(name="m", hub_id="org/model", architecture="seq2seq", family="t5")
    monkeypatch.setattr(
        "huggingface_hub.hf_hub_download", lambda *a, **k: "/c/models--org--model/snapshots/0123abc/config.json"
    )
    assert ct2_convert.converted_folder(hub, "int8").relative_to(ct2_convert.cache_root()) == Path(
        "org--model--0123abc/int8"
    )


@needs_ct2
def test_int8_is_close_to_float32(specs):
    """int8 changes the numbers: it need not give the same ids, but it must still read and decode the model."""
    fast = load_with_engine(specs["t5"], "ctranslate2", "int8", "cpu")
    outputs = generate(fast, SOURCES, 20, 4)
    assert all(g.output_tokens >= 1 for g in outputs) and fast.compute_type == "int8"


@needs_ct2
def test_an_unknown_compute_type_names_the_usable_ones(specs):
    with pytest.raises(BreError, match="float16.*not available on cpu; use one of: float32, int8"):
        load_with_engine(specs["t5"], "ctranslate2", "float16", "cpu")
    with pytest.raises(BreError, match="Unknown engine 'vllm2'; choose one of: hf, ctranslate2"):
        load_with_engine(specs["t5"], "vllm2")


@needs_ct2
def test_flan_t5_untied_outputs_are_not_scaled(tmp_path):
    """Pitfall: transformers 5 says tie_word_embeddings=True for every T5; Flan-T5 (untied) must not be scaled."""
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = tokenizer_for("t5")
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        feed_forward_proj="gated-gelu",  # Flan-T5's
        tie_word_embeddings=False,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    assert config.tie_word_embeddings is True and config.scale_decoder_outputs is False  # the pitfall itself
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0, 1)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    spec = ModelSpec(name="tiny-flan", path=str(tmp_path), architecture="seq2seq", family="t5")
    hf, fast = load_model(spec, device="cpu"), load_with_engine(spec, "ctranslate2", "float32", "cpu")
    assert same_outputs(generate(hf, SOURCES, 30, 4), generate(fast, SOURCES, 30, 4)) == []


@needs_ct2
def test_bart_without_normalize_before_and_a_short_tokenizer_converts(tmp_path):
    """Pitfalls: BART's config has no `normalize_before` any more; the embedding has rows the tokenizer lacks."""
    from tiny_models import model_for
    from transformers import BartConfig

    from bre_core.models.ct2_convert import PLACEHOLDER, vocabulary

    assert not hasattr(BartConfig(), "normalize_before")
    tokenizer = tokenizer_for("bart")
    model = model_for("bart", len(tokenizer) + 6)  # like checkpoints whose vocabulary was padded to a round size
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    spec = ModelSpec(name="tiny-bart-padded", path=str(tmp_path), architecture="seq2seq", family="bart")
    hf, fast = load_model(spec, device="cpu"), load_with_engine(spec, "ctranslate2", "float32", "cpu")
    tokens = vocabulary(fast.folder)
    assert len(tokens) == len(tokenizer) + 6 and tokens[-1] == PLACEHOLDER.format(5)
    assert not hasattr(hf.config, "normalize_before")  # the converter's patch is undone
    assert same_outputs(generate(hf, SOURCES, 30, 4), generate(fast, SOURCES, 30, 4)) == []


def test_biogpt_falls_back_to_hf_with_a_note(specs):
    loaded = load_with_engine(specs["biogpt"], "ctranslate2", "float32", "cpu")
    assert loaded.engine == "hf" and loaded.compute_type == "float32"
    reason = "ctranslate2 does not support the biogpt family" if HAVE_CT2 else "ctranslate2 is not installed"
    assert loaded.engine_note.startswith(reason) and loaded.engine_note.endswith(": generated with hf")


def test_evaluate_records_the_engine_and_a_fallback(specs, fixture_data, tmp_path):
    from bre_core.runs import evaluate

    decoding = DecodingSettings(max_new_tokens=8, engine="ctranslate2")
    wanted = {"gpt2": "ctranslate2" if HAVE_CT2 else "hf", "biogpt": "hf"}
    for family, engine in wanted.items():
        run = evaluate(
            specs[family],
            "chemprot",
            "test",
            tmp_path,
            decoding=decoding,
            data_dir=fixture_data,
            limit=2,
            progress=False,
        )
        record = run.manifest["decoding"]
        assert (record["engine"], record["compute_type"]) == (engine, "float32")
        assert ("engine_note" in record) == (engine == "hf")
        assert run.manifest["engine"] == {"engine": "ctranslate2", "compute_type": None}


def test_the_default_path_never_imports_ctranslate2(specs):
    script = (
        "import sys; from bre_core.models import load_with_engine, generate; "
        f"m = load_with_engine(__import__('bre_core.config').config.ModelSpec(**{specs['t5'].model_dump()!r})); "
        "generate(m, ['Aspirin'], 4); assert 'ctranslate2' not in sys.modules, 'imported'; print(m.engine)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "hf"


def test_the_app_uses_the_fast_engine_when_installed(monkeypatch):
    from bre_core.ui.context import live_engine

    monkeypatch.delenv("BRE_ENGINE", raising=False)
    monkeypatch.delenv("BRE_COMPUTE_TYPE", raising=False)
    assert live_engine() == ("ctranslate2" if HAVE_CT2 else "hf", None)
    monkeypatch.setenv("BRE_ENGINE", "hf")
    monkeypatch.setenv("BRE_COMPUTE_TYPE", "int8")
    assert live_engine() == ("hf", "int8")


class Stub:
    """A loaded model for the concurrency tests: whether its engine releases the GIL, and its device."""

    def __init__(self, spec, releases_gil, device="cuda"):
        self.spec, self.releases_gil, self.engine, self.compute_type = spec, releases_gil, "stub", "float32"
        self.device = torch.device(device)


def stub_specs(names):
    return {
        slot: ModelSpec(name=n, path=f"/nowhere/{n}", architecture="seq2seq", family="t5")
        for slot, n in zip("ab", names)
    }


@pytest.mark.parametrize(("releases_gil", "device"), [(True, "cuda"), (False, "cuda"), (False, "cpu")])
def test_both_sides_decode_at_once_unless_python_loops_share_a_gpu(monkeypatch, releases_gil, device):
    from bre_core.models import Generation
    from bre_core.side_by_side import answer_both
    from bre_core.tasks import get_task

    active, most = [], []
    lock = threading.Lock()

    def generate(loaded, sources, *args, **kwargs):
        with lock:
            active.append(loaded.spec.name)
            most.append(len(active))
        time.sleep(0.3)
        with lock:
            active.remove(loaded.spec.name)
        return [Generation("No drug-gene relationships are established.", 3, 4, 0.3) for _ in sources]

    monkeypatch.setattr("bre_core.models.generate", generate)
    cache = ModelCache(loader=lambda spec: Stub(spec, releases_gil, device))
    sides = answer_both(stub_specs(["x", "y"]), get_task("chemprot"), ["Aspirin."], cache=cache)
    assert max(most) == (2 if releases_gil or device == "cpu" else 1)
    assert [sides[s][0].engine for s in "ab"] == ["stub float32", "stub float32"]
    assert [sides[s][0].record.output_tokens for s in "ab"] == [4, 4]


def test_a_failing_or_timed_out_side_affects_only_its_own_column(monkeypatch):
    from bre_core.models import Generation
    from bre_core.side_by_side import answer_both
    from bre_core.tasks import get_task

    def generate(loaded, sources, *args, max_seconds=None, **kwargs):
        if loaded.spec.name == "crashes":
            raise RuntimeError("decoder exploded")
        return [Generation("No drug-gene", 3, 2, 0.1, "time" if loaded.spec.name == "slow" else "end") for _ in sources]

    def loader(spec):
        if spec.name == "missing":
            raise BreError("Model 'missing' is not here")
        return Stub(spec, True)

    monkeypatch.setattr("bre_core.models.generate", generate)
    task = get_task("chemprot")
    for names, broken in ((["fine", "crashes"], "b"), (["missing", "fine"], "a"), (["slow", "fine"], None)):
        cache = ModelCache(loader=loader)
        sides = answer_both(stub_specs(names), task, ["Aspirin."], cache=cache, max_seconds=5)
        for slot in "ab":
            side = sides[slot][0]
            if slot == broken:
                assert side.record is None and side.error
            else:
                assert side.error is None and side.record.output == "No drug-gene"
                assert (side.note is not None) == (side.model == "slow")


@needs_ct2
def test_compare_runs_two_converted_models_at_once(specs):
    from bre_core.side_by_side import compare
    from bre_core.tasks import get_task

    cache = ModelCache(loader=lambda spec: load_with_engine(spec, "ctranslate2", "float32", "cpu"))
    missing = ModelSpec(name="gone", path="/nowhere/gone", architecture="seq2seq", family="t5")
    rows = compare(
        specs["t5"], missing, get_task("chemprot"), ["Aspirin.", "Tamoxifen."], cache=cache, max_new_tokens=8
    )
    assert [r.a.engine for r in rows] == ["ctranslate2 float32"] * 2
    assert all(r.a.record.output_tokens >= 1 for r in rows)
    assert all(r.b.record is None and "not a model folder" in r.b.error for r in rows)
    assert json.dumps([r.a.record.output for r in rows])  # plain strings


@needs_ct2
def test_the_api_and_the_page_name_each_columns_engine(ui_context):
    from bre_core.ui.compare_tab import FREE_TEXT, compare_text, run_comparison
    from bre_core.ui.context import AppContext

    cache = ModelCache(loader=lambda spec: load_with_engine(spec, "ctranslate2", "int8", "cpu"))
    ctx = AppContext(models=ui_context.models, data_dir=ui_context.data_dir, _cache=cache)
    ctx.max_new_tokens = 8
    api = compare_text(ctx, "ddi", "t5-base", "scifive-base", "Warfarin and aspirin.")
    assert (api["a"]["engine"], api["b"]["engine"]) == ("ctranslate2 int8", "ctranslate2 int8")
    page = run_comparison(ctx, "ddi", "t5-base", "gone", FREE_TEXT, text="Warfarin and aspirin.")
    assert page.a.caption.endswith(" · ctranslate2 int8") and "live ·" in page.a.caption
    assert "not a model folder" in page.b.caption and "ctranslate2" not in page.b.caption
