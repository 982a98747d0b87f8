"""7-8B LLM protocols on tiny Llama-, Mistral- and Gemma-family chat models: zero-shot, icl-k4 and LoRA k16 through
the CLI into the Dashboard; prompts fitted to the context; QLoRA and vLLM up to where CUDA is required."""

import importlib.util
import json
import sys
import types

import pytest
from conftest import FIXTURE_DATA
from tiny_llms import LLM_FAMILIES, build_tiny_llm, chemprot_with_copies, llm_tokenizer

from bre_core.cli import main
from bre_core.config import load_models_file
from bre_core.datasets import load_documents
from bre_core.errors import BreError
from bre_core.tasks import get_task
from bre_core.tasks.prompting import (
    Prompt,
    build_prompt,
    demonstrations_for,
    draw_demonstrations,
    parse_prompt_setting,
)

TASK = get_task("chemprot")
MAX_NEW = "6"


@pytest.fixture(scope="module")
def llm_data(tmp_path_factory):
    return chemprot_with_copies(tmp_path_factory.mktemp("chemprot-llm"), FIXTURE_DATA)


def test_the_llm_pairs_are_listed_with_their_bases():
    models = load_models_file()
    assert models.pairs["llm_rq1"] == [
        ("mistral-7b-instruct", "biomistral-7b"),
        ("llama-3-8b", "openbiollm-8b"),
        ("llama-2-7b", "meditron-7b"),
    ]
    rows = {name: models.get(name) for pair in models.pairs["llm_rq1"] for name in pair}
    assert {n: (s.hub_id, s.domain, s.ift) for n, s in rows.items()} == {
        "mistral-7b-instruct": ("mistralai/Mistral-7B-Instruct-v0.1", "general", "general"),
        "biomistral-7b": ("BioMistral/BioMistral-7B", "biomedical", "general"),
        "llama-3-8b": ("meta-llama/Meta-Llama-3-8B", "general", "none"),
        "openbiollm-8b": ("aaditya/Llama3-OpenBioLLM-8B", "biomedical", "biomedical"),
        "llama-2-7b": ("meta-llama/Llama-2-7b-hf", "general", "none"),
        "meditron-7b": ("epfl-llm/meditron-7b", "biomedical", "none"),
    }
    assert all(s.architecture == "causal" for s in rows.values())


def test_prompt_settings_and_plain_prompts():
    assert parse_prompt_setting("zero-shot").k == 0 and parse_prompt_setting("icl-k4", seed=3).seed == 3
    for bad in ("icl-k0", "k4", "icl4"):
        with pytest.raises(BreError, match="zero-shot .* or icl-kN"):
            parse_prompt_setting(bad)
    train = load_documents("chemprot", "train", FIXTURE_DATA)
    document = load_documents("chemprot", "test", FIXTURE_DATA)[0]
    assert build_prompt(TASK, document).plain_text() == TASK.source(document)  # zero-shot: the study's source
    [shown] = demonstrations_for(TASK, train[:1])
    prompt = build_prompt(TASK, document, [shown])
    assert prompt.plain_text() == TASK.source(train[0]) + TASK.target(train[0]) + "\n\n" + TASK.source(document)
    assert prompt.messages() == [
        {"role": "user", "content": TASK.source(train[0])},
        {"role": "assistant", "content": TASK.target(train[0])},
        {"role": "user", "content": TASK.source(document)},
    ]


def test_demonstrations_are_drawn_with_a_seed(llm_data):
    train = load_documents("chemprot", "train", llm_data)
    first = [d.id for d in draw_demonstrations(train, 4, 0)]
    assert first == [d.id for d in draw_demonstrations(train, 4, 0)] and len(set(first)) == 4
    assert first != [d.id for d in draw_demonstrations(train, 4, 1)]
    with pytest.raises(BreError, match="icl-k19 asks for 19 demonstrations, but the training split has 18"):
        draw_demonstrations(train, 19, 0)


@pytest.mark.parametrize("family", LLM_FAMILIES)
def test_a_prompt_too_long_drops_demonstrations_never_the_passage(family):
    from bre_core.models.prompts import CHAT, encode_prompt, fit_prompt

    tokenizer = llm_tokenizer(family)
    train = load_documents("chemprot", "train", FIXTURE_DATA)
    document = load_documents("chemprot", "test", FIXTURE_DATA)[0]
    prompt = build_prompt(TASK, document, demonstrations_for(TASK, train))  # two demonstrations
    with_one = encode_prompt(tokenizer, prompt.keeping(1), CHAT)
    fitted = fit_prompt(tokenizer, prompt, CHAT, len(with_one))
    assert (fitted.demonstrations, fitted.dropped, fitted.passage_cut) == (1, 1, False)
    assert fitted.ids == with_one
    alone = encode_prompt(tokenizer, Prompt(TASK.source(document)), CHAT)
    fitted = fit_prompt(tokenizer, prompt, CHAT, len(alone))
    assert (fitted.demonstrations, fitted.dropped, fitted.passage_cut, fitted.ids) == (0, 2, False, alone)
    cut = fit_prompt(tokenizer, prompt, CHAT, len(alone) - 5)
    assert cut.passage_cut and len(cut.ids) <= len(alone) - 5 and cut.demonstrations == 0
    assert cut.ids[-1] == alone[-1] and cut.ids[:4] == alone[:4]  # cut inside the passage: the turns are kept


def _manifest(run_folder):
    return json.loads((run_folder / "manifest.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("family", LLM_FAMILIES)
def test_zero_shot_icl_and_lora_through_the_cli_and_into_the_dashboard(family, llm_data, tmp_path, monkeypatch):
    import bre_core.models
    from bre_core.ui.dashboard_data import load_data

    monkeypatch.setattr(bre_core.models, "default_max_new_tokens", lambda spec: int(MAX_NEW))  # finetune's budget
    train = load_documents("chemprot", "train", llm_data)
    spec = build_tiny_llm(family, tmp_path / family, [TASK.source(d) for d in train[:2]])
    out = tmp_path / "runs"
    common = ["--dataset", "chemprot", "--data-dir", str(llm_data), "--out", str(out), "--device", "cpu"]
    evaluate = ["evaluate", "--model", spec.path, "--split", "test", "--max-new-tokens", MAX_NEW, *common]
    assert main(evaluate) == 0
    assert main([*evaluate, "--setting", "icl-k4", "--demonstration-seed", "1"]) == 0
    finetune = ["finetune", "--model", spec.path, "--setting", "k16", "--peft", "lora", "--lora-r", "4", *common]
    assert main([*finetune, "--epochs", "1", "--effective-batch", "8", "--micro-batch", "4", "--seed", "0"]) == 0

    name = (tmp_path / family).name
    zero = _manifest(out / f"{name}__chemprot__test__zero-shot")
    assert zero["prompt"]["format"] == "chat-template" and zero["prompt"]["demonstrations"] == 0
    assert zero["prompt"]["chat_template_sha256"] and zero["decoding"]["engine"] == "hf"
    icl = _manifest(out / f"{name}__chemprot__test__icl-k4")
    expected = [d.id for d in draw_demonstrations(train, 4, 1)]
    assert icl["demonstrations"] == {"seed": 1, "ids": expected}
    assert icl["prompt"]["demonstration_ids"] == expected and icl["prompt"]["demonstration_seed"] == 1
    lora_folder = out / f"{name}__chemprot__test__lora-k16__seed0"
    lora = _manifest(lora_folder)
    assert lora["setting"] == "lora-k16" and lora["training"]["train_documents"] == 16
    assert lora["training"]["peft"] == {
        "method": "lora",
        "r": 4,
        "alpha": 32,
        "dropout": 0.05,
        "target_modules": None,
        "quantize": None,
    }
    adapter = lora_folder / "checkpoint"
    assert (adapter / "adapter_config.json").is_file() and not (adapter / "config.json").exists()
    base = json.loads((adapter / "bre_adapter.json").read_text())["base"]
    assert (base["path"], base["family"]) == (spec.path, family)

    # The adapter folder is a model: evaluate loads it (merged into its base) like any other.
    assert main(["evaluate", "--model", str(adapter), "--split", "test", "--max-new-tokens", MAX_NEW, *common]) == 0
    assert (out / "checkpoint__chemprot__test__zero-shot" / "manifest.json").is_file()

    data = load_data([out])
    board = data.board
    assert set(board.setting) == {"zero-shot", "icl-k4", "lora-k16"}
    curve = data.view().curve
    assert {(r.setting, r.method, r.k) for r in curve.itertuples() if r.model == name} == {
        ("zero-shot", "zero-shot", 0.0),
        ("icl-k4", "in-context", 4.0),
        ("lora-k16", "lora", 16.0),
    }
    assert board.gpu_s_per_1k.isna().all()  # CPU runs: no GPU-seconds


def test_qlora_on_a_cpu_stops_where_cuda_is_required(llm_data, tmp_path, capsys):
    spec = build_tiny_llm("llama", tmp_path / "llama")
    out = tmp_path / "runs"
    argv = ["finetune", "--model", spec.path, "--dataset", "chemprot", "--data-dir", str(llm_data), "--out", str(out)]
    assert main([*argv, "--setting", "k16", "--peft", "lora", "--quantize", "4bit", "--epochs", "1"]) == 2
    error = capsys.readouterr().err
    assert "--quantize 4bit (QLoRA)" in error and "needs a CUDA GPU" in error and "Drop --quantize" in error
    assert not out.exists()  # refused before the run folder was claimed
    assert main([*argv, "--setting", "k99", "--peft", "lora", "--quantize", "4bit"]) == 2
    assert "k=99 is larger than the training set (18 documents)" in capsys.readouterr().err  # data checks ran first


def test_vllm_engine_says_what_is_missing(llm_data, tmp_path, capsys, monkeypatch):
    spec = build_tiny_llm("mistral", tmp_path / "mistral")
    argv = ["evaluate", "--model", spec.path, "--dataset", "chemprot", "--split", "test", "--engine", "vllm"]
    argv += ["--data-dir", str(llm_data), "--out", str(tmp_path / "runs")]
    if importlib.util.find_spec("vllm") is None:
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert "needs the vllm package" in error and "requirements-llm.txt" in error and "--engine hf" in error
        monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))  # installed, then: the GPU is next
    import torch

    if not torch.cuda.is_available():
        assert main(argv) == 2
        assert "runs on CUDA GPUs only" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None or not __import__("torch").cuda.is_available(),
    reason="vLLM greedy parity needs vllm and a CUDA GPU (pip install -r requirements-llm.txt on a GPU machine)",
)
def test_vllm_greedy_outputs_equal_the_hf_engine(llm_data, tmp_path):
    from bre_core.runs import evaluate
    from bre_core.settings import DecodingSettings

    spec = build_tiny_llm("llama", tmp_path / "llama")
    runs = {
        engine: evaluate(
            spec,
            "chemprot",
            "test",
            tmp_path / engine,
            decoding=DecodingSettings(engine=engine),
            setting="icl-k4",
            data_dir=llm_data,
        )
        for engine in ("hf", "vllm")
    }
    assert [p.output for p in runs["hf"].predictions] == [p.output for p in runs["vllm"].predictions]
