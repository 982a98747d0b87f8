"""Whether the Hugging Face hub may and can be reached: offline settings and a short probe of the endpoint."""

from __future__ import annotations

import os
import sys
import threading
import urllib.error
import urllib.request

PROBE_TIMEOUT_S = 3.0
_TRUE = {"1", "ON", "YES", "TRUE"}
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def offline_setting() -> str | None:
    """The variable that puts Hugging Face offline (read now, and as the libraries read it at import), or None."""
    for name in _OFFLINE_VARIABLES:
        if os.environ.get(name, "").strip().upper() in _TRUE:
            return f"{name}={os.environ[name]}"
    config = sys.modules.get("datasets.config")
    constants = sys.modules.get("huggingface_hub.constants")
    if (config is not None and getattr(config, "HF_HUB_OFFLINE", False)) or (
        constants is not None and getattr(constants, "HF_HUB_OFFLINE", False)
    ):
        return "HF_HUB_OFFLINE (when the Hugging Face libraries were imported)"
    return None


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when `url` answers (any HTTP status), else why not; returns within about `timeout` seconds."""
    outcome: list[str | None] = []

    def ask():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            outcome.append(None)
        except urllib.error.HTTPError:  # the server answered
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - DNS failure, refused, timeout, proxy error ...
            outcome.append(f"no answer from {url}: {getattr(exc, 'reason', exc)}")

    worker = threading.Thread(target=ask, daemon=True)  # name resolution ignores socket timeouts
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return f"no answer from {url} within {timeout:g} s"
    return outcome[0]


def unavailable_reason() -> str | None:
    """Why the hub cannot be used right now (an offline setting, or no answer), or None when it can."""
    return offline_setting() or probe(endpoint())
