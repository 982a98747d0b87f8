"""Where a run ran: library versions, device and GPUs, dtype, hardware, the code's git commit (for the manifest)."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from bre_core import __version__


def environment(loaded) -> dict:
    """The manifest's `environment`: library versions, device, GPUs used, dtype, hardware, git commit."""
    import torch
    import transformers

    device = loaded.device
    hardware = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    )
    return {
        "bre": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": str(device),
        "gpus": _gpus_used(loaded),
        **_engine_versions(loaded),
        "dtype": str(loaded.dtype).replace("torch.", ""),
        "hardware": hardware,
        "cpu_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
    }


def _gpus_used(loaded) -> int:
    """GPUs the model occupies: those of its device map when accelerate spread it, else its device's one (or none)."""
    spread = getattr(getattr(loaded, "model", None), "hf_device_map", None) or {}  # a CTranslate2 model has none
    devices = {str(d) for d in spread.values() if str(d) not in ("cpu", "disk")}
    if len(devices) > 1:
        return len(devices)
    return int(loaded.device.type == "cuda")


def _engine_versions(loaded) -> dict:
    """The compiled engine's version, for a run it produced."""
    if getattr(loaded, "engine", "hf") != "ctranslate2":
        return {}
    import ctranslate2

    return {"ctranslate2": ctranslate2.__version__}


def _git_commit() -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
