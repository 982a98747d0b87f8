"""Whether the Hugging Face hub may and can be reached (offline settings, a short probe), and what its refusals mean."""

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


def hub_refusal(name: str, hub_id: str, revision: str | None, error: BaseException) -> str | None:
    """What to do when the hub refused model `name` (`hub_id`): no such repository, a gated one, no such revision, or
    an invalid token, read from the huggingface_hub error behind `error`; None when the hub refused nothing."""
    from huggingface_hub import errors

    cause = _hub_error(error, errors.HfHubHTTPError)
    if cause is None:
        return None
    where = endpoint()
    token = "the token in use (HF_TOKEN or `hf auth login`)" if _has_token() else "no token (HF_TOKEN is not set)"
    if isinstance(cause, errors.GatedRepoError):  # before RepositoryNotFoundError: it is one
        how = (
            f"Ask for access at {where}/{hub_id} (logged in), then set HF_TOKEN to a token of that account, or run "
            f"`hf auth login`."
        )
        if not _has_token():
            how = (
                f"To get access: 1) log in at {where} and accept the model's licence on {where}/{hub_id} (the owner "
                f"may take a while to grant it); 2) create a token with read access at {where}/settings/tokens; "
                f"3) set HF_TOKEN to it (`export HF_TOKEN=hf_...`) or run `hf auth login`, then run this again."
            )
        return (
            f"Model '{name}' ({hub_id}) is a gated repository on the Hugging Face hub ({where}), and {token} gives "
            f"no access to it. {how}"
        )
    if isinstance(cause, errors.RevisionNotFoundError):
        return (
            f"Model '{name}': {hub_id} has no revision '{revision}' on the Hugging Face hub ({where}). Fix its "
            f"`revision:` in the models file (a branch, a tag or a full commit sha), or remove it for the main branch."
        )
    if isinstance(cause, errors.RepositoryNotFoundError):
        return (
            f"Model '{name}': the Hugging Face hub ({where}) has no repository {hub_id} that {token} can see. Fix its "
            f"`hub_id:` in the models file (owner/name, as the hub shows it), or, if the repository is private, set "
            f"HF_TOKEN to a token that can read it."
        )
    if cause.response is not None and cause.response.status_code == 401:
        return (
            f"Model '{name}' ({hub_id}): the Hugging Face hub ({where}) refused the token in use (HF_TOKEN or "
            f"`hf auth login`) as invalid. Set HF_TOKEN to a valid token, or unset it: public models need none."
        )
    return None


def _hub_error(error: BaseException, kind: type) -> BaseException | None:
    """The first exception of type `kind` in the chain of causes of `error` (transformers wraps the hub's)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kind):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _has_token() -> bool:
    from huggingface_hub import get_token

    return get_token() is not None
