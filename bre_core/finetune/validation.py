"""Validation during full-data training: generate, parse and score each epoch after the first ones; keep the best."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from transformers import TrainerCallback

from bre_core.finetune.checkpoints import save_checkpoint

log = logging.getLogger(__name__)


def read_curve(path: Path) -> dict[int, dict]:
    """{epoch: point} from the validation curve file; a torn last line (a kill mid-write) is dropped."""
    curve: dict[int, dict] = {}
    if Path(path).is_file():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                point = json.loads(line)
                curve[int(point["epoch"])] = point
            except (ValueError, KeyError, TypeError):
                continue
    return curve


class BestCheckpoint(TrainerCallback):
    """After each epoch past `from_epoch`: score the model on validation (micro-F1) and save it when it is the best.

    Only the main process generates and saves; in a distributed run the others wait for it at their next
    synchronisation. The curve is appended to `curve_path` so that a resumed run knows the best so far.
    """

    def __init__(
        self,
        score: Callable[[object], tuple[float, float]],
        from_epoch: int,
        tokenizer,
        checkpoint: Path,
        curve_path: Path,
        info: dict,
    ):
        self.score, self.from_epoch, self.tokenizer = score, from_epoch, tokenizer
        self.checkpoint, self.curve_path, self.info = Path(checkpoint), Path(curve_path), info

    @property
    def best(self) -> dict | None:
        curve = read_curve(self.curve_path)
        return max(curve.values(), key=lambda p: (p["micro_f1"], -p["epoch"])) if curve else None

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        epoch = round(state.epoch or 0)
        if epoch <= self.from_epoch or not state.is_world_process_zero:
            return
        previous = self.best
        was_training = model.training
        model.eval()
        try:
            micro_f1, macro_f1 = self.score(model)
        finally:
            model.train(was_training)
        point = {"epoch": epoch, "step": state.global_step, "micro_f1": micro_f1, "macro_f1": macro_f1}
        with open(self.curve_path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(point) + "\n")
        log.info("epoch %d: validation micro-F1 %.4f (macro %.4f)", epoch, micro_f1, macro_f1)
        # Strictly better only: on a tie the earlier epoch stays, as "keep the best" reads most naturally.
        if previous is None or micro_f1 > previous["micro_f1"] or previous["epoch"] == epoch:
            save_checkpoint(
                model,
                self.tokenizer,
                self.checkpoint,
                {**self.info, "epoch": epoch, "validation_micro_f1": micro_f1, "training_complete": False},
            )
