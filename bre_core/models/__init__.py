"""Inference: load models, generate greedily in batches, keep a few loaded (the only torch/transformers users)."""

from bre_core.models.cache import ModelCache
from bre_core.models.engines import (
    engine_label,
    engine_record,
    fast_engine_available,
    generate,
    generate_encoded,
    load_with_engine,
    require_engine,
)
from bre_core.models.generation import Generation, default_max_new_tokens
from bre_core.models.loading import LoadedModel, ModelUnavailableError, load_model

__all__ = [
    "Generation",
    "LoadedModel",
    "ModelCache",
    "ModelUnavailableError",
    "default_max_new_tokens",
    "engine_label",
    "engine_record",
    "fast_engine_available",
    "generate",
    "generate_encoded",
    "load_model",
    "load_with_engine",
    "require_engine",
]
