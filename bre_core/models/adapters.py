"""LoRA adapter folders (written by `finetune --peft lora`): what base model they belong to, and loading them merged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bre_core.config import ModelSpec
from bre_core.errors import BreError

log = logging.getLogger(__name__)
ADAPTER_CONFIG = "adapter_config.json"  # peft's
ADAPTER_INFO = "bre_adapter.json"  # ours: the base model's spec (hub id and revision, or folder) and the LoRA settings


def is_adapter_folder(folder: str | Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def write_adapter_info(folder: Path, base: ModelSpec, peft: dict) -> None:
    """Record the base model an adapter was trained on, so that loading it needs nothing else."""
    info = {"base": base.model_dump(), "peft": peft}
    (Path(folder) / ADAPTER_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def adapter_base(folder: str | Path) -> ModelSpec:
    """The base model's spec of an adapter folder, from bre_adapter.json (else peft's base_model_name_or_path)."""
    folder = Path(folder)
    try:
        info = json.loads((folder / ADAPTER_INFO).read_text(encoding="utf-8"))
        return ModelSpec(**info["base"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        try:
            peft_config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
            base = peft_config["base_model_name_or_path"]
        except (OSError, ValueError, KeyError) as inner:
            raise BreError(
                f"{folder} is an adapter folder without a readable {ADAPTER_INFO} or base_model_name_or_path in "
                f"{ADAPTER_CONFIG} ({inner}); it cannot say which base model it adapts."
            ) from exc
        source = {"path": base} if Path(base).is_dir() else {"hub_id": base}
        return ModelSpec(name=base, architecture="causal", family="unknown", **source)


def merge_adapter(base_model, folder: str | Path):
    """The base model with the adapter's weights merged in: generation then runs at the base model's speed."""
    from peft import PeftModel

    adapted = PeftModel.from_pretrained(base_model, str(folder))
    log.info("merged the LoRA adapter %s into its base model", folder)
    return adapted.merge_and_unload()
