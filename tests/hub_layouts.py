"""The model repositories of models.yaml as the hub lays them out (real file names and formats), with tiny weights.

One repository per model family and more (see `LAYOUTS`): SciFive with only spiece.model (no tokenizer.json) and
Flan-T5 with tokenizer.json; BART-style byte-level BPE vocab.json + merges.txt; BioGPT's fastBPE vocab.json +
merges.txt (BioGptTokenizer, sacremoses); pytorch_model.bin only (SciFive, BioBART, In-BoXBART, GPT-Neo, BioMedLM,
BioGPT), model.safetensors, and sharded safetensors with an index (BioGPT-Large); the generation settings the real
checkpoints ship (BART's beams and no_repeat_ngram_size in config.json, In-BoXBART's in generation_config.json,
SciFive's min_length in config.json); a renamed repository (gpt2-medium, now openai-community/gpt2-medium);
a repository with an older commit (BioBART-v2-base: other weights before); a gated one. Built in seconds.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from hub_standin import create_repo, write_commit
from hub_tokenizers import (
    BIOGPT_SPECIALS,
    byte_level_bpe,
    converted_tokenizer_json,
    fastbpe,
    spiece_model,
    t5_special_tokens,
)

TOKEN = "hf_breStandInToken0123456789abcdef"  # the one token the stand-in accepts in the tests
GATED = "bre-test/gated-gpt2"
MISSING = "bre-test/no-such-model"
PINNED = "GanjinZero/biobart-v2-base"  # two commits: the test pins the first
# What BART checkpoints ship and greedy decoding must ignore (facebook/bart-base's config.json).
BART_GENERATION = {"early_stopping": True, "no_repeat_ngram_size": 3, "num_beams": 4, "forced_bos_token_id": 0}
SCIFIVE_GENERATION = {"min_length": 64}  # a length far past the outputs greedy decoding gives here


@dataclass(frozen=True)
class Layout:
    """One repository: family, weights format (bin, safetensors, sharded), tokenizer files, generation settings."""

    family: str
    weights: str
    tokenizer: tuple[str, ...]
    legacy_generation: dict = field(default_factory=dict)  # written into config.json, as older checkpoints have it
    generation_config: dict | None = None  # generation_config.json (None: the repository has none)
    t5_variant: str = "v1.0"
    gated: bool = False
    seeds: tuple[int, ...] = (0,)  # one commit per seed, the last on main
    eos_scale: float = 2.0  # the end-of-sequence row of the output embedding, scaled: chosen so that with these
    # weights some outputs end early and others run on (SciFive's min_length and BART's beams then matter)


LAYOUTS = {
    "razent/SciFive-base-Pubmed": Layout("t5", "bin", ("spiece",), SCIFIVE_GENERATION, eos_scale=3.0),
    "google/flan-t5-base": Layout(
        "t5", "safetensors", ("spiece", "tokenizer.json"), generation_config={}, t5_variant="v1.1"
    ),
    "facebook/bart-base": Layout("bart", "safetensors", ("bpe",), BART_GENERATION, eos_scale=1.0),
    PINNED: Layout("bart", "bin", ("bpe", "config"), BART_GENERATION, seeds=(1, 2)),
    "cogint/in-boxbart": Layout("bart", "bin", ("bpe", "config", "tokenizer.json"), {}, BART_GENERATION, eos_scale=3.0),
    "openai-community/gpt2-medium": Layout("gpt2", "safetensors", ("bpe", "tokenizer.json"), generation_config={}),
    "EleutherAI/gpt-neo-2.7B": Layout("gpt-neo", "bin", ("bpe", "config")),
    "stanford-crfm/BioMedLM": Layout("gpt2", "bin", ("bpe", "config", "tokenizer.json")),
    "microsoft/biogpt": Layout("biogpt", "bin", ("fastbpe", "config"), generation_config={}),
    "microsoft/BioGPT-Large": Layout("biogpt", "sharded", ("fastbpe", "config"), generation_config={}),
    GATED: Layout("gpt2", "safetensors", ("bpe",), gated=True),
}
RENAMED = {"gpt2-medium": "openai-community/gpt2-medium"}  # old id -> new id, as the hub redirects them


def build_model_repos(root: Path, work: Path) -> dict[str, list[str]]:
    """Write every repository of LAYOUTS under `root` (a stand-in folder); the commit shas of each, oldest first."""
    tokenizers = _Tokenizers(work / "tokenizers")
    shas = {}
    for repo_id, layout in LAYOUTS.items():
        if layout.gated:
            create_repo(root, "model", repo_id, gated="auto")
        shas[repo_id] = [
            write_commit(root, "model", repo_id, files, "Upload model" if i == 0 else "Update weights")
            for i, files in enumerate(_repo_files(repo_id, layout, tokenizers, work, seed) for seed in layout.seeds)
        ]
    for old, new in RENAMED.items():
        create_repo(root, "model", old, moved_to=new)
    return shas


class _Tokenizers:
    """Each family's tokenizer files, trained once."""

    def __init__(self, work: Path):
        self.work, self._cache = work, {}

    def files(self, family: str, kinds: tuple[str, ...]) -> dict[str, bytes]:
        if family not in self._cache:
            self._cache[family] = self._train(family)
        trained = self._cache[family]
        files = {}
        if "spiece" in kinds:
            files["spiece.model"] = trained["spiece.model"]
        if "bpe" in kinds or "fastbpe" in kinds:
            files.update({k: trained[k] for k in ("vocab.json", "merges.txt")})
        if "tokenizer.json" in kinds:
            files["tokenizer.json"] = trained["tokenizer.json"]
        return files

    def _train(self, family: str) -> dict[str, bytes]:
        if family == "t5":
            files = {"spiece.model": spiece_model()}
        elif family == "bart":
            vocab, merges = byte_level_bpe(["<s>", "<pad>", "</s>", "<unk>"], ["<mask>"], 400)
            files = {"vocab.json": vocab, "merges.txt": merges}
        elif family in ("gpt2", "gpt-neo"):  # GPT-Neo uses GPT-2's tokenizer
            vocab, merges = byte_level_bpe([], ["<|endoftext|>"], 400)
            files = {"vocab.json": vocab, "merges.txt": merges}
        else:
            vocab, merges = fastbpe()
            return {"vocab.json": vocab, "merges.txt": merges}
        config = {"model_type": {"gpt-neo": "gpt2"}.get(family, family)}
        files["tokenizer.json"] = converted_tokenizer_json(files, config, self.work / family)
        return files


def _repo_files(repo_id: str, layout: Layout, tokenizers: _Tokenizers, work: Path, seed: int) -> dict[str, bytes]:
    files = tokenizers.files(layout.family, layout.tokenizer)
    vocab_size = _vocab_size(layout.family, files, tokenizers)
    model = _model(layout, vocab_size, zlib.crc32(repo_id.encode()) % 10_000 + seed)  # each its own weights
    folder = work / "saved" / repo_id / str(seed)
    model.save_pretrained(str(folder), **({"max_shard_size": "60KB"} if layout.weights == "sharded" else {}))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config.update(layout.legacy_generation)
    files["config.json"] = _json(config)
    files.update(_weights(model, folder, layout.weights))
    if layout.generation_config is not None:
        generation = {k: v for k, v in _ids(model.config).items() if v is not None}
        files["generation_config.json"] = _json(dict(generation, **layout.generation_config))
    if "config" in layout.tokenizer or layout.family == "t5":
        files.update(_tokenizer_config(layout.family))
    files["README.md"] = f"---\nlicense: apache-2.0\n---\n# {repo_id}\n\nA tiny stand-in: random weights.\n".encode()
    return files


def _vocab_size(family: str, files: dict[str, bytes], tokenizers: _Tokenizers) -> int:
    if family == "t5":  # the sentencepiece pieces + the 100 sentinels, rounded up as T5's 32128 is
        import sentencepiece as spm

        processor = spm.SentencePieceProcessor(model_proto=tokenizers.files("t5", ("spiece",))["spiece.model"])
        return math.ceil((processor.get_piece_size() + 100) / 64) * 64
    trained = tokenizers.files(family, ("bpe",))
    return len(json.loads(trained["vocab.json"]))


def _weights(model, folder: Path, kind: str) -> dict[str, bytes]:
    """The weight files of the layout: pytorch_model.bin (as older checkpoints), model.safetensors, or shards."""
    if kind == "bin":
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        return {"pytorch_model.bin": buffer.getvalue()}
    names = [p.name for p in folder.iterdir() if p.name.startswith("model") and "safetensors" in p.name]
    if kind == "sharded" and "model.safetensors.index.json" not in names:
        raise AssertionError(f"expected a sharded checkpoint in {folder}, found {names}")
    return {name: (folder / name).read_bytes() for name in names}


def _ids(config) -> dict:
    keys = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")
    return {k: getattr(config, k, None) for k in keys}


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _tokenizer_config(family: str) -> dict[str, bytes]:
    if family == "t5":
        special = t5_special_tokens()
        config = dict(special, model_max_length=512, extra_ids=100, tokenizer_class="T5Tokenizer")
    elif family == "bart":
        special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
        config = dict(special, model_max_length=1024, tokenizer_class="BartTokenizer", errors="replace")
    elif family in ("gpt2", "gpt-neo"):
        special = dict.fromkeys(("bos_token", "eos_token", "unk_token"), "<|endoftext|>")
        config = dict(special, model_max_length=2048, tokenizer_class="GPT2Tokenizer", add_prefix_space=False)
    else:
        names = ("bos_token", "pad_token", "eos_token", "unk_token")
        special = dict(zip(names, BIOGPT_SPECIALS), sep_token="</s>")
        config = dict(special, model_max_length=1024, tokenizer_class="BioGptTokenizer")
    return {"special_tokens_map.json": _json(special), "tokenizer_config.json": _json(config)}


# --- tiny models ---------------------------------------------------------------------------------------------


def _model(layout: Layout, vocab_size: int, seed: int):
    """A 2-layer model of the family with random weights (std 1, so that outputs differ between inputs) and an
    end-of-sequence token made likely enough that some outputs end early and others run to the budget."""
    import torch

    torch.manual_seed(seed)
    model, eos_rows = _architecture(layout, vocab_size)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
        eos = model.config.eos_token_id
        for rows in eos_rows(model):
            rows[eos] *= layout.eos_scale
    model.eval()
    return model


def _architecture(layout: Layout, vocab: int):
    """(model, a function giving the output-embedding weights whose eos row decides how often generation stops)."""
    import transformers as tf

    small = {"num_heads": 4}
    if layout.family == "t5":
        v11 = layout.t5_variant == "v1.1"  # Flan-T5: gated-gelu, untied output layer
        config = tf.T5Config(
            vocab_size=vocab,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            feed_forward_proj="gated-gelu" if v11 else "relu",
            tie_word_embeddings=not v11,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
            **small,
        )
        model = tf.T5ForConditionalGeneration(config)
        return model, lambda m: [m.lm_head.weight] if v11 else [m.shared.weight]
    if layout.family == "bart":
        config = tf.BartConfig(
            vocab_size=vocab,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=1024,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
            forced_eos_token_id=2,
        )
        return tf.BartForConditionalGeneration(config), lambda m: [m.model.shared.weight]
    if layout.family == "gpt2":
        config = tf.GPT2Config(
            vocab_size=vocab,
            n_positions=1024,
            n_embd=32,
            n_layer=2,
            n_head=4,
            bos_token_id=vocab - 1,
            eos_token_id=vocab - 1,
        )
        return tf.GPT2LMHeadModel(config), lambda m: [m.transformer.wte.weight]
    if layout.family == "gpt-neo":
        config = tf.GPTNeoConfig(
            vocab_size=vocab,
            max_position_embeddings=2048,
            hidden_size=32,
            num_layers=2,
            attention_types=[[["global", "local"], 1]],
            window_size=256,
            intermediate_size=64,
            bos_token_id=vocab - 1,
            eos_token_id=vocab - 1,
            **small,
        )
        return tf.GPTNeoForCausalLM(config), lambda m: [m.transformer.wte.weight]
    config = tf.BioGptConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=1024,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
    )
    return tf.BioGptForCausalLM(config), lambda m: [m.biogpt.embed_tokens.weight]


def main(argv: list[str] | None = None) -> int:
    """Build a stand-in folder by hand: the model repositories, and the corpora from a data folder."""
    import argparse

    from hub_corpora import build_corpus_repos

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("root", type=Path, help="the folder to serve with tests/hub_standin.py --root")
    parser.add_argument("--data-dir", type=Path, default=None, help="official corpus files (default: none)")
    args = parser.parse_args(argv)
    work = args.root.parent / f".{args.root.name}-work"
    build_model_repos(args.root, work)
    if args.data_dir is not None:
        build_corpus_repos(args.root, args.data_dir, work)
    print(f"built {args.root}; the token of the gated repository {GATED}: {TOKEN}")
    return 0


if __name__ == "__main__":  # PYTHONPATH=.:tests python tests/hub_layouts.py ROOT [--data-dir DIR]
    raise SystemExit(main())
