"""Inference: load models, generate greedily in batches, keep a few loaded (the only torch/transformers users)."""

from bre_core.models.cache import ModelCache
from bre_core.models.generation import Generation, default_max_new_tokens, generate, generate_encoded
from bre_core.models.loading import LoadedModel, ModelUnavailableError, load_model

__all__ = [
    "Generation",
    "LoadedModel",
    "ModelCache",
    "ModelUnavailableError",
    "default_max_new_tokens",
    "generate",
    "generate_encoded",
    "load_model",
]
