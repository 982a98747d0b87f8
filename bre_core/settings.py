"""Frozen settings of a run, each default written once: how to decode, and how to finetune."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from bre_core.errors import BreError

FULL_DATA_SEED = 42  # the study's seed for full-data finetuning
FEW_SHOT_SEEDS = (0, 1, 2, 3, 4)  # the study's data seeds for few-shot samples; the first is the default
SEQ2SEQ_MAX_TOKENS = 512  # the study truncates encoder-decoder sources (and training targets) at 512 tokens
GPU_BATCH, CPU_BATCH = 64, 16  # sources generated together: large on a GPU (batch 1 is launch-bound), small on a CPU
ENGINES = ("hf", "ctranslate2")  # decoding engines (bre_core.models.engines); hf is the default


@dataclass(frozen=True)
class DecodingSettings:
    """Greedy decoding: the output budget (None: the study's for the architecture), the batch size, the engine and
    its compute type (None: the engine's default, float32 for ctranslate2; the device's dtype for hf)."""

    max_new_tokens: int | None = None
    batch_size: int | None = None
    engine: str = "hf"
    compute_type: str | None = None

    def batch_for(self, device_type: str) -> int:
        """The batch size on a device of this type ("cuda", "cpu", ...)."""
        return self.batch_size or (GPU_BATCH if device_type == "cuda" else CPU_BATCH)


@dataclass(frozen=True)
class TrainingSettings:
    """The study's finetuning protocol (PAPER.md, "Training protocol"); every value can be overridden.

    `seed` None is the study's (42 for full data, 0 for few-shot); `epochs` None is the study's for the model and
    setting; `micro_batch` None is chosen by device; `targets` writes the training targets as the study did
    ("study") or corrected.
    """

    setting: str = "full"
    seed: int | None = None
    epochs: float | None = None
    max_steps: int | None = None
    learning_rate: float = 5e-5
    effective_batch: int = 32
    micro_batch: int | None = None
    warmup: float = 0.1
    gradient_checkpointing: bool = False
    eval_from_epoch: int = 10
    deepspeed: str | None = None
    targets: str = "study"

    def seed_for(self, few_shot: bool) -> int:
        return self.seed if self.seed is not None else (FEW_SHOT_SEEDS[0] if few_shot else FULL_DATA_SEED)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Setting:
    name: str  # "full" or "k16", "k64", ...
    k: int | None  # training documents for few-shot; None for full data

    @property
    def few_shot(self) -> bool:
        return self.k is not None


def parse_setting(name: str) -> Setting:
    """`full`, or `k<N>` (few-shot on N training documents, the study's k16 and k64)."""
    if name == "full":
        return Setting("full", None)
    match = re.fullmatch(r"k([1-9][0-9]*)", name or "")
    if not match:
        raise BreError(
            f"Unknown setting '{name}'. Use full (all training documents) or kN for few-shot on N "
            f"documents: the study's are k16 and k64."
        )
    return Setting(name, int(match.group(1)))
