"""Benchmark: batched evaluation (bre_core.models.generate) against the plain per-document loop; prints JSON.

Both sides run the same small seq2seq model (built from a config, random weights: nothing is downloaded) on
the same documents, greedy, with the same fixed output length (the end-of-sequence token is made
unreachable, so every output has exactly --new-tokens tokens). The naive side is the loop a user would write:
one `model.generate` per document with the checkpoint's generation defaults.

    python bench/inference.py --quick --json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

from common import ROOT, bpe_tokenizer, chemprot_documents, naive_generate


def build_model(texts: list[str], vocab_size: int, d_model: int, layers: int, device: str):
    """A T5 of a few million parameters with a tokenizer trained on `texts`; EOS can never be generated."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    from bre_core.config import ModelSpec
    from bre_core.models.loading import LoadedModel

    tokenizer = bpe_tokenizer(texts, "t5", vocab_size)
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=d_model,
        d_kv=d_model // 4,
        d_ff=4 * d_model,
        num_layers=layers,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    model = T5ForConditionalGeneration(config).eval().to(device)
    with torch.no_grad():
        model.shared.weight[1].zero_()  # EOS logit 0 while the max of the others is > 0: fixed output length
    spec = ModelSpec(name="bench-t5", path=str(ROOT), architecture="seq2seq", family="t5")
    loaded = LoadedModel(
        model,
        tokenizer,
        spec,
        torch.device(device),
        torch.float32,
        checkpoint_generation_config=model.generation_config,
    )
    return loaded, sum(p.numel() for p in model.parameters())


def timed(function, repeats: int):
    """Best of `repeats` wall times (the least disturbed by other work on the machine), and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute on 2 CPU cores)")
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    parser.add_argument("--documents", type=int, default=None)
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--batch-sizes", default="8,16,32,64", help="comma-separated batch sizes to measure")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    import torch

    from bre_core.models import generate
    from bre_core.tasks import get_task

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    count = args.documents or (48 if args.quick else 256)
    new_tokens = args.new_tokens or (32 if args.quick else 64)
    docs, data_dir = chemprot_documents("test", count)
    task = get_task("chemprot")
    sources = [task.source(d) for d in docs]
    loaded, parameters = build_model([d.text for d in docs], 8000, 128, 2, device)
    repeats = 1 if args.quick else 2

    naive_seconds, naive_median, naive_out = timed(lambda: naive_generate(loaded, sources, new_tokens), repeats)
    by_batch = {}
    for size in (int(x) for x in args.batch_sizes.split(",")):
        best, median, outputs = timed(lambda: generate(loaded, sources, new_tokens, batch_size=size), repeats)
        assert [o.text for o in outputs] == naive_out, "batched outputs differ from the per-document loop"
        by_batch[size] = {"seconds": round(best, 3), "docs_per_s": round(count / best, 2)}
    best_size = max(by_batch, key=lambda s: by_batch[s]["docs_per_s"])
    figures = {
        "device": torch.cuda.get_device_name(0)
        if device == "cuda"
        else f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "model": f"T5 from config, {parameters / 1e6:.1f}M parameters, random weights",
        "documents": count,
        "new_tokens_per_document": new_tokens,
        "data": str(data_dir),
        "docs_per_s_naive": round(count / naive_seconds, 2),
        "docs_per_s_batched": by_batch[best_size]["docs_per_s"],
        "speedup_vs_naive": round(by_batch[best_size]["docs_per_s"] / (count / naive_seconds), 2),
        "best_batch_size": best_size,
        "by_batch_size": by_batch,
        "outputs_identical": True,
    }
    print(json.dumps(figures, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
