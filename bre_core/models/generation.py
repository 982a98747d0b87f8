"""Greedy generation in length-sorted batches: explicit decoding settings, truncation, and out-of-memory retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from bre_core.config import ModelSpec
from bre_core.errors import BreError, SourceTooLongError
from bre_core.models.loading import LoadedModel, neutralize_generation_config
from bre_core.settings import CPU_BATCH, SEQ2SEQ_MAX_TOKENS

log = logging.getLogger(__name__)

OUTPUT_BUDGET = {"seq2seq": 512, "causal": 1024}  # the study's output budgets (PAPER.md, "Training protocol")


@dataclass(frozen=True)
class Generation:
    """One model output: the text (special tokens removed; the prompt removed for decoder-only models)."""

    text: str
    input_tokens: int  # source tokens after truncation
    output_tokens: int  # generated tokens, up to and including the first end-of-sequence token
    seconds: float  # the batch's wall time divided among its members
    # why generation stopped: "end" (end-of-sequence), "tokens" (the budget), "time", or "stop" (a stop string)
    stopped: str = "end"
    token_ids: tuple[int, ...] = ()  # the generated ids (what engines are compared on); not kept in records


def default_max_new_tokens(spec: ModelSpec) -> int:
    return OUTPUT_BUDGET[spec.architecture]


def context_length(loaded) -> int | None:
    """Positions a decoder-only model can attend over (prompt plus output); None when the config does not say."""
    config = loaded.config
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def source_token_limit(loaded, max_new_tokens: int) -> int:
    """512 for encoder-decoders; for decoder-only models the context minus the output budget.

    When the budget is half the context or more (the study's 1024 for GPT-2's 1024 positions), the prompt keeps
    half the context, and generation stops where the context ends.
    """
    if loaded.is_seq2seq:
        return SEQ2SEQ_MAX_TOKENS
    context = context_length(loaded)
    if context is None:
        return 2**31
    return context - min(max_new_tokens, context // 2)


def greedy_config(loaded: LoadedModel, max_new_tokens: int, max_seconds: float | None = None):
    """Greedy decoding, every setting that could change it stated (none is inherited from the checkpoint).

    `max_seconds` stops a batch's generation after that wall time (transformers' MaxTimeCriteria)."""
    from transformers import GenerationConfig

    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        min_length=0,
        do_sample=False,
        num_beams=1,
        num_beam_groups=1,
        num_return_sequences=1,
        no_repeat_ngram_size=0,
        encoder_no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        encoder_repetition_penalty=1.0,
        length_penalty=1.0,
        early_stopping=False,
        temperature=1.0,
        top_k=50,
        top_p=1.0,
        diversity_penalty=0.0,
        renormalize_logits=False,
        remove_invalid_values=False,
        use_cache=True,
        max_time=max_seconds,
        **loaded.token_ids(),
    )


def generate_encoded(
    loaded: LoadedModel,
    encoded: Sequence[list[int]],
    max_new_tokens: int,
    batch_size: int = CPU_BATCH,
    progress: bool = False,
    *,
    max_seconds: float | None = None,
    stop_strings: Sequence[str] = (),
) -> list[Generation]:
    """The hf engine's greedy outputs for prompts as token ids (engines.generate encodes sources; models/prompts.py
    fits prompts to the context), in their order, the same batched as one at a time.

    An output is cut before the first of `stop_strings` it holds (`stopped == "stop"`); generation stops there too.
    `max_seconds` bounds each batch's wall time; an output it cuts short has `stopped == "time"`. Prompts are sorted
    longest first (an out-of-memory shows up on the first batch) and padded per batch; on a CUDA out-of-memory error
    the batch size halves and the batch is tried again. One exception to batch independence: a decoder-only output
    that runs into the end of the context stops where the batch's longest prompt leaves no room.
    """
    from tqdm.auto import tqdm

    if max_new_tokens < 1 or batch_size < 1:
        raise ValueError(f"max_new_tokens and batch_size must be positive, got {max_new_tokens} and {batch_size}")
    if not encoded:
        return []
    neutralize_generation_config(loaded)  # in case the model's config was changed after loading
    encoded = [list(ids) for ids in encoded]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
    results: list[Generation | None] = [None] * len(encoded)
    start = 0
    with tqdm(total=len(order), disable=not progress, desc=f"generating ({loaded.spec.name})", unit="doc") as bar:
        while start < len(order):
            batch = order[start : start + batch_size]
            try:
                outputs = _generate_batch(
                    loaded, [encoded[i] for i in batch], max_new_tokens, max_seconds, stop_strings
                )
            except (torch.cuda.OutOfMemoryError, RuntimeError) as exc:
                if not _out_of_memory(exc):
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if len(batch) == 1:
                    raise BreError(
                        f"{loaded.spec.name} runs out of GPU memory on a single source of "
                        f"{len(encoded[batch[0]])} tokens; use a larger GPU, or lower max_new_tokens "
                        f"({max_new_tokens})"
                    ) from exc
                batch_size = len(batch) // 2  # the batch may be smaller than batch_size: halve what failed
                log.warning("out of GPU memory; retrying with batch size %d", batch_size)
                continue
            for index, output in zip(batch, outputs):
                results[index] = output
            start += len(batch)
            bar.update(len(batch))
    return results


def _out_of_memory(exc: BaseException) -> bool:
    # cuBLAS reports a failed allocation as a plain RuntimeError.
    return isinstance(exc, torch.cuda.OutOfMemoryError) or any(
        sign in str(exc) for sign in ("CUDA out of memory", "CUBLAS_STATUS_ALLOC_FAILED")
    )


def encode_sources(loaded, sources: list[str], limit: int, refuse_long: bool = False) -> list[list[int]]:
    """Each source's token ids: cut at `limit` (keeping the special tokens), or refused when `refuse_long`."""
    tokenizer = loaded.tokenizer
    full = tokenizer(sources, add_special_tokens=True, verbose=False)["input_ids"]
    long = [i for i, ids in enumerate(full) if len(ids) > limit]
    if long and refuse_long:
        raise SourceTooLongError(loaded.spec.name, len(full[long[0]]), limit)
    if long:
        # Truncated by the tokenizer, so that the special tokens it adds (T5's closing </s>) are kept.
        cut = tokenizer([sources[i] for i in long], add_special_tokens=True, truncation=True, max_length=limit)
        for i, ids in zip(long, cut["input_ids"]):
            full[i] = ids
        log.info("%d of %d sources truncated to %d tokens", len(long), len(sources), limit)
    return full


def _generate_batch(
    loaded: LoadedModel,
    batch: list[list[int]],
    max_new_tokens: int,
    max_seconds: float | None = None,
    stop_strings: Sequence[str] = (),
) -> list[Generation]:
    started = time.perf_counter()
    # The tokenizer pads on the side loading set: left for decoder-only models, right for encoder-decoders.
    padded = loaded.tokenizer.pad({"input_ids": batch}, padding="longest", return_tensors="pt")
    input_ids, attention_mask = padded["input_ids"], padded["attention_mask"]
    width = input_ids.shape[1]
    budget = batch_budget(loaded, width, max_new_tokens)
    device = loaded.model.device
    config = greedy_config(loaded, budget, max_seconds)
    stopping = {}
    if stop_strings:
        config.stop_strings = list(stop_strings)
        stopping = {"tokenizer": loaded.tokenizer}  # transformers reads the stop strings' tokens with it
    with torch.inference_mode():
        output = loaded.model.generate(
            input_ids=input_ids.to(device),
            attention_mask=attention_mask.to(device),
            generation_config=config,
            **stopping,
        )
    elapsed = time.perf_counter() - started
    # Encoder-decoders start with the decoder start token; decoder-only outputs start with the prompt.
    new_tokens = output[:, 1:] if loaded.is_seq2seq else output[:, width:]
    return finish_batch(loaded, batch, new_tokens.tolist(), budget, elapsed, max_seconds, stop_strings)


def batch_budget(loaded, width: int, max_new_tokens: int) -> int:
    """The output budget of a batch whose longest source has `width` tokens: never past a decoder-only model's
    last position."""
    context = None if loaded.is_seq2seq else context_length(loaded)
    if context is None:
        return max_new_tokens
    return max(1, min(max_new_tokens, context - width))


def finish_batch(
    loaded,
    batch: list[list[int]],
    rows: list[list[int]],
    budget: int,
    elapsed: float,
    max_seconds: float | None,
    stop_strings: Sequence[str] = (),
) -> list[Generation]:
    """Generations from a batch's new token ids (any engine): cut after the first end-of-sequence token and before
    the first stop string, why each stopped, the text decoded without special tokens."""
    eos = loaded.token_ids().get("eos_token_id")
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    seconds = elapsed / len(batch)
    out_of_time = max_seconds is not None and elapsed >= max_seconds
    generations = []
    for ids, row in zip(batch, rows):
        end = next((n + 1 for n, token in enumerate(row) if token in eos_ids), None)
        length = end or len(row)
        stopped = "end" if end else "time" if out_of_time and length < budget else "tokens"
        text = loaded.tokenizer.decode(row[:length], skip_special_tokens=True)
        text, length, stopped = _cut_at_stop(loaded.tokenizer, text, length, stopped, stop_strings)
        generations.append(Generation(text, len(ids), length, seconds, stopped, tuple(row[:length])))
    return generations


def _cut_at_stop(tokenizer, text: str, length: int, stopped: str, stop_strings: Sequence[str]):
    """The text before its first stop string; output tokens counted up to and including the stop."""
    cuts = [text.find(stop) for stop in stop_strings if stop in text]
    if not cuts:
        return text, length, stopped
    kept = text[: min(cuts)]
    used = len(tokenizer(kept, add_special_tokens=False)["input_ids"]) + 1
    return kept, min(length, used), "stop"
