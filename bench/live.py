"""Benchmark: one live comparison of the default pair, per engine and compute type; prints JSON.

The pair's real-size configurations (google/flan-t5-base; cogint/in-boxbart, BART-base's architecture) are
built here from configs, random weights, nothing downloaded; the end-of-sequence token is made unreachable so
that every output has exactly --new-tokens tokens. The passage is a ChemProt test abstract of median length
(a fixed 309-token passage without the corpora). Each engine runs in its own process (its peak memory is its
own): each model alone, then side_by_side.compare (both at once where the engine allows), and teacher-forced
log-probabilities of the gold target. The bandwidth floor is measured in the same run (a large tensor sum).

    python bench/live.py --json                  # hf float32, ctranslate2 float32 and int8
    python bench/live.py --quick --json          # 32 tokens: a smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, bpe_tokenizer, chemprot_documents, data_dir

CONFIGS = ("hf-float32", "ctranslate2-float32", "ctranslate2-int8")
FALLBACK_PASSAGE = " ".join(["Tamoxifen inhibits the estrogen receptor alpha in breast cancer cells."] * 28)


def build_pair(folder: Path, texts: list[str]) -> dict:
    """Flan-T5-base and BART-base configurations with random weights, saved with a tokenizer trained on `texts`."""
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, T5Config, T5ForConditionalGeneration

    from bre_core.config import ModelSpec

    torch.manual_seed(0)
    t5_tokenizer, bart_tokenizer = bpe_tokenizer(texts, "t5"), bpe_tokenizer(texts, "bart")
    t5 = T5ForConditionalGeneration(
        T5Config(  # google/flan-t5-base's config.json
            vocab_size=32128,
            d_model=768,
            d_kv=64,
            d_ff=2048,
            num_layers=12,
            num_heads=12,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
            decoder_start_token_id=0,
            pad_token_id=0,
            eos_token_id=1,
        )
    )
    bart = BartForConditionalGeneration(
        BartConfig(  # facebook/bart-base's (cogint/in-boxbart is a finetuned bart-base)
            vocab_size=50265,
            d_model=768,
            encoder_layers=6,
            decoder_layers=6,
            encoder_attention_heads=12,
            decoder_attention_heads=12,
            encoder_ffn_dim=3072,
            decoder_ffn_dim=3072,
            max_position_embeddings=1024,
            bos_token_id=0,
            pad_token_id=1,
            eos_token_id=2,
            decoder_start_token_id=2,
        )
    )
    with torch.no_grad():  # EOS unreachable: a fixed output length
        t5.lm_head.weight[1] = 0.0  # its logit is 0, and some of 32k random logits are always above it
        bart.final_logits_bias[0, 2] = -1e4
    specs = {}
    for slot, name, model, tokenizer in (
        ("a", "flan-t5-base", t5, t5_tokenizer),
        ("b", "in-boxbart", bart, bart_tokenizer),
    ):
        model.save_pretrained(folder / name)
        tokenizer.save_pretrained(folder / name)
        family = "t5" if name.startswith("flan") else "bart"
        specs[slot] = ModelSpec(name=name, path=str(folder / name), architecture="seq2seq", family=family)
    return specs


def median_passage(data: str | None):
    """The ChemProt test document of median length, or None without the corpora (then the fixed passage)."""
    from bre_core.datasets import load_documents

    try:
        documents = sorted(load_documents("chemprot", "test", data_dir(data)), key=lambda d: len(d.text))
    except Exception:  # noqa: BLE001 - no corpora here
        return None
    return documents[len(documents) // 2]


def bandwidth_floor_gbs() -> float:
    """Memory bandwidth (GB/s): the best of five sums over 1 GiB of float32."""
    import torch

    tensor = torch.ones(2**28)
    best = min(_timed(lambda: tensor.sum().item()) for _ in range(5))
    return tensor.numel() * 4 / best / 1e9


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def decoder_bytes(loaded) -> int:
    """Bytes of weights one decoding step reads (fp32): the decoder's layers and the output projection."""
    model = loaded.model
    decoder = model.get_decoder()
    tensors = {id(p): p for p in decoder.parameters()} | {id(p): p for p in model.get_output_embeddings().parameters()}
    rows = decoder.embed_tokens.weight
    if id(rows) in tensors and rows is not model.get_output_embeddings().weight:
        del tensors[id(rows)]  # an input embedding reads one row per step
    return sum(p.numel() * p.element_size() for p in tensors.values())


def worker(config: str, folder: Path, new_tokens: int, data: str | None, repeats: int = 1) -> dict:
    """One engine and compute type: each model alone, the comparison, agreement data, peak memory."""
    import torch

    from bre_core.models import ModelCache, generate, load_with_engine
    from bre_core.side_by_side import compare
    from bre_core.tasks import get_task

    engine, compute_type = config.split("-")
    specs = json.loads((folder / "specs.json").read_text())
    from bre_core.config import ModelSpec

    specs = {slot: ModelSpec(**spec) for slot, spec in specs.items()}
    task = get_task("chemprot")
    document = median_passage(data)
    item = document if document is not None else FALLBACK_PASSAGE
    source = task.source(item) if document is not None else task.source_for_text(item)
    loaded = {slot: load_with_engine(spec, engine, compute_type, "cpu") for slot, spec in specs.items()}
    result = {"config": config, "threads": torch.get_num_threads(), "sides": {}}
    generate(loaded["a"], ["Aspirin."], 4)  # warm-up (allocators, kernels)
    for slot, spec in specs.items():
        runs = [_timed_side(loaded[slot], source, new_tokens) for _ in range(repeats)]
        side = result["sides"][slot] = runs[0][1]
        seconds = min(run[0] for run in runs)  # the best: the machine is shared, other work only adds time
        side.update(model=spec.name, seconds=round(seconds, 3), ms_per_token=round(seconds / new_tokens * 1000, 2))
        side["logprobs"] = _teacher_forced(loaded[slot], source, task.target(document) if document else "")
        side["memory_mb"] = round(loaded[slot].memory_bytes / 2**20)
        if engine == "hf":
            side["decoder_bytes"] = decoder_bytes(loaded[slot])
    cache = ModelCache(loader=lambda spec: next(m for m in loaded.values() if m.spec == spec))
    result["comparison_s"] = round(
        min(
            _timed(lambda: compare(specs["a"], specs["b"], task, [item], cache=cache, max_new_tokens=new_tokens))
            for _ in range(repeats)
        ),
        3,
    )
    if engine == "hf":  # what the measurements chose against: two Python decoding loops in two threads
        from concurrent.futures import ThreadPoolExecutor

        def two_threads():
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda m: generate(m, [source], new_tokens), loaded.values()))

        result["two_threads_s"] = round(min(_timed(two_threads) for _ in range(repeats)), 3)
    result["load_average"] = os.getloadavg()
    result["peak_rss_mb"] = round(_peak_rss_kb() / 1024)
    return result


def _timed_side(loaded, source: str, new_tokens: int) -> tuple[float, dict]:
    """One model alone, in a worker thread as in a comparison (here a main-thread hf decode measured up to 1.7x
    slower than the same in a thread, under load: the alone and together figures must be taken alike)."""
    from concurrent.futures import ThreadPoolExecutor

    from bre_core.models import generate

    with ThreadPoolExecutor(1) as pool:
        started = time.perf_counter()
        (generation,) = pool.submit(generate, loaded, [source], new_tokens).result()
        seconds = time.perf_counter() - started
    return seconds, {
        "input_tokens": generation.input_tokens,
        "output_tokens": generation.output_tokens,
        "ids": list(generation.token_ids),
    }


def _teacher_forced(loaded, source: str, target: str) -> list[float]:
    """Log-probabilities of the gold target's tokens given the source (hf: a forward pass; ctranslate2: score_batch)."""
    tokenizer = loaded.tokenizer
    source_ids = tokenizer(source)["input_ids"][:512]
    target_ids = tokenizer(target or "No drug-gene relationships are established.")["input_ids"]
    if loaded.engine == "ctranslate2":
        tokens = lambda ids: [loaded.tokens[i] for i in ids]  # noqa: E731
        (scored,) = loaded.runner.score_batch([tokens(source_ids)], [tokens(target_ids)])
        return [round(float(v), 6) for v in scored.log_probs[: len(target_ids)]]
    import torch

    with torch.inference_mode():
        logits = loaded.model(input_ids=torch.tensor([source_ids]), labels=torch.tensor([target_ids])).logits
        logprobs = torch.log_softmax(logits[0].float(), -1).gather(-1, torch.tensor(target_ids)[:, None])[:, 0]
    return [round(float(v), 6) for v in logprobs]


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def hf_two_processes(folder: Path, new_tokens: int, data: str | None) -> float:
    """Wall time of the two models decoding in two worker processes started together (hf)."""
    start_at = time.time() + 25  # both load first, then start together
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--process-side", slot, "--folder", str(folder), "--new-tokens", str(new_tokens)]
            + (["--data", data] if data else [])
            + ["--start-at", str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for slot in "ab"
    ]
    spans = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return round(max(s["end"] for s in spans) - min(s["start"] for s in spans), 3)


def process_side(slot: str, folder: Path, new_tokens: int, data: str | None, start_at: float) -> dict:
    from bre_core.config import ModelSpec
    from bre_core.models import generate, load_with_engine
    from bre_core.tasks import get_task

    spec = ModelSpec(**json.loads((folder / "specs.json").read_text())[slot])
    document, task = median_passage(data), get_task("chemprot")
    source = task.source(document) if document is not None else task.source_for_text(FALLBACK_PASSAGE)
    loaded = load_with_engine(spec, "hf", None, "cpu")
    time.sleep(max(0.0, start_at - time.time()))
    start = time.time()
    generate(loaded, [source], new_tokens)
    return {"start": start, "end": time.time()}


def summarise(results: dict, floor_gbs: float, new_tokens: int) -> dict:
    base = results["hf-float32"]
    summary = {}
    for config, result in results.items():
        sides = {}
        for slot, side in result["sides"].items():
            reference = base["sides"][slot]
            floor_ms = reference["decoder_bytes"] / (floor_gbs * 1e9) * 1000
            diffs = [abs(x - y) for x, y in zip(side["logprobs"], reference["logprobs"])]
            same = next((i for i, (x, y) in enumerate(zip(side["ids"], reference["ids"])) if x != y), len(side["ids"]))
            sides[side["model"]] = {
                "seconds": side["seconds"],
                "ms_per_token": side["ms_per_token"],
                "x_fp32_floor": round(side["ms_per_token"] / floor_ms, 2),
                "output_tokens": side["output_tokens"],
                "ids_identical_to_hf": side["ids"] == reference["ids"],
                "ids_agree_until": same,
                "logprob_max_abs_diff": round(max(diffs), 6) if diffs else None,
                "memory_mb": side["memory_mb"],
            }
        summary[config] = {
            "sides": sides,
            "comparison_s": result["comparison_s"],
            "x_faster_than_hf": round(base["comparison_s"] / result["comparison_s"], 2),
            "x_hf_time": round(result["comparison_s"] / base["comparison_s"], 3),
            "sum_of_sides_s": round(sum(s["seconds"] for s in result["sides"].values()), 3),
            "peak_rss_mb": result["peak_rss_mb"],
            "load_average": [round(x, 2) for x in result["load_average"]],
            **({"two_threads_s": result["two_threads_s"]} if "two_threads_s" in result else {}),
        }
    floor = {s["model"]: round(s["decoder_bytes"] / (floor_gbs * 1e9) * 1000, 2) for s in base["sides"].values()}
    return {"floor_ms_per_token_fp32": floor, "configs": summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="32 new tokens (a smoke test, not a figure)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--repeats", type=int, default=2, help="timings are the best of this many runs")
    parser.add_argument("--no-processes", action="store_true", help="skip hf in two worker processes")
    parser.add_argument("--data", default=None, help="corpora folder (default: ../shared/data, else the fixtures)")
    parser.add_argument("--json", action="store_true", help="JSON only")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--process-side", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    new_tokens = 32 if args.quick else args.new_tokens
    if args.worker or args.process_side:
        folder = Path(args.folder)
        os.environ["BRE_CT2_CACHE"] = str(folder / "ct2")
        out = (
            worker(args.worker, folder, new_tokens, args.data, args.repeats)
            if args.worker
            else process_side(args.process_side, folder, new_tokens, args.data, args.start_at)
        )
        print(json.dumps(out))
        return 0
    with tempfile.TemporaryDirectory(prefix="bre-live-") as tmp:
        folder = Path(tmp)
        os.environ["BRE_CT2_CACHE"] = str(folder / "ct2")
        document = median_passage(args.data)
        texts = [d.text for d in chemprot_documents("train", 400, args.data)[0]]
        specs = build_pair(folder, texts)
        (folder / "specs.json").write_text(json.dumps({s: spec.model_dump() for s, spec in specs.items()}))
        configs = [c for c in args.configs.split(",") if c]
        conversion = {}
        for config in configs:  # converted here, so that a worker's peak memory is decoding's only
            if config.startswith("ctranslate2"):
                from bre_core.models import load_with_engine

                for spec in specs.values():
                    conversion[f"{spec.name} {config}"] = round(
                        _timed(lambda: load_with_engine(spec, "ctranslate2", config.split("-")[1], "cpu")), 2
                    )
        floor = bandwidth_floor_gbs()
        results = {}
        for config in configs:
            done = subprocess.run(
                [sys.executable, __file__, "--worker", config, "--folder", str(folder), "--new-tokens", str(new_tokens)]
                + ["--repeats", str(args.repeats)]
                + (["--data", args.data] if args.data else []),
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise SystemExit(f"{config} failed:\n{done.stderr[-3000:]}")
            results[config] = json.loads(done.stdout.strip().splitlines()[-1])
        report = {
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg(),
            "passage": document.id if document is not None else "fixed 309-token passage",
            "input_tokens": {side["model"]: side["input_tokens"] for side in results[configs[0]]["sides"].values()},
            "new_tokens": new_tokens,
            "repeats": args.repeats,
            "bandwidth_floor_gbs": round(floor, 2),
            "conversion_s": conversion,
            **summarise(results, floor, new_tokens),
        }
        if "hf-float32" in results and not args.no_processes:
            report["configs"]["hf-float32"]["two_processes_s"] = hf_two_processes(folder, new_tokens, args.data)
        report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
