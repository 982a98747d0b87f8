"""Benchmark: training throughput of this project's finetuning set-up against the study's; prints JSON.

Both sides train the same model (built from a config, random weights: nothing is downloaded), from the same
initial weights, for one epoch over the same real ChemProt training documents, with the study's optimiser and
an effective batch of 32. The study's configuration is micro-batch 1 x accumulation 32 with no length grouping;
this project's is its device default (micro-batch 1 on a CPU, 8 on a GPU, batches grouped by length, bf16 where
the GPU has it), or --micro-batch. Throughput counts target (label) tokens per second.

    python bench/train.py --quick --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common import bpe_tokenizer, chemprot_documents


def build(folder: Path, texts: list[str], size: str):
    """Save a T5 checkpoint (tiny on a CPU, t5-base's published configuration on a GPU) with a trained tokenizer."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    from bre_core.config import ModelSpec

    tokenizer = bpe_tokenizer(texts, "t5", 8000)
    dims = {
        "small": dict(d_model=128, d_kv=32, d_ff=512, num_layers=2, num_heads=4),
        "t5-base": dict(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12),
    }[size]
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=32128 if size == "t5-base" else len(tokenizer),
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
        **dims,
    )
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return ModelSpec(name=f"bench-{size}", path=str(folder), architecture="seq2seq", family="t5")


def throughput(spec, examples, micro_batch, accumulation, group, use_cpu, work: Path) -> dict:
    import torch

    from bre_core.finetune.trainer import build_trainer, training_arguments
    from bre_core.models import load_model

    loaded = load_model(spec, device="cpu", dtype=torch.float32)  # the same initial weights on both sides
    arguments = training_arguments(
        work,
        micro_batch=micro_batch,
        accumulation=accumulation,
        epochs=1,
        use_cpu=use_cpu,
        progress=False,
        group_by_length=group,
        save=False,
    )
    result = build_trainer(loaded, examples, arguments).train()
    tokens = sum(sum(1 for label in e["labels"] if label != -100) for e in examples)
    seconds = result.metrics["train_runtime"]
    return {
        "micro_batch": micro_batch,
        "accumulation": accumulation,
        "grouped_by_length": group,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run (about a minute on 2 CPU cores)")
    parser.add_argument("--json", action="store_true", help="print only the JSON figures")
    parser.add_argument("--documents", type=int, default=None)
    parser.add_argument("--micro-batch", type=int, default=None, help="this project's side (default: by device)")
    parser.add_argument("--data-dir", default=None, help="corpora folder (default: ../shared/data, else fixtures)")
    args = parser.parse_args()

    import logging

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    logging.getLogger("bre_core").setLevel(logging.WARNING)
    from bre_core.finetune.data import encode
    from bre_core.finetune.trainer import batch_plan
    from bre_core.models import load_model
    from bre_core.tasks import get_task

    use_cpu = not torch.cuda.is_available()
    count = args.documents or (64 if args.quick else 256)
    documents, data_dir = chemprot_documents("train", count, args.data_dir)
    task = get_task("chemprot")
    work = Path(tempfile.mkdtemp())
    spec = build(
        work / "model",
        [task.source(d) for d in documents] + [task.target(d) for d in documents],
        "small" if use_cpu else "t5-base",
    )
    tokenizer = load_model(spec, device="cpu").tokenizer
    examples = [encode(tokenizer, task, d, seq2seq=True, max_tokens=None) for d in documents]

    study = throughput(spec, examples, 1, 32, False, use_cpu, work / "study")
    micro, accumulation = batch_plan(32, args.micro_batch, use_cpu)
    ours = throughput(spec, examples, micro, accumulation, micro > 1, use_cpu, work / "ours")
    figures = {
        "device": torch.cuda.get_device_name(0) if not use_cpu else f"cpu ({torch.get_num_threads()} threads)",
        "model": spec.name,
        "documents": count,
        "data": str(data_dir),
        "tokens_per_s": ours["tokens_per_s"],
        "tokens_per_s_study": study["tokens_per_s"],
        "speedup_vs_study": round(ours["tokens_per_s"] / study["tokens_per_s"], 2),
        "ours": ours,
        "study": study,
    }
    print(json.dumps(figures, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
