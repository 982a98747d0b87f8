"""Greedy generation with CTranslate2: the hf engine's truncation, budgets, time limit and stop rules, in C++.

The decoding loop runs without the GIL, so two models generate at the same time in two threads. Token ids go
in and out through the converted model's own vocabulary, so the ids are the checkpoint's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bre_core.config import ModelSpec
from bre_core.errors import BreError
from bre_core.models.generation import (
    Generation,
    batch_budget,
    finish_batch,
)
from bre_core.settings import CPU_BATCH

log = logging.getLogger(__name__)

CPU_TYPES = ("float32", "int8", "int8_float32")
GPU_TYPES = ("float32", "float16", "bfloat16", "int8", "int8_float16", "int8_bfloat16")


@dataclass(eq=False)
class Ct2Model:
    """A converted model ready for generation: the CTranslate2 translator (encoder-decoders) or generator."""

    runner: Any  # ctranslate2.Translator or ctranslate2.Generator
    tokenizer: Any
    spec: ModelSpec
    config: Any  # the checkpoint's transformers config (context length, special token ids)
    device: torch.device
    compute_type: str
    folder: Path
    tokens: list[str]  # the converted vocabulary, by id
    special_ids: dict[str, Any] = field(default_factory=dict)
    memory_bytes: int = 0
    engine_note: str | None = None
    ids: dict[str, int] = field(default_factory=dict, repr=False)  # token -> id, built once

    engine = "ctranslate2"
    releases_gil = True

    def __post_init__(self):
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    @property
    def is_seq2seq(self) -> bool:
        return self.spec.architecture == "seq2seq"

    @property
    def dtype(self) -> str:
        return self.compute_type

    def token_ids(self) -> dict[str, Any]:
        """The hf engine's special token ids for this checkpoint, written down when it was converted."""
        return dict(self.special_ids)


def check_compute_type(compute_type: str, device: str) -> None:
    """A BreError naming the compute types this device offers when `compute_type` is not one of them."""
    import ctranslate2

    offered = set(ctranslate2.get_supported_compute_types(device))
    ours = CPU_TYPES if device == "cpu" else GPU_TYPES
    if compute_type not in ours or compute_type not in offered:
        usable = ", ".join(t for t in ours if t in offered)
        raise BreError(f"compute type '{compute_type}' is not available on {device}; use one of: {usable}")


def load_ct2(spec: ModelSpec, compute_type: str, device=None, load_hf=None) -> Ct2Model:
    """Convert `spec` (once; cached) and load it for `compute_type` on `device` (default: cuda when there is one)."""
    import ctranslate2

    from bre_core.models.ct2_convert import ensure_converted, special_ids, vocabulary
    from bre_core.models.loading import _locate, load_model

    device = torch.device(device) if device is not None else _default_device()
    check_compute_type(compute_type, device.type)
    _locate(spec)  # a missing folder is reported as the hf engine reports it, before any conversion
    # Conversion reads fp32 weights on the CPU; the copy is dropped once converted.
    folder, converted_from = ensure_converted(
        spec, compute_type, lambda: (load_hf or load_model)(spec, device="cpu", dtype=torch.float32)
    )
    if converted_from is not None:
        tokenizer, config = converted_from.tokenizer, converted_from.config
        del converted_from
    else:
        tokenizer, config = _tokenizer_and_config(spec)
    runner_class = ctranslate2.Translator if spec.architecture == "seq2seq" else ctranslate2.Generator
    options = {"device_index": device.index or 0} if device.type == "cuda" else {"intra_threads": _cpu_threads()}
    runner = runner_class(str(folder), device=device.type, compute_type=compute_type, **options)
    weights = folder / "model.bin"
    model = Ct2Model(
        runner,
        tokenizer,
        spec,
        config,
        device,
        compute_type,
        folder,
        vocabulary(folder),
        special_ids(folder),
        weights.stat().st_size,
    )
    log.info(
        "loaded %s with CTranslate2 (%s) on %s: %.0f MB", spec.name, compute_type, device, model.memory_bytes / 2**20
    )
    return model


def generate_encoded_ct2(
    loaded: Ct2Model,
    encoded: Sequence[list[int]],
    max_new_tokens: int,
    batch_size: int = CPU_BATCH,
    progress: bool = False,
    *,
    max_seconds: float | None = None,
    stop_strings: Sequence[str] = (),
) -> list[Generation]:
    """generation.generate_encoded for a converted model: same arguments, the same outputs in float32 (an output
    holding a stop string is cut before it once decoded, as the hf engine cuts it)."""
    from tqdm.auto import tqdm

    if max_new_tokens < 1 or batch_size < 1:
        raise ValueError(f"max_new_tokens and batch_size must be positive, got {max_new_tokens} and {batch_size}")
    if not encoded:
        return []
    encoded = [list(ids) for ids in encoded]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
    results: list[Generation | None] = [None] * len(encoded)
    with tqdm(total=len(order), disable=not progress, desc=f"generating ({loaded.spec.name})", unit="doc") as bar:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            outputs = _generate_batch(loaded, [encoded[i] for i in batch], max_new_tokens, max_seconds, stop_strings)
            for index, output in zip(batch, outputs):
                results[index] = output
            bar.update(len(batch))
    return results


def _generate_batch(
    loaded: Ct2Model,
    batch: list[list[int]],
    max_new_tokens: int,
    max_seconds: float | None,
    stop_strings: Sequence[str] = (),
):
    started = time.perf_counter()
    budget = batch_budget(loaded, max(len(ids) for ids in batch), max_new_tokens)
    eos = loaded.token_ids().get("eos_token_id")
    options = {
        "beam_size": 1,
        "end_token": list(eos) if isinstance(eos, list) else [eos],
        "return_end_token": True,
        "callback": _deadline(started, max_seconds),
    }
    tokens = [[loaded.tokens[i] for i in ids] for ids in batch]
    if loaded.is_seq2seq:
        results = loaded.runner.translate_batch(
            tokens, max_decoding_length=budget, min_decoding_length=0, max_input_length=0, **options
        )
        rows = [result.hypotheses[0] for result in results]
    else:
        results = loaded.runner.generate_batch(
            tokens, max_length=budget, min_length=0, include_prompt_in_result=False, **options
        )
        rows = [result.sequences[0] for result in results]
    elapsed = time.perf_counter() - started
    new_ids = [[loaded.ids[token] for token in row] for row in rows]
    return finish_batch(loaded, batch, new_ids, budget, elapsed, max_seconds, stop_strings)


def _deadline(started: float, max_seconds: float | None):
    """A per-token callback that stops the batch once `max_seconds` have passed (None: no callback, no GIL use)."""
    if max_seconds is None:
        return None
    return lambda step: time.perf_counter() - started >= max_seconds


def _tokenizer_and_config(spec: ModelSpec):
    """The tokenizer (with the hf engine's padding) and config of a model already converted."""
    from transformers import AutoConfig, AutoTokenizer

    from bre_core.models.loading import _locate, prepare_tokenizer

    source, options, _ = _locate(spec)
    tokenizer = AutoTokenizer.from_pretrained(source, **options)
    prepare_tokenizer(tokenizer, spec)
    return tokenizer, AutoConfig.from_pretrained(source, **options)


def _default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _cpu_threads() -> int:
    # CTranslate2's default is 4 threads; more than the machine has only adds contention.
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


__all__ = ["Ct2Model", "check_compute_type", "generate_encoded_ct2", "load_ct2"]
