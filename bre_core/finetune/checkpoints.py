"""Checkpoints that are never half-written: the best model saved beside and renamed in; trainer states checked."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from bre_core.errors import BreError

log = logging.getLogger(__name__)
MARKER = "bre_checkpoint.json"  # written last into a saved checkpoint: what it is, and that it is whole


def save_checkpoint(model, tokenizer, folder: Path, info: dict) -> Path:
    """Save model + tokenizer as `folder`, replacing the previous one only once the new one is complete.

    A failure (a full disk, say) leaves the previous checkpoint as it was and no partial folder behind.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model.save_pretrained(staging)  # a peft model saves its adapter only
        tokenizer.save_pretrained(staging)
        if "adapter_base" in info:
            from bre_core.config import ModelSpec
            from bre_core.models.adapters import write_adapter_info

            write_adapter_info(staging, ModelSpec(**info["adapter_base"]), info.get("peft") or {})
        (staging / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if not folder.exists() and folder.with_name(f".{folder.name}.old").exists():
            os.replace(folder.with_name(f".{folder.name}.old"), folder)  # put the previous one back
        what = "the disk is full" if exc.errno == errno.ENOSPC else str(exc)
        raise BreError(
            f"Could not save the checkpoint {folder}: {what}. Nothing partial was left; the previous "
            f"checkpoint (if any) is intact. Free some space (or choose another --out) and run the same "
            f"command again: it resumes."
        ) from exc
    return folder


def recover_checkpoint(folder: Path) -> None:
    """Undo what a kill inside save_checkpoint leaves: the previous checkpoint set aside but not yet replaced is
    put back, and a half-written staging copy is removed."""
    folder = Path(folder)
    old = folder.with_name(f".{folder.name}.old")
    if old.is_dir():
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, folder)
            log.warning("restored the previous checkpoint %s, set aside by an interrupted save", folder)
    for staging in folder.parent.glob(f".{folder.name}.*"):
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)


def read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def last_good_trainer_checkpoint(trainer_dir: Path) -> str | None:
    """The newest `checkpoint-N` the Trainer finished writing (trainer_state.json is written last); incomplete
    ones, e.g. cut short by a full disk or a kill, are removed so that a resume never starts from them."""
    trainer_dir = Path(trainer_dir)
    if not trainer_dir.is_dir():
        return None
    candidates = sorted(
        (p for p in trainer_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
        reverse=True,
    )
    for candidate in candidates:
        if _readable_state(candidate) and any(candidate.glob("*.safetensors")):
            return str(candidate)
        log.warning("removing the incomplete trainer checkpoint %s", candidate)
        shutil.rmtree(candidate, ignore_errors=True)
    return None


def _readable_state(checkpoint: Path) -> bool:
    # The Trainer writes trainer_state.json in place (open, then write): a kill in between leaves it empty, and a
    # resume from it fails on every retry.
    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True
