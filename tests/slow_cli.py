"""`python -m bre_core ...`, held at a gate and slowed down by environment variables, so that a test can kill it mid-way.

BRE_TEST_GATE: a file; the first slowed-down call waits until it exists (the test opens the gate when it is ready).
BRE_TEST_BATCH_SLEEP: seconds to sleep before each generated batch.
BRE_TEST_SAVE_SLEEP: seconds to sleep before each trainer checkpoint is written.
BRE_TEST_MAX_NEW_TOKENS: the default output budget (`finetune` has no option for it; the test's own runs use the same).
Apart from that budget, only the timing changes, never what is computed.
"""

import functools
import os
import sys
import time

GATE_TIMEOUT = 600  # the test that would open the gate is gone: do not wait for ever


@functools.cache
def _pass_gate() -> None:
    gate = os.environ.get("BRE_TEST_GATE")
    deadline = time.monotonic() + GATE_TIMEOUT
    while gate and not os.path.exists(gate):
        if time.monotonic() > deadline:
            sys.exit(f"slow_cli: {gate} did not appear within {GATE_TIMEOUT} s")
        time.sleep(0.02)


def _slowed(function, seconds: float):
    @functools.wraps(function)
    def slow(*args, **kwargs):
        _pass_gate()
        time.sleep(seconds)
        return function(*args, **kwargs)

    return slow


def _patch() -> None:
    if float(os.environ.get("BRE_TEST_BATCH_SLEEP") or 0):
        from bre_core.models import generation

        generation._generate_batch = _slowed(generation._generate_batch, float(os.environ["BRE_TEST_BATCH_SLEEP"]))
    if float(os.environ.get("BRE_TEST_SAVE_SLEEP") or 0):
        from transformers import Trainer

        Trainer._save_checkpoint = _slowed(Trainer._save_checkpoint, float(os.environ["BRE_TEST_SAVE_SLEEP"]))
    if os.environ.get("BRE_TEST_MAX_NEW_TOKENS"):
        import bre_core.models

        budget = int(os.environ["BRE_TEST_MAX_NEW_TOKENS"])
        bre_core.models.default_max_new_tokens = lambda spec: budget


if __name__ == "__main__":
    _patch()
    from bre_core.cli import main

    sys.exit(main())
