"""Keep the most recently used models loaded (two for a side-by-side comparison); thread-safe, one load per model."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from bre_core.config import ModelSpec
from bre_core.errors import BreError

log = logging.getLogger(__name__)
# One load at a time in the process: transformers' from_pretrained is not thread-safe (two at once in threads
# fail with "Cannot copy out of meta tensor"), and loads are bound by disk and memory bandwidth anyway.
_LOADING = threading.Lock()


def _default_loader(spec: ModelSpec):
    from bre_core.models.loading import load_model

    return load_model(spec)


class ModelCache:
    """Loaded models by spec, least recently used evicted first.

    A model is evicted when more than `max_models` are loaded, or (after a load) when their `memory_bytes` add up to
    more than `memory_budget_bytes`. Models held with `use()` are never evicted, so the two models of a running
    comparison stay loaded even if a third is asked for meanwhile (the limit is then exceeded until one is released).
    Threads asking for the same model wait for one load; loads of different models run one after the other.
    A model that failed to load is not tried again for `retry_after_s` seconds (0: at once): in a public app,
    every request for a model too large for the machine would otherwise start another load of gigabytes.
    """

    def __init__(
        self,
        max_models: int = 2,
        memory_budget_bytes: int | None = None,
        loader: Callable[[ModelSpec], Any] = _default_loader,
        retry_after_s: float = 0.0,
    ):
        if max_models < 1:
            raise ValueError(f"max_models must be at least 1, got {max_models}")
        self.max_models, self.memory_budget_bytes, self.loader = max_models, memory_budget_bytes, loader
        self._lock = threading.Lock()
        self._loaded: OrderedDict[ModelSpec, Any] = OrderedDict()  # least recently used first
        self._loading: dict[ModelSpec, Future] = {}
        self._holds: dict[ModelSpec, int] = {}
        self.retry_after_s = retry_after_s
        self._failed: dict[ModelSpec, tuple[float, BreError]] = {}  # when a load failed, and the error to repeat

    def get(self, spec: ModelSpec):
        """The loaded model for `spec`, loading it (and evicting others) when needed."""
        with self._lock:
            if spec in self._loaded:
                self._loaded.move_to_end(spec)
                return self._loaded[spec]
            failed = self._failed.get(spec)
            if failed is not None and time.monotonic() - failed[0] < self.retry_after_s:
                wait = self.retry_after_s - (time.monotonic() - failed[0])
                raise _again(failed[1], f"(not tried again for another {wait:.0f} s)")
            pending = self._loading.get(spec)
            if pending is None:
                pending = self._loading[spec] = Future()
                owner = True
                # Make room before loading, not after: two large models at once may not fit the GPU.
                self._evict(room_for=1)
            else:
                owner = False
        if not owner:
            return pending.result()
        try:
            with _LOADING:
                loaded = self.loader(spec)
        except BaseException as exc:
            with self._lock:
                del self._loading[spec]
                # A BreError is repeated as it is (same type); anything else by its type's name only.
                shown = (
                    exc if isinstance(exc, BreError) else BreError(f"{spec.name} failed to load ({type(exc).__name__})")
                )
                self._failed[spec] = (time.monotonic(), shown)
            pending.set_exception(exc)
            raise
        with self._lock:
            del self._loading[spec]
            self._failed.pop(spec, None)
            self._loaded[spec] = loaded
            self._evict(room_for=0, keep=spec)
        pending.set_result(loaded)
        return loaded

    @contextlib.contextmanager
    def use(self, *specs: ModelSpec) -> Iterator[list]:
        """Hold models loaded for the duration of a block: `with cache.use(a, b) as (model_a, model_b): ...`."""
        with self._lock:
            for spec in specs:
                self._holds[spec] = self._holds.get(spec, 0) + 1
        try:
            yield [self.get(spec) for spec in specs]
        finally:
            with self._lock:
                for spec in specs:
                    self._holds[spec] -= 1
                    if not self._holds[spec]:
                        del self._holds[spec]
                self._evict(room_for=0)

    def loaded(self) -> list[ModelSpec]:
        """The specs now loaded, least recently used first."""
        with self._lock:
            return list(self._loaded)

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
        _release_memory()

    def _evict(self, room_for: int, keep: ModelSpec | None = None) -> None:
        """Drop least recently used, unheld models until the limits hold with `room_for` more models (lock held)."""
        evicted = False
        while self._over_limit(room_for):
            victim = next((spec for spec in self._loaded if spec not in self._holds and spec != keep), None)
            if victim is None:
                break
            log.info("unloading %s to make room", victim.name)
            del self._loaded[victim]
            evicted = True
        if evicted:
            _release_memory()

    def _over_limit(self, room_for: int) -> bool:
        if len(self._loaded) + room_for > self.max_models:
            return True
        if self.memory_budget_bytes is None or room_for:
            return False
        return sum(getattr(m, "memory_bytes", 0) for m in self._loaded.values()) > self.memory_budget_bytes


def _again(error: BreError, note: str) -> BreError:
    """A fresh copy of a remembered load error, of the same type, with `note` after its message."""
    again = type(error).__new__(type(error))  # not __init__: error types take different arguments
    again.__dict__.update(error.__dict__)
    again.args = (f"{error} {note}",)
    return again


def _release_memory() -> None:
    """Give freed GPU memory back now rather than at the next allocation (another process may need it)."""
    gc.collect()
    import sys

    torch = sys.modules.get("torch")  # never import torch just to empty a cache it has not filled
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
