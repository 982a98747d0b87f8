"""Frozen settings of a run, each default written once: how to decode, and how to finetune."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from bre_core.errors import BreError

FULL_DATA_SEED = 42  # the study's seed for full-data finetuning
FEW_SHOT_SEEDS = (0, 1, 2, 3, 4)  # the study's data seeds for few-shot samples; the first is the default
SEQ2SEQ_MAX_TOKENS = 512  # the study truncates encoder-decoder sources (and training targets) at 512 tokens
GPU_BATCH, CPU_BATCH = 64, 16  # sources generated together: large on a GPU (batch 1 is launch-bound), small on a CPU
ENGINES = ("hf", "ctranslate2", "vllm")  # decoding engines (bre_core.models.engines); hf is the default


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
class LoraSettings:
    """Parameter-efficient finetuning with LoRA adapters (peft); `quantize="4bit"` trains on a 4-bit base (QLoRA).

    `target_modules` None lets peft choose the attention projections it knows for the model's architecture.
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] | None = None
    quantize: str | None = None  # None or "4bit"

    @property
    def method(self) -> str:
        """The prefix of the run's setting name: lora, or qlora on a 4-bit base."""
        return "qlora" if self.quantize else "lora"


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
    peft: LoraSettings | None = None  # None: every weight is trained (the study)

    def seed_for(self, few_shot: bool) -> int:
        return self.seed if self.seed is not None else (FEW_SHOT_SEEDS[0] if few_shot else FULL_DATA_SEED)

    def to_json(self) -> dict:
        return asdict(self)


PEFT_METHODS = ("lora", "qlora")  # prefixes of a finetuning setting trained with adapters: lora-k16, qlora-full


@dataclass(frozen=True)
class Setting:
    name: str  # "full" or "k16", "k64", ...; "lora-full", "lora-k16" ... when trained with adapters
    k: int | None  # training documents for few-shot; None for full data
    peft: str | None = None  # None (every weight trained), "lora" or "qlora"

    @property
    def few_shot(self) -> bool:
        return self.k is not None

    @property
    def data(self) -> str:
        """The training data part of the name: full or kN."""
        return "full" if self.k is None else f"k{self.k}"


def parse_setting(name: str) -> Setting:
    """`full`, or `k<N>` (few-shot on N training documents, the study's k16 and k64), optionally prefixed by a
    PEFT method (`lora-k16`, `qlora-full`: the same data, trained with LoRA adapters)."""
    match = re.fullmatch(r"(?:(lora|qlora)-)?(full|k([1-9][0-9]*))", name or "")
    if not match:
        raise BreError(
            f"Unknown setting '{name}'. Use full (all training documents) or kN for few-shot on N "
            f"documents: the study's are k16 and k64 (lora-full, lora-k16 ...: the same with LoRA adapters)."
        )
    peft, _, k = match.groups()
    return Setting(name, int(k) if k else None, peft)
