"""Tiny Llama-, Mistral- and Gemma-family models with their families' chat templates, and a ChemProt folder with
enough training documents for icl-k4 and k16, built offline in seconds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tiny_models import BOS, EOS, PAD, SENTENCES, tokenizer_for

from bre_core.config import ModelSpec

LLM_FAMILIES = ("llama", "mistral", "gemma")
LLM_CONTEXT = 1024
# The families' templates, reduced to what decides the tokens: turn markers, end-of-turn token, generation prompt.
TEMPLATES = {
    "llama": (
        "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
        "{{ m['content'] }}<|eot_id|>{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
    ),
    "mistral": (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]"
        "{% else %}{{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}"
    ),
    "gemma": (
        "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
        "{{ raise_exception('System role not supported') }}{% endif %}"
        "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}<end_of_turn>\n"
        "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    ),
}
TURN_TOKENS = {
    "llama": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    "mistral": ["[INST]", "[/INST]"],
    "gemma": ["<start_of_turn>", "<end_of_turn>"],
}
END_OF_TURN = {"llama": "<|eot_id|>", "mistral": "</s>", "gemma": "<end_of_turn>"}


def llm_tokenizer(family: str, texts: list[str] | None = None):
    """A BPE tokenizer trained on `texts` with the family's turn tokens and chat template."""
    tokenizer = tokenizer_for("bart", (texts or []) + SENTENCES, vocab_size=400)
    tokenizer._tokenizer.post_processor = None  # a bos is written by the template (and for plain text, below)
    tokenizer.add_special_tokens({"additional_special_tokens": TURN_TOKENS[family]})
    tokenizer.chat_template = TEMPLATES[family]
    return tokenizer


def llm_model(family: str, vocab_size: int, seed: int = 0):
    import torch
    from transformers import (
        GemmaConfig,
        GemmaForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
        MistralConfig,
        MistralForCausalLM,
    )

    torch.manual_seed(seed)
    shared = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=LLM_CONTEXT,
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
    )
    if family == "llama":
        return LlamaForCausalLM(LlamaConfig(**shared))
    if family == "mistral":
        return MistralForCausalLM(MistralConfig(**shared, sliding_window=None))
    if family == "gemma":
        return GemmaForCausalLM(GemmaConfig(**shared, head_dim=8))
    raise ValueError(f"no tiny LLM for family '{family}'; known: {', '.join(LLM_FAMILIES)}")


def build_tiny_llm(family: str, folder: Path | str, texts: list[str] | None = None, seed: int = 0) -> ModelSpec:
    """Write a tiny chat model of `family` into `folder` and return a local-path spec for it."""
    folder = Path(folder)
    tokenizer = llm_tokenizer(family, texts)
    model = llm_model(family, len(tokenizer), seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return ModelSpec(
        name=f"tiny-{family}", path=str(folder), architecture="causal", params="tiny", domain="general", ift="general",
        family=family,
    )  # fmt: skip


def write_chemprot_splits(root: Path, splits: dict) -> Path:
    """A ChemProt data folder in the official format holding {split: documents}."""
    from bre_core.datasets.chemprot import split_files

    for split, documents in splits.items():
        files = {key: root / rel for key, rel in split_files(split).items()}
        files["abstracts"].parent.mkdir(parents=True, exist_ok=True)
        with open(files["abstracts"], "w") as a, open(files["entities"], "w") as e, open(files["gold"], "w") as g:
            for d in documents:
                title, abstract = d.text.split(" ", 1)  # any cut keeps the offsets: text = title + " " + abstract
                a.write(f"{d.id}\t{title}\t{abstract}\n")
                for entity in d.entities:
                    (start, end), name = entity.spans[0], entity.names[0]
                    e.write(f"{d.id}\t{entity.id}\t{entity.type}\t{start}\t{end}\t{name}\n")
                for r in d.relations:
                    g.write(f"{d.id}\t{r.label}\tArg1:{r.args[0]}\tArg2:{r.args[1]}\n")
    return root


def chemprot_with_copies(root: Path, fixture_data: Path, train_copies: int = 9) -> Path:
    """The fixture ChemProt documents, the training ones copied under new ids (2 x 9 = 18 >= k16), test as it is."""
    from bre_core.datasets import load_documents

    train = load_documents("chemprot", "train", fixture_data)
    copies = [replace(d, id=f"{d.id}{n}") for n in range(train_copies) for d in train]
    splits = {split: load_documents("chemprot", split, fixture_data) for split in ("validation", "test")}
    return write_chemprot_splits(root, {"train": copies, **splits})
