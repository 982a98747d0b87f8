"""The optional vLLM engine (`--engine vllm`): greedy generation of the same prompt ids as the hf engine, on CUDA.

vllm is imported only here and only when asked for; it is not a requirement (requirements-llm.txt). An adapter
folder is served as LoRA on its base model (vLLM's LoRARequest), so that its outputs match the merged hf model's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bre_core.config import ModelSpec
from bre_core.errors import BreError

log = logging.getLogger(__name__)
INSTALL = "pip install -r requirements-llm.txt (vllm, on a Linux machine with an NVIDIA GPU)"


class EngineUnavailableError(BreError):
    """The engine asked for cannot run on this machine (not installed, or no CUDA GPU)."""


def require(device=None) -> None:
    """Raise EngineUnavailableError unless vllm is installed and a CUDA GPU is there (and `device` is not the CPU)."""
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailableError(
            f"--engine vllm needs the vllm package, which is not installed here ({exc}). Install it with {INSTALL}, "
            f"or use --engine hf (the default)."
        ) from exc
    import torch

    if not torch.cuda.is_available() or (device is not None and str(device).startswith("cpu")):
        raise EngineUnavailableError(
            "--engine vllm runs on CUDA GPUs only, and this machine has none"
            + (" (or --device cpu was given)" if device else "")
            + "; use --engine hf (the default) here."
        )


@dataclass(eq=False)
class VllmModel:
    """A model served by vLLM, with what prompt rendering and the run's manifest read from a LoadedModel."""

    llm: Any
    tokenizer: Any
    spec: ModelSpec
    config: Any
    device: Any
    dtype: Any
    lora: Any = None  # a vllm LoRARequest for an adapter folder
    end_of_turn_ids: tuple[int, ...] = ()
    engine: str = "vllm"
    model: Any = field(default=None, repr=False)  # the hf model is not loaded: generation.context_length reads config

    @property
    def is_seq2seq(self) -> bool:
        return self.spec.architecture == "seq2seq"

    def token_ids(self) -> dict:
        eos = getattr(self.tokenizer, "eos_token_id", None)
        return {"eos_token_id": [eos, *self.end_of_turn_ids] if eos is not None else list(self.end_of_turn_ids)}


def load_vllm(spec: ModelSpec) -> VllmModel:
    """Load `spec` (a hub id, a folder, or an adapter folder on its base) into a vLLM engine in bf16."""
    import torch
    from transformers import AutoConfig, AutoTokenizer
    from vllm import LLM

    from bre_core.models.adapters import adapter_base, is_adapter_folder
    from bre_core.models.loading import _locate
    from bre_core.models.prompts import end_of_turn_ids

    if spec.architecture != "causal":
        raise EngineUnavailableError(f"--engine vllm serves decoder-only models; {spec.name} is an encoder-decoder.")
    adapter = spec.path if spec.path is not None and is_adapter_folder(spec.path) else None
    base = adapter_base(adapter) if adapter else spec
    source, options, _ = _locate(base)
    tokenizer = AutoTokenizer.from_pretrained(adapter or source, **({} if adapter else options))
    config = AutoConfig.from_pretrained(source, **options)
    revision = options.get("revision")
    llm = LLM(model=source, revision=revision, dtype="bfloat16", trust_remote_code=False, enable_lora=bool(adapter))
    lora = None
    if adapter:
        from vllm.lora.request import LoRARequest

        lora = LoRARequest("adapter", 1, adapter)
    device = torch.device("cuda")
    model = VllmModel(llm, tokenizer, spec, config, device, torch.bfloat16, lora, tuple(end_of_turn_ids(tokenizer)))
    model.model = _ConfigHolder(config)
    return model


class _ConfigHolder:
    """What generation.context_length reads (`.model.config`) of a model vLLM holds."""

    def __init__(self, config):
        self.config = config


def generate_encoded(
    loaded: VllmModel,
    encoded: Sequence[list[int]],
    max_new_tokens: int,
    batch_size: int = 0,
    progress: bool = False,
    *,
    max_seconds: float | None = None,
    stop_strings: Sequence[str] = (),
):
    """Greedy outputs for prompt ids, as generation.generate_encoded returns them (vLLM batches on its own)."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    from bre_core.models.generation import Generation, context_length

    if not encoded:
        return []
    context = context_length(loaded)
    eos = [i for i in loaded.token_ids()["eos_token_id"] if i is not None]
    params = [
        SamplingParams(
            temperature=0.0,
            max_tokens=max(1, min(max_new_tokens, (context or 2**31) - len(ids))),
            stop_token_ids=eos,
            stop=list(stop_strings) or None,
            skip_special_tokens=True,
        )
        for ids in encoded
    ]
    started = time.perf_counter()
    prompts = [TokensPrompt(prompt_token_ids=list(ids)) for ids in encoded]
    outputs = loaded.llm.generate(prompts, params, use_tqdm=progress, lora_request=loaded.lora)
    seconds = (time.perf_counter() - started) / len(encoded)
    generations = []
    for ids, output in zip(encoded, outputs):
        completion = output.outputs[0]
        reason = {"stop": "stop" if completion.stop_reason in stop_strings else "end", "length": "tokens"}
        stopped = reason.get(completion.finish_reason, "end")
        generations.append(Generation(completion.text, len(ids), len(completion.token_ids), seconds, stopped))
    return generations
