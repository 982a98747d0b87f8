"""The Trainer set-up shared by finetuning and its benchmark: batch plan, training arguments, dynamic padding."""

from __future__ import annotations

import inspect
import logging
import os
from pathlib import Path

from bre_core.finetune.data import Collator
from bre_core.settings import FULL_DATA_SEED

log = logging.getLogger(__name__)


def batch_plan(effective_batch: int, micro_batch: int | None, use_cpu: bool) -> tuple[int, int]:
    """(micro-batch, accumulation steps) giving `effective_batch` documents per optimizer step over all processes.

    Default micro-batch: 1 on a CPU (compute-bound: larger ones were measured no faster there), 8 on a GPU (where
    micro-batch 1 is launch-bound).
    """
    micro_batch = micro_batch or (1 if use_cpu else 8)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    accumulation = max(1, round(effective_batch / (micro_batch * world)))
    if accumulation * micro_batch * world != effective_batch:
        log.warning(
            "effective batch %d is not a multiple of micro-batch %d x %d processes; using %d",
            effective_batch,
            micro_batch,
            world,
            accumulation * micro_batch * world,
        )
    return micro_batch, accumulation


def training_arguments(
    output_dir: Path,
    *,
    micro_batch: int,
    accumulation: int,
    epochs: float = 1,
    max_steps: int | None = None,
    learning_rate: float = 5e-5,
    warmup: float = 0.1,
    seed: int = FULL_DATA_SEED,
    use_cpu: bool = False,
    gradient_checkpointing: bool = False,
    progress: bool = True,
    group_by_length: bool | None = None,
    save: bool = True,
    deepspeed: str | None = None,
):
    """The study's optimisation (AdamW, linear decay, warmup share, lr 5e-5) with this project's batching:
    batches of similar lengths when the micro-batch is larger than 1, bf16 where the GPU has it."""
    import torch
    from transformers import TrainingArguments

    group = micro_batch > 1 if group_by_length is None else group_by_length
    options = dict(
        output_dir=str(output_dir),
        num_train_epochs=epochs,
        max_steps=max_steps or -1,
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation,
        learning_rate=learning_rate,
        lr_scheduler_type="linear",
        optim="adamw_torch",
        bf16=not use_cpu and torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        use_cpu=use_cpu,
        seed=seed,
        data_seed=seed,
        save_strategy="epoch" if save else "no",
        save_total_limit=1,
        eval_strategy="no",
        logging_steps=10,
        report_to="none",
        remove_unused_columns=False,
        disable_tqdm=not progress,
        dataloader_num_workers=0,
    )
    if deepspeed:
        options["deepspeed"] = str(deepspeed)  # e.g. configs/deepspeed_zero3.json for the 1.5B-2.7B models
    accepted = inspect.signature(TrainingArguments.__init__).parameters
    if "warmup_ratio" in accepted:
        options["warmup_ratio"] = warmup
    else:  # a float below 1 is a share of the steps
        options["warmup_steps"] = warmup
    # transformers renamed these options within 5.x; take whichever the installed version has.
    if "train_sampling_strategy" in accepted:
        options["train_sampling_strategy"] = "group_by_length" if group else "random"
    else:
        options["group_by_length"] = group
    options["activation_checkpointing" if "activation_checkpointing" in accepted else "gradient_checkpointing"] = (
        gradient_checkpointing
    )
    return TrainingArguments(**options)


def build_trainer(loaded, examples: list[dict], arguments, callbacks=()):
    """A Trainer over the encoded examples (a plain list: the length-grouped sampler reads their input_ids)."""
    from transformers import Trainer

    return Trainer(
        model=loaded.model,
        args=arguments,
        train_dataset=examples,
        data_collator=Collator(loaded.tokenizer.pad_token_id, loaded.is_seq2seq),
        callbacks=list(callbacks),
    )
