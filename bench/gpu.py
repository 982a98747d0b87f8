"""GPU benchmark: real-size T5-base, BART-base and BioGPT (published configurations, random weights) through
bre_core's loading and generation: docs/s by batch size, ms per generated token, peak memory, batched vs
one-at-a-time agreement, the plain per-document loop, and side-by-side latency against the two models alone.

    python bench/gpu.py --data FILE.jsonl --out figures.json     (see bench/gpu.sh)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from common import bpe_tokenizer, naive_generate

NEW_TOKENS = 64


def configs():
    from transformers import BartConfig, BioGptConfig, T5Config

    # The published configurations of t5-base, facebook/bart-base and microsoft/biogpt.
    return {
        "t5-base": (
            "seq2seq",
            "t5",
            T5Config(
                vocab_size=32128,
                d_model=768,
                d_kv=64,
                d_ff=3072,
                num_layers=12,
                num_heads=12,
                pad_token_id=0,
                eos_token_id=1,
                decoder_start_token_id=0,
            ),
        ),
        "bart-base": (
            "seq2seq",
            "bart",
            BartConfig(
                vocab_size=50265,
                d_model=768,
                encoder_layers=6,
                decoder_layers=6,
                encoder_attention_heads=12,
                decoder_attention_heads=12,
                encoder_ffn_dim=3072,
                decoder_ffn_dim=3072,
                max_position_embeddings=1024,
                pad_token_id=1,
                bos_token_id=0,
                eos_token_id=2,
                decoder_start_token_id=2,
                forced_eos_token_id=2,
            ),
        ),
        "biogpt": (
            "causal",
            "biogpt",
            BioGptConfig(
                vocab_size=42384,
                hidden_size=1024,
                num_hidden_layers=24,
                num_attention_heads=16,
                intermediate_size=4096,
                max_position_embeddings=1024,
                pad_token_id=1,
                bos_token_id=0,
                eos_token_id=2,
            ),
        ),
    }


def build(name, texts, folder):
    """Save a random-weight checkpoint whose EOS can never win (fixed output lengths), return its spec."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    from bre_core.config import ModelSpec

    architecture, family, config = configs()[name]
    torch.manual_seed(0)
    model_class = AutoModelForSeq2SeqLM if architecture == "seq2seq" else AutoModelForCausalLM
    model = model_class.from_config(config)
    with torch.no_grad():
        model.get_output_embeddings().weight[config.eos_token_id].zero_()
    model.save_pretrained(folder)
    bpe_tokenizer(texts, family, 16000).save_pretrained(folder)
    return ModelSpec(name=name, path=str(folder), architecture=architecture, family=family)


def cuda_time(function):
    import torch

    synchronize = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    synchronize()
    started = time.perf_counter()
    result = function()
    synchronize()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="JSON lines with 'text' and 'source' (data export output)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--documents", type=int, default=256)
    parser.add_argument("--batch-sizes", default="1,8,32,64,128")
    parser.add_argument("--new-tokens", type=int, default=64, help="fixed output length")
    args = parser.parse_args()
    global NEW_TOKENS
    NEW_TOKENS = args.new_tokens

    import tempfile

    import torch

    from bre_core.models import ModelCache, generate, load_model
    from bre_core.side_by_side import compare
    from bre_core.tasks import get_task

    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines()][: args.documents]
    texts, sources = [r["text"] for r in rows], [r["source"] for r in rows]
    if not torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats = torch.cuda.max_memory_allocated = lambda *a: 0  # a CPU dry run
    figures = {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "documents": len(rows),
        "new_tokens_per_document": NEW_TOKENS,
        "models": {},
    }

    def save():
        Path(args.out).write_text(json.dumps(figures, indent=2))

    folder = Path(tempfile.mkdtemp())
    specs = {}
    for name in configs():
        specs[name] = build(name, texts, folder / name)
        torch.cuda.reset_peak_memory_stats()
        loaded = load_model(specs[name])
        entry = figures["models"][name] = {
            "dtype": str(loaded.dtype),
            "parameters_m": round(sum(p.numel() for p in loaded.model.parameters()) / 1e6, 1),
            "by_batch_size": {},
        }
        generate(loaded, sources[:8], 8, batch_size=8)  # warm-up: kernels, allocator
        for size in (int(x) for x in args.batch_sizes.split(",")):
            count = min(len(sources), 16 if size == 1 else len(sources))
            torch.cuda.reset_peak_memory_stats()
            seconds, outputs = cuda_time(lambda: generate(loaded, sources[:count], NEW_TOKENS, batch_size=size))
            entry["by_batch_size"][size] = {
                "docs_per_s": round(count / seconds, 2),
                "ms_per_generated_token": round(1000 * seconds / (count * NEW_TOKENS), 3),
                "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
            }
            save()
        one_at_a_time = [g.text for g in generate(loaded, sources[:16], NEW_TOKENS, batch_size=1)]
        batched = [g.text for g in generate(loaded, sources[:16], NEW_TOKENS, batch_size=16)]
        entry["batched_equals_one_at_a_time"] = sum(a == b for a, b in zip(one_at_a_time, batched)) / len(batched)
        if name == "t5-base":
            seconds, _ = cuda_time(lambda: naive_generate(loaded, sources[:16], NEW_TOKENS))
            entry["docs_per_s_naive"] = round(16 / seconds, 2)
            best = max(v["docs_per_s"] for v in entry["by_batch_size"].values())
            entry["speedup_vs_naive"] = round(best / entry["docs_per_s_naive"], 2)
        save()
        loaded = None  # free it before the next model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # Side by side: one passage, both models held by the cache, against each model alone.
    cache = ModelCache(max_models=2)
    a, b = specs["t5-base"], specs["biogpt"]
    task = get_task("chemprot")
    passage = texts[0]
    for _ in range(2):
        compare(a, b, task, [passage], cache=cache, max_new_tokens=NEW_TOKENS)  # warm-up
    alone_a, alone_b, together = [], [], []
    for _ in range(5):
        alone_a.append(cuda_time(lambda: generate(cache.get(a), [task.source_for_text(passage)], NEW_TOKENS))[0])
        alone_b.append(cuda_time(lambda: generate(cache.get(b), [task.source_for_text(passage)], NEW_TOKENS))[0])
        together.append(cuda_time(lambda: compare(a, b, task, [passage], cache=cache, max_new_tokens=NEW_TOKENS))[0])
    figures["side_by_side"] = {
        "models": [a.name, b.name],
        "seconds_a_alone": round(statistics.median(alone_a), 3),
        "seconds_b_alone": round(statistics.median(alone_b), 3),
        "seconds_together": round(statistics.median(together), 3),
    }
    figures["side_by_side"]["together_over_sum"] = round(
        figures["side_by_side"]["seconds_together"] / (statistics.median(alone_a) + statistics.median(alone_b)), 3
    )
    save()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
