"""Load a model and its tokenizer for generation: device, dtype, padding, and a fast failure when it is unavailable.

Placement: the model is loaded onto one device; only when that runs out of memory is it loaded again with
`device_map="auto"` (accelerate spreads it over the GPUs and CPU memory). Estimating the size beforehand would need
the checkpoint's files first; trying is simpler and costs nothing when the model fits, which all 19 do on one
modern GPU.
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bre_core.config import ModelSpec
from bre_core.errors import BreError
from bre_core.hub_access import hub_refusal, unavailable_reason

log = logging.getLogger(__name__)


class ModelUnavailableError(BreError):
    """The model's files are neither on this machine nor reachable (offline, or the hub cannot be reached)."""


@dataclass(eq=False)
class LoadedModel:
    """A model ready for generation, with the tokenizer and settings it was loaded with."""

    model: Any
    tokenizer: Any
    spec: ModelSpec
    device: torch.device
    dtype: torch.dtype
    # The checkpoint's own generation_config.json, kept for the record; generation never uses it.
    checkpoint_generation_config: Any = field(default=None, repr=False)
    # Tokens that end an answer besides end-of-sequence: a chat template's end of turn (models/prompts.py).
    end_of_turn_ids: tuple[int, ...] = ()

    engine = "hf"  # which engine generates with it (bre_core.models.engines)
    releases_gil = False  # its decoding loop is Python: two at once in threads contend for the interpreter
    engine_note: str | None = None  # why another engine than the one asked for (a fallback), for the record

    @property
    def is_seq2seq(self) -> bool:
        return self.spec.architecture == "seq2seq"

    @property
    def config(self):
        return self.model.config

    @property
    def compute_type(self) -> str:
        return str(self.dtype).replace("torch.", "")

    @property
    def memory_bytes(self) -> int:
        tensors = list(self.model.parameters()) + list(self.model.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)

    def token_ids(self) -> dict[str, Any]:
        """The special token ids generation needs (eos may be a list), from the checkpoint, its config, the tokenizer."""
        sources = [self.checkpoint_generation_config, self.model.config]
        ids = {}
        for key in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"):
            value = next(
                (getattr(s, key) for s in sources if s is not None and getattr(s, key, None) is not None),
                getattr(self.tokenizer, key, None),
            )
            if value is not None:
                ids[key] = value
        if self.tokenizer.pad_token_id is not None:
            ids["pad_token_id"] = self.tokenizer.pad_token_id
        if self.end_of_turn_ids:
            eos = ids.get("eos_token_id")
            eos = list(eos) if isinstance(eos, (list, tuple)) else [] if eos is None else [eos]
            ids["eos_token_id"] = eos + [i for i in self.end_of_turn_ids if i not in eos]
        if not self.is_seq2seq:
            ids.pop("decoder_start_token_id", None)
        return ids


def default_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def choose_dtype(device: torch.device, spec: ModelSpec | None = None) -> torch.dtype:
    """bf16 on GPUs that have it, else fp16; fp32 on CPU (half precision is slow or unsupported there)."""
    if device.type != "cuda":
        return torch.float32
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if spec is not None and spec.family == "t5":
        # T5 was trained in bf16 and its activations overflow fp16 (huggingface/transformers#5651, #9295).
        return torch.float32
    return torch.float16


def load_model(
    spec: ModelSpec, device: str | torch.device | None = None, dtype: torch.dtype | None = None
) -> LoadedModel:
    """Load `spec` for greedy generation. Raises ModelUnavailableError within seconds when its files cannot be had."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    from bre_core.models.adapters import adapter_base, is_adapter_folder, merge_adapter
    from bre_core.models.prompts import end_of_turn_ids

    device = torch.device(device) if device is not None else default_device()
    dtype = dtype or choose_dtype(device, spec)
    adapter = spec.path if spec.path is not None and is_adapter_folder(spec.path) else None
    weights = adapter_base(adapter) if adapter else spec  # an adapter folder: its base model's weights, then it
    source, options, offline = _locate(weights)
    model_class = AutoModelForSeq2SeqLM if spec.architecture == "seq2seq" else AutoModelForCausalLM
    # transformers answers a repository with only pytorch_model.bin by starting a thread that asks the hub's
    # conversion Space to open a safetensors pull request on it, sending the user's token along: never wanted here.
    os.environ.setdefault("DISABLE_SAFETENSORS_CONVERSION", "1")
    try:
        tokenizer = AutoTokenizer.from_pretrained(adapter or source, **({} if adapter else options))
        model = _load_weights(model_class, source, device, dtype, options)
    except OSError as exc:
        refusal = hub_refusal(weights.name, weights.hub_id, weights.revision, exc) if weights.hub_id else None
        if refusal is not None:  # the hub answered: missing, gated, no such revision, a bad token
            raise ModelUnavailableError(refusal) from exc
        if offline is not None:
            raise ModelUnavailableError(_unavailable(weights, offline, exc)) from exc
        raise ModelUnavailableError(f"Model '{spec.name}' could not be loaded from {source}: {exc}") from exc
    if adapter:
        model = merge_adapter(model, adapter)
    model.eval()
    prepare_tokenizer(tokenizer, spec)
    loaded = LoadedModel(
        model,
        tokenizer,
        spec,
        device,
        dtype,
        checkpoint_generation_config=model.generation_config,
        end_of_turn_ids=tuple(end_of_turn_ids(tokenizer)) if spec.architecture == "causal" else (),
    )
    neutralize_generation_config(loaded)
    log.info("loaded %s (%s) on %s in %s: %.0f MB", spec.name, source, device, dtype, loaded.memory_bytes / 2**20)
    return loaded


def prepare_tokenizer(tokenizer, spec: ModelSpec) -> None:
    """Padding for batched generation (every engine): decoder-only prompts padded on the left, with a pad token."""
    if spec.architecture == "causal":
        # Left padding keeps every prompt's last token next to the first generated one.
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token


def neutralize_generation_config(loaded: LoadedModel) -> None:
    """Keep only the token ids of the checkpoint's generation config.

    `generate` fills every setting our config leaves unset from `model.generation_config`; a checkpoint's beams,
    `no_repeat_ngram_size`, `min_length` or forced tokens would otherwise leak into greedy decoding.
    """
    from transformers import GenerationConfig

    loaded.model.generation_config = GenerationConfig(**loaded.token_ids())


def _load_weights(model_class, source: str, device: torch.device, dtype: torch.dtype, options: dict):
    if device.type != "cuda":
        return model_class.from_pretrained(source, dtype=dtype, **options).to(device)
    try:
        return model_class.from_pretrained(source, dtype=dtype, device_map={"": device.index or 0}, **options)
    except torch.cuda.OutOfMemoryError:
        gc.collect()
        torch.cuda.empty_cache()
        log.warning("%s does not fit on %s; spreading it over the available devices", source, device)
        return model_class.from_pretrained(source, dtype=dtype, device_map="auto", **options)


def _locate(spec: ModelSpec) -> tuple[str, dict, str | None]:
    """What to pass to from_pretrained, with which options, and why the hub is off limits (None when it is not)."""
    if spec.path is not None:
        folder = Path(spec.path)
        if not (folder / "config.json").is_file():
            raise ModelUnavailableError(
                f"Model '{spec.name}': {folder} is not a model folder (no config.json). Copy the model there "
                f"(a folder written by save_pretrained, or a hub snapshot), or fix its `path:` in models.yaml."
            )
        return str(folder), {}, None
    options: dict[str, Any] = {"revision": spec.revision} if spec.revision else {}
    offline = unavailable_reason()
    if offline is not None:
        # From the cache only: otherwise the hub client retries an unreachable server for minutes.
        log.info("Hugging Face hub unavailable (%s): loading %s from the local cache only", offline, spec.hub_id)
        options["local_files_only"] = True
    return spec.hub_id, options, offline


def _unavailable(spec: ModelSpec, offline: str, exc: BaseException) -> str:
    revision = f" --revision {spec.revision}" if spec.revision else ""
    return (
        f"Model '{spec.name}' ({spec.hub_id}) is unavailable: the Hugging Face hub is off limits ({offline}) "
        f"and the model is not (completely) in the local cache.\n"
        f"To make it available, either run `hf download {spec.hub_id}{revision}` (huggingface_hub's CLI, formerly "
        f"`huggingface-cli download`) on a machine with internet access and copy its Hugging Face cache "
        f"(~/.cache/huggingface/hub, or $HF_HOME/hub) here, or download it into a folder "
        f"(`hf download {spec.hub_id}{revision} --local-dir DIR`) and point the models.yaml entry at that folder "
        f"with `path:` instead of `hub_id:`.\n"
        f"(transformers said: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__})"
    )
