"""Convert a checkpoint to CTranslate2 once, cached beside the hub cache by hub id, revision and compute type.

CTranslate2 4.8's converter was written for transformers 4; three fixes make it right under transformers 5, each
tested on tiny models (tests/test_engines.py):
- BART's config no longer has `normalize_before` (BART is post-norm: False, transformers 4's default);
- a tokenizer with fewer tokens than the embedding has rows (BART, GPT-2 checkpoints) gets placeholder tokens,
  otherwise the vocabulary and the weights disagree;
- T5's config now always says `tie_word_embeddings=True` and keeps the old meaning in `scale_decoder_outputs`;
  the converter reads the former and so scaled Flan-T5's (untied) outputs by d_model^-0.5.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from bre_core.config import ModelSpec
from bre_core.errors import BreError

log = logging.getLogger(__name__)

CONVERTED_FAMILIES = ("t5", "bart", "gpt2")  # the study's families CTranslate2 converts (and the tests check)
PLACEHOLDER = "<bre_unused_{}>"  # vocabulary entries for embedding rows the tokenizer has no token for
DONE = "bre-conversion.json"  # written last: a folder without it is an interrupted conversion


def cache_root() -> Path:
    """$BRE_CT2_CACHE, else `bre-ctranslate2` beside the Hugging Face hub cache (…/huggingface/bre-ctranslate2)."""
    configured = os.environ.get("BRE_CT2_CACHE")
    if configured:
        return Path(configured)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).parent / "bre-ctranslate2"


def source_key(spec: ModelSpec) -> str:
    """What identifies the weights: hub id and commit (the revision resolved in the local cache), or a folder's
    path with its weight files' sizes and times (a folder saved again is converted again)."""
    if spec.path is not None:
        folder = Path(spec.path).resolve()
        files = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".json"))
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        digest = hashlib.sha256(json.dumps([str(folder), stamp]).encode()).hexdigest()[:16]
        return f"local--{folder.name}--{digest}"
    return f"{spec.hub_id.replace('/', '--')}--{_commit(spec)}"


def converted_folder(spec: ModelSpec, compute_type: str) -> Path:
    return cache_root() / source_key(spec) / compute_type


def ensure_converted(spec: ModelSpec, compute_type: str, load_hf):
    """The converted model's folder, converting first when the cache has none, and the LoadedModel it was converted
    from (`load_hf()`), or None when the cache had it."""
    folder = converted_folder(spec, compute_type)
    if (folder / DONE).is_file():
        return folder, None
    loaded = load_hf()
    log.info("converting %s to CTranslate2 (%s) into %s", spec.name, compute_type, folder)
    convert(loaded.model, loaded.tokenizer, folder, compute_type, loaded.token_ids())
    return folder, loaded


def convert(model, tokenizer, folder: Path, compute_type: str, token_ids: dict | None = None) -> Path:
    """Write `model` (a transformers model) in CTranslate2's format, weights stored as `compute_type`, with the
    special token ids the hf engine generates with (`token_ids`, LoadedModel.token_ids())."""
    loader = _loader_for(model)
    with _patched_config(model):
        spec = loader(model, tokenizer)
    spec.validate()
    spec.optimize(quantization=compute_type)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        spec.save(str(staging))
        record = {"compute_type": compute_type, "token_ids": token_ids or {}}
        (staging / DONE).write_text(json.dumps(record) + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted conversion: no DONE in it
        staging.rename(folder)  # atomic: a reader sees no folder or a complete one
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def vocabulary(folder: Path) -> list[str]:
    """The converted model's tokens, by id."""
    for name in ("shared_vocabulary.json", "vocabulary.json", "target_vocabulary.json"):
        path = folder / name
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise BreError(f"{folder} holds no CTranslate2 vocabulary; delete the folder to convert the model again")


def special_ids(folder: Path) -> dict:
    """The special token ids recorded at conversion."""
    return json.loads((folder / DONE).read_text(encoding="utf-8"))["token_ids"]


def _loader_for(model):
    from ctranslate2.converters import transformers as ct2

    name = type(model.config).__name__
    base = {"T5Config": ct2.T5Loader, "BartConfig": ct2.BartLoader, "GPT2Config": ct2.GPT2Loader}.get(name)
    if base is None:
        raise BreError(f"CTranslate2 conversion is set up for T5, BART and GPT-2 checkpoints, not {name}")

    class Loader(base):
        def get_model_spec(self, model):
            spec = super().get_model_spec(model)
            if name == "T5Config":
                _set_t5_output_scale(spec, model.config)
            return spec

        def get_vocabulary(self, model, tokenizer):
            return padded_vocabulary(super().get_vocabulary(model, tokenizer), _embedding_rows(model))

    return Loader()


def padded_vocabulary(tokens: list[str], rows: int) -> list[str]:
    """`tokens` cut or padded with placeholders to the embedding's `rows`."""
    tokens = tokens[:rows]
    return tokens + [PLACEHOLDER.format(i) for i in range(rows - len(tokens))]


def _embedding_rows(model) -> int:
    return model.get_input_embeddings().weight.shape[0]


def _set_t5_output_scale(spec, config) -> None:
    from ctranslate2.specs import model_spec

    # transformers 5 keeps the old `tie_word_embeddings` meaning here; older versions have only the latter.
    scale = getattr(config, "scale_decoder_outputs", config.tie_word_embeddings)
    spec.decoder.scale_outputs = config.d_model**-0.5 if scale else model_spec.OPTIONAL


class _patched_config:
    """BART's `normalize_before` (gone from transformers 5's config) set for the converter, removed after."""

    def __init__(self, model):
        self.config = model.config
        self.added = type(self.config).__name__ == "BartConfig" and not hasattr(self.config, "normalize_before")

    def __enter__(self):
        if self.added:
            self.config.normalize_before = False  # BART is post-norm

    def __exit__(self, *exc):
        if self.added:
            del self.config.normalize_before


def _commit(spec: ModelSpec) -> str:
    """The commit the local hub cache holds for the spec's revision (the revision itself when it cannot tell)."""
    from huggingface_hub import hf_hub_download

    from bre_core.hub_access import unavailable_reason

    revision = spec.revision or "main"
    try:
        path = hf_hub_download(
            spec.hub_id, "config.json", revision=spec.revision, local_files_only=unavailable_reason() is not None
        )
    except Exception:  # noqa: BLE001 - loading reports an unavailable model; the key only needs a stable name
        return revision
    return Path(path).parent.name


__all__ = ["CONVERTED_FAMILIES", "cache_root", "convert", "converted_folder", "ensure_converted", "vocabulary"]
