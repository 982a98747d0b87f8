"""Point this process's Hugging Face libraries at a hub endpoint (or offline) with an empty HF_HOME, for one test.

The libraries read HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE when they are imported; in a test process they are already
imported (offline, by conftest.py), so the module constants that hold what was read are patched too, with
monkeypatch, and restored after the test. A subprocess needs only the environment: see `environment`.
"""

from __future__ import annotations

import os
from pathlib import Path

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def environment(endpoint: str, home: Path, *, offline: bool = False, token: str | None = None) -> dict[str, str]:
    """os.environ for a subprocess that uses `endpoint` (or no hub at all) and the caches under `home`."""
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARIABLES + ("HF_TOKEN", "HF_HUB_CACHE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(home), HF_HUB_DISABLE_PROGRESS_BARS="1")
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    if token:
        env["HF_TOKEN"] = token
    return env


def point_at(monkeypatch, endpoint: str, home: Path, *, offline: bool = False, token: str | None = None) -> None:
    """This process, for the rest of the test: hub at `endpoint` (or offline), caches under `home`, HF_TOKEN."""
    import datasets.config as ds
    import transformers.utils.hub as transformers_hub
    from huggingface_hub import constants, hf_api

    wanted = environment(endpoint, home, offline=offline, token=token)
    for name in set(os.environ) | set(wanted):
        if name not in wanted:
            monkeypatch.delenv(name)
        elif os.environ.get(name) != wanted[name]:
            monkeypatch.setenv(name, wanted[name])
    hub_cache = home / "hub"
    patches = {
        constants: {
            "ENDPOINT": endpoint,
            "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_HUB_OFFLINE": offline,
            "HF_HOME": str(home),
            "HF_HUB_CACHE": str(hub_cache),
            "HF_ASSETS_CACHE": str(home / "assets"),
            "HF_TOKEN_PATH": str(home / "token"),
            "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
            "HF_XET_CACHE": str(home / "xet"),
            "AGENT_HARNESSES_PATH": str(home / ".agent_harnesses.json"),
        },
        ds: {
            "HF_ENDPOINT": endpoint,
            "HUB_DATASETS_URL": endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}",
            "HF_HUB_OFFLINE": offline,
            "HF_DATASETS_OFFLINE": offline,
            "HF_DATASETS_CACHE": home / "datasets",
        },
        transformers_hub: {"_hf_api": None},  # a shared HfApi made with the endpoint of its time
        hf_api.api: {"endpoint": endpoint},  # the module-level HfApi behind huggingface_hub's functions
    }
    for target, values in patches.items():
        for name, value in values.items():
            monkeypatch.setattr(target, name, value)
