"""The decoding engines (hf, ctranslate2, vllm): which one loads a model, and the generate() that dispatches to it.

An engine is one entry of `engine_table()`: how it loads a spec, its generate_encoded function (prompts as token
ids; the signature of generation.generate_encoded), which specs it cannot serve (those fall back to hf, with a note
in the record), and what it needs of the machine (checked before any work). `generate` encodes sources the same way
for every engine (generation.encode_sources) and hands them on.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from bre_core.config import ModelSpec
from bre_core.errors import BreError
from bre_core.settings import CPU_BATCH, ENGINES

log = logging.getLogger(__name__)
HF_TYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Engine:
    name: str
    load: Callable  # (spec, compute_type, device) -> a loaded model with .engine == name
    generate_encoded: Callable  # generation.generate_encoded's signature
    unsupported: Callable[[ModelSpec], str | None]  # why it cannot serve a spec (None: it can: else hf serves it)
    require: Callable = lambda device: None  # raises a BreError when this machine cannot run the engine at all
    default_compute_type: str = "float32"


def _load_hf(spec: ModelSpec, compute_type: str | None, device):
    import torch

    from bre_core.models.loading import load_model

    if compute_type not in (None, *HF_TYPES):
        raise BreError(f"compute type '{compute_type}' is not one of the hf engine's: {', '.join(HF_TYPES)}")
    dtype = getattr(torch, compute_type) if compute_type else None
    return load_model(spec, device=device, dtype=dtype)


def _generate_hf(*args, **kwargs):
    from bre_core.models.generation import generate_encoded

    return generate_encoded(*args, **kwargs)


def _load_ct2(spec: ModelSpec, compute_type: str | None, device):
    from bre_core.models.ct2_generation import load_ct2

    return load_ct2(spec, compute_type or "float32", device)


def _generate_ct2(*args, **kwargs):
    from bre_core.models.ct2_generation import generate_encoded_ct2

    return generate_encoded_ct2(*args, **kwargs)


def _load_vllm(spec: ModelSpec, compute_type: str | None, device):
    from bre_core.models import vllm_engine

    vllm_engine.require(device)
    return vllm_engine.load_vllm(spec)


def _generate_vllm(*args, **kwargs):
    from bre_core.models.vllm_engine import generate_encoded

    return generate_encoded(*args, **kwargs)


def _require_vllm(device) -> None:
    from bre_core.models import vllm_engine

    vllm_engine.require(device)


def _ct2_unsupported(spec: ModelSpec) -> str | None:
    from bre_core.models.ct2_convert import CONVERTED_FAMILIES

    if importlib.util.find_spec("ctranslate2") is None:
        return "ctranslate2 is not installed (pip install -r requirements-fast.txt)"
    if spec.family not in CONVERTED_FAMILIES:
        # BioGPT and GPT-Neo: CTranslate2 4.8 has no converter for them.
        return f"ctranslate2 does not support the {spec.family or 'unknown'} family ({spec.name})"
    return None


def engine_table() -> MappingProxyType:
    """Engine name -> Engine. A third engine is one more entry here (and its name in settings.ENGINES)."""
    return MappingProxyType(
        {
            "hf": Engine("hf", _load_hf, _generate_hf, lambda spec: None),
            "ctranslate2": Engine("ctranslate2", _load_ct2, _generate_ct2, _ct2_unsupported),
            "vllm": Engine("vllm", _load_vllm, _generate_vllm, lambda spec: None, _require_vllm, "bfloat16"),
        }
    )


def get_engine(name: str) -> Engine:
    table = engine_table()
    if name not in table:
        raise BreError(f"Unknown engine '{name}'; choose one of: {', '.join(ENGINES)}")
    return table[name]


def fast_engine_available() -> bool:
    """Whether the compiled engine can be used here (without importing it)."""
    return importlib.util.find_spec("ctranslate2") is not None


def load_with_engine(spec: ModelSpec, engine: str = "hf", compute_type: str | None = None, device=None):
    """Load `spec` for `engine`; hf (its default compute type) with `engine_note` set when the engine cannot serve it."""
    chosen = get_engine(engine)
    reason = chosen.unsupported(spec)
    if reason is None:
        return chosen.load(spec, compute_type, device)
    log.warning("%s; generating with hf instead", reason)
    loaded = get_engine("hf").load(spec, None, device)
    loaded.engine_note = f"{reason}: generated with hf"
    return loaded


def require_engine(name: str, device=None) -> None:
    """A BreError at once when this machine cannot run the engine (vllm without vllm or CUDA), before any work."""
    get_engine(name).require(device)


def generate(
    loaded,
    sources: Sequence[str],
    max_new_tokens: int,
    batch_size: int = CPU_BATCH,
    progress: bool = False,
    *,
    max_seconds: float | None = None,
    refuse_long: bool = False,
):
    """Greedy outputs for `sources`, in their order, the same batched as one at a time, with the engine `loaded` was
    loaded for. A source longer than the model reads is cut to fit (the study's truncation), or refused with a
    SourceTooLongError when `refuse_long` (the app: a user sees what the model would not)."""
    from bre_core.models.generation import encode_sources, source_token_limit

    if not sources:
        return []
    encoded = encode_sources(loaded, list(sources), source_token_limit(loaded, max_new_tokens), refuse_long)
    return generate_encoded(loaded, encoded, max_new_tokens, batch_size, progress, max_seconds=max_seconds)


def generate_encoded(
    loaded,
    encoded: Sequence[list[int]],
    max_new_tokens: int,
    batch_size: int = CPU_BATCH,
    progress: bool = False,
    *,
    max_seconds: float | None = None,
    stop_strings: Sequence[str] = (),
):
    """Greedy outputs for prompts already as token ids (models/prompts.py fits them to the context), with the
    engine `loaded` was loaded for; an output is cut before the first of `stop_strings` it holds."""
    engine = get_engine(getattr(loaded, "engine", "hf"))
    return engine.generate_encoded(
        loaded, encoded, max_new_tokens, batch_size, progress, max_seconds=max_seconds, stop_strings=stop_strings
    )


def engine_record(loaded) -> dict:
    """What the record says about how a model generated: engine, compute type, and a fallback's reason."""
    record = {"engine": getattr(loaded, "engine", "hf"), "compute_type": getattr(loaded, "compute_type", None)}
    note = getattr(loaded, "engine_note", None)
    if note:
        record["engine_note"] = note
    return record


def engine_label(loaded) -> str:
    """'ctranslate2 int8', 'hf float32': how a column names the engine that produced it."""
    record = engine_record(loaded)
    return f"{record['engine']} {record['compute_type']}".strip()


__all__ = [
    "Engine",
    "engine_label",
    "engine_record",
    "engine_table",
    "fast_engine_available",
    "generate",
    "generate_encoded",
    "get_engine",
    "load_with_engine",
    "require_engine",
]
