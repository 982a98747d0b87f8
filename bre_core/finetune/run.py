"""Finetune one model on one dataset and setting with the study's protocol, then test the kept checkpoint."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from bre_core.atomic import write_text_atomic
from bre_core.config import ModelsFile, ModelSpec, resolve_model
from bre_core.datasets import STUDY_SPLIT, load_documents, split_seed_used
from bre_core.errors import BreError
from bre_core.finetune.checkpoints import (
    MARKER,
    last_good_trainer_checkpoint,
    read_marker,
    recover_checkpoint,
    save_checkpoint,
)
from bre_core.finetune.data import encode, few_shot_sample, parse_setting
from bre_core.finetune.trainer import batch_plan, build_trainer, training_arguments
from bre_core.finetune.validation import BestCheckpoint, read_curve
from bre_core.results import Run, run_name
from bre_core.runner import claim_folder, documents_hash, finished_run, run_documents
from bre_core.scoring import score
from bre_core.tasks import HEADLINE, get_task

log = logging.getLogger(__name__)
FULL_DATA_EPOCHS = 30
CURVE = "validation.jsonl"


def finetune(
    model: str | ModelSpec,
    dataset: str,
    setting: str,
    out: str | Path,
    *,
    seed: int | None = None,
    epochs: float | None = None,
    max_steps: int | None = None,
    data_dir=None,
    split_seed: int | str = STUDY_SPLIT,
    targets: str = HEADLINE,
    models_file: ModelsFile | None = None,
    learning_rate: float = 5e-5,
    effective_batch: int = 32,
    micro_batch: int | None = None,
    warmup: float = 0.1,
    gradient_checkpointing: bool = False,
    eval_from_epoch: int = 10,
    max_new_tokens: int | None = None,
    eval_batch_size: int | None = None,
    device: str | None = None,
    progress: bool = True,
    callbacks=(),
    deepspeed: str | None = None,
) -> Run | None:
    """Train, keep the best (full data) or last (few-shot) model, write it and a test-set run under `out`.

    The run folder is `out/MODEL__DATASET__test__SETTING__seedS`: the run files, `checkpoint/` (model and
    tokenizer, usable as a models.yaml `path:` or `evaluate --model`) and, while training, `trainer/` (the
    Trainer's state, from which an interrupted run resumes). Returns the run; None in the non-main processes
    of a distributed run. `targets` writes the training targets as the study did ("study": CDR names by max(),
    repeated sentences, the DCE double space) or corrected; validation selects on the headline protocol's micro-F1.
    """
    from bre_core.models import default_max_new_tokens

    plan = parse_setting(setting)
    spec = model if isinstance(model, ModelSpec) else resolve_model(model, models_file)
    seed = seed if seed is not None else (0 if plan.few_shot else 42)
    task = get_task(dataset, HEADLINE, targets)
    train = load_documents(dataset, "train", data_dir, split_seed=split_seed)
    if plan.few_shot:
        train = few_shot_sample(train, plan.k, seed)
    validation = [] if plan.few_shot else load_documents(dataset, "validation", data_dir, split_seed=split_seed)
    test = load_documents(dataset, "test", data_dir, split_seed=split_seed)
    epochs = epochs if epochs is not None else _study_epochs(spec, plan)
    max_new_tokens = max_new_tokens or default_max_new_tokens(spec)
    training = {
        "setting": plan.name,
        "seed": seed,
        "epochs": epochs,
        "max_steps": max_steps,
        "learning_rate": learning_rate,
        "effective_batch": effective_batch,
        "warmup": warmup,
        "optimizer": "adamw, linear decay",
        "eval_from_epoch": None if plan.few_shot else eval_from_epoch,
        "targets": task.targets.name,
        "selection_protocol": task.protocol.name if not plan.few_shot else None,
        "train_documents": len(train),
        "train_hash": hashlib.sha256("\n".join(d.id for d in train).encode()).hexdigest(),
    }
    identity = {
        "model": spec.model_dump(),
        "dataset": dataset,
        "split": "test",
        "split_seed": split_seed_used(dataset, split_seed),
        "documents": len(test),
        "data_hash": documents_hash(task, test),
        "task_version": task.version,
        "max_new_tokens": max_new_tokens,
        "setting": plan.name,
        "seed": seed,
        "training": training,
    }
    folder = Path(out) / run_name(Path(spec.name).name, dataset, "test", plan.name, seed)
    finished = finished_run(folder, identity)
    if finished is not None:
        return finished

    checkpoint = folder / "checkpoint"
    if not (read_marker(checkpoint) or {}).get("training_complete"):
        main = _train(
            spec,
            task,
            train,
            validation,
            folder,
            identity,
            epochs=epochs,
            max_steps=max_steps,
            learning_rate=learning_rate,
            effective_batch=effective_batch,
            micro_batch=micro_batch,
            warmup=warmup,
            gradient_checkpointing=gradient_checkpointing,
            eval_from_epoch=eval_from_epoch,
            max_new_tokens=max_new_tokens,
            eval_batch_size=eval_batch_size,
            seed=seed,
            device=device,
            progress=progress,
            callbacks=callbacks,
            deepspeed=deepspeed,
        )
        if not main:
            return None
    elif int(os.environ.get("RANK", "0")) != 0:
        return None

    from bre_core.models import load_model

    kept = read_marker(checkpoint)
    curve = sorted(read_curve(folder / CURVE).values(), key=lambda p: p["epoch"])
    checkpoint_spec = ModelSpec(
        name=f"{spec.name} ({plan.name}, seed {seed})",
        path=str(checkpoint),
        architecture=spec.architecture,
        family=spec.family,
    )
    run = run_documents(
        folder,
        identity,
        task,
        test,
        lambda: load_model(checkpoint_spec, device=_device(device)),
        batch_size=eval_batch_size,
        max_new_tokens=max_new_tokens,
        progress=progress,
        description=f"{spec.name} {plan.name} on {dataset} test",
        extra_manifest={"checkpoint": "checkpoint", "kept_epoch": kept.get("epoch")},
        extra_metrics={"validation_curve": curve, "best_epoch": kept.get("epoch")},
    )
    shutil.rmtree(folder / "trainer", ignore_errors=True)  # optimizer states: large, and no longer needed
    return run


def _study_epochs(spec: ModelSpec, plan) -> float:
    from bre_core.experiments import study_epochs

    epochs = study_epochs(Path(spec.name).name, plan.name)
    if epochs is None and not plan.few_shot:
        return FULL_DATA_EPOCHS
    if epochs is None:
        raise BreError(
            f"The study gives no epochs for {spec.name} with {plan.name} (its few-shot runs cover the "
            f"encoder-decoder models of models.yaml only); pass --epochs."
        )
    return epochs


def _device(device: str | None):
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else None


def _train(
    spec,
    task,
    train,
    validation,
    folder: Path,
    identity: dict,
    *,
    epochs,
    max_steps,
    learning_rate,
    effective_batch,
    micro_batch,
    warmup,
    gradient_checkpointing,
    eval_from_epoch,
    max_new_tokens,
    eval_batch_size,
    seed,
    device,
    progress,
    callbacks,
    deepspeed=None,
) -> bool:
    """Train and leave the kept model in folder/checkpoint; True in the main process."""
    import torch

    from bre_core.models import generate, load_model
    from bre_core.models.loading import LoadedModel

    use_cpu = device == "cpu" or not torch.cuda.is_available()
    loaded = load_model(spec, device="cpu", dtype=torch.float32)  # fp32 master weights; the Trainer places them
    seq2seq = loaded.is_seq2seq
    context = getattr(loaded.model.config, "n_positions", None) or getattr(
        loaded.model.config, "max_position_embeddings", None
    )
    examples = [encode(loaded.tokenizer, task, d, seq2seq, None if seq2seq else context) for d in train]
    micro_batch, accumulation = batch_plan(effective_batch, micro_batch, use_cpu)
    bf16 = not use_cpu and torch.cuda.is_bf16_supported()
    arguments = training_arguments(
        folder / "trainer",
        micro_batch=micro_batch,
        accumulation=accumulation,
        epochs=epochs,
        max_steps=max_steps,
        learning_rate=learning_rate,
        warmup=warmup,
        seed=seed,
        use_cpu=use_cpu,
        gradient_checkpointing=gradient_checkpointing,
        progress=progress,
        deepspeed=deepspeed,
    )
    info = {"model": spec.name, "setting": identity["setting"], "seed": seed}
    checkpoint = folder / "checkpoint"
    callback_list = list(callbacks)
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
                    view,
                    [task.source(d) for d in validation],
                    max_new_tokens,
                    eval_batch_size or (64 if model.device.type == "cuda" else 16),
                )
            result = score(task, validation, {d.id: task.parse(o.text) for d, o in zip(validation, outputs)})
            return result.micro.f1, result.macro_f1

        callback_list.append(
            BestCheckpoint(score_validation, eval_from_epoch, loaded.tokenizer, checkpoint, folder / CURVE, info)
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
        write_text_atomic(checkpoint / MARKER, _json({**kept, "training_complete": True}))
    trainer.accelerator.wait_for_everyone()
    return main


def _json(value: dict) -> str:
    import json

    return json.dumps(value, indent=2) + "\n"
