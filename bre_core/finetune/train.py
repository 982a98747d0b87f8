"""One training run on the Trainer: encode, validate each epoch and keep the best checkpoint, resume when cut."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bre_core.atomic import write_text_atomic
from bre_core.finetune.checkpoints import (
    MARKER,
    last_good_trainer_checkpoint,
    read_marker,
    recover_checkpoint,
    save_checkpoint,
)
from bre_core.finetune.data import encode
from bre_core.finetune.trainer import batch_plan, build_trainer, training_arguments
from bre_core.finetune.validation import BestCheckpoint
from bre_core.runs import claim_folder
from bre_core.scoring import score
from bre_core.settings import DecodingSettings, TrainingSettings

log = logging.getLogger(__name__)
CURVE = "validation.jsonl"


def train_model(
    spec,
    task,
    train,
    validation,
    folder: Path,
    identity: dict,
    training: TrainingSettings,
    decoding: DecodingSettings,
    *,
    epochs: float,
    seed: int,
    device: str | None,
    progress: bool,
    callbacks=(),
) -> bool:
    """Train and leave the kept model in folder/checkpoint; True in the main process.

    `epochs` and `seed` are the resolved values (the settings may leave them to the study's defaults).
    """
    import torch

    from bre_core.models import default_max_new_tokens, generate, load_model
    from bre_core.models.generation import context_length
    from bre_core.models.loading import LoadedModel

    use_cpu = device == "cpu" or not torch.cuda.is_available()
    peft = training.peft
    if peft is not None and peft.quantize:
        from bre_core.finetune.peft_setup import load_quantized

        loaded = load_quantized(spec)  # 4-bit base on the GPU (check_quantization ran before)
    elif peft is not None and not use_cpu:
        loaded = load_model(spec)  # a frozen base needs no fp32 master weights: bf16 on the GPU
    else:
        loaded = load_model(spec, device="cpu", dtype=torch.float32)  # fp32 master weights; the Trainer places them
    seq2seq = loaded.is_seq2seq
    if peft is not None:
        from bre_core.finetune.peft_setup import add_lora

        loaded.model = add_lora(loaded.model, peft, seq2seq, training.gradient_checkpointing)
    examples = [encode(loaded.tokenizer, task, d, seq2seq, None if seq2seq else context_length(loaded)) for d in train]
    micro_batch, accumulation = batch_plan(training.effective_batch, training.micro_batch, use_cpu)
    bf16 = not use_cpu and torch.cuda.is_bf16_supported()
    arguments = training_arguments(
        folder / "trainer",
        micro_batch=micro_batch,
        accumulation=accumulation,
        epochs=epochs,
        max_steps=training.max_steps,
        learning_rate=training.learning_rate,
        warmup=training.warmup,
        seed=seed,
        use_cpu=use_cpu,
        gradient_checkpointing=training.gradient_checkpointing,
        progress=progress,
        deepspeed=training.deepspeed,
    )
    info = {"model": spec.name, "setting": identity["setting"], "seed": seed}
    if peft is not None:  # an adapter folder names its base model (id and revision), so that it loads alone
        from bre_core.finetune.peft_setup import peft_record

        info |= {"adapter_base": spec.model_dump(), "peft": peft_record(peft)}
    checkpoint = folder / "checkpoint"
    callback_list = list(callbacks)
    max_new_tokens = decoding.max_new_tokens or default_max_new_tokens(spec)
    if validation:

        def score_validation(model) -> tuple[float, float]:
            view = LoadedModel(
                model,
                loaded.tokenizer,
                spec,
                model.device,
                next(model.parameters()).dtype,
                checkpoint_generation_config=loaded.checkpoint_generation_config,
            )
            autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else torch.autocast("cpu", enabled=False)
            with autocast:
                outputs = generate(
                    view, [task.source(d) for d in validation], max_new_tokens, decoding.batch_for(model.device.type)
                )
            result = score(task, validation, {d.id: task.parse(o.text) for d, o in zip(validation, outputs)})
            return result.micro.f1, result.macro_f1

        callback_list.append(
            BestCheckpoint(
                score_validation, training.eval_from_epoch, loaded.tokenizer, checkpoint, folder / CURVE, info
            )
        )
    trainer = build_trainer(loaded, examples, arguments, callback_list)
    main = trainer.is_world_process_zero()
    if main:
        claim_folder(folder, identity)
        recover_checkpoint(checkpoint)
    resume = last_good_trainer_checkpoint(folder / "trainer")
    if resume:
        log.info("resuming training from %s", resume)
    trainer.train(resume_from_checkpoint=resume)
    if main:
        kept = read_marker(checkpoint)
        if not validation or kept is None:  # few-shot, or no epoch reached the validation phase: the last model
            save_checkpoint(
                trainer.model,
                loaded.tokenizer,
                checkpoint,
                {**info, "epoch": round(trainer.state.epoch or 0), "training_complete": False},
            )
            kept = read_marker(checkpoint)
        write_text_atomic(checkpoint / MARKER, json.dumps({**kept, "training_complete": True}, indent=2) + "\n")
    trainer.accelerator.wait_for_everyone()
    return main
