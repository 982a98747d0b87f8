"""Finetune one model on one dataset and setting with the study's protocol, then test the kept checkpoint."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

from bre_core.config import ModelsFile, ModelSpec, resolve_model
from bre_core.datasets import STUDY_SPLIT, load_documents, split_seed_used
from bre_core.errors import BreError
from bre_core.finetune.checkpoints import read_marker
from bre_core.finetune.data import few_shot_sample
from bre_core.finetune.peft_setup import check_quantization, peft_record
from bre_core.finetune.train import CURVE, train_model
from bre_core.finetune.validation import read_curve
from bre_core.runs import Run, documents_hash, finished_run, run_documents, run_name
from bre_core.settings import DecodingSettings, LoraSettings, TrainingSettings, parse_setting
from bre_core.tasks import HEADLINE, get_task

log = logging.getLogger(__name__)
FULL_DATA_EPOCHS = 30


def finetune(
    model: str | ModelSpec,
    dataset: str,
    out: str | Path,
    training: TrainingSettings = TrainingSettings(),
    decoding: DecodingSettings = DecodingSettings(),
    *,
    data_dir=None,
    split_seed: int | str = STUDY_SPLIT,
    models_file: ModelsFile | None = None,
    device: str | None = None,
    progress: bool = True,
    callbacks=(),
) -> Run | None:
    """Train, keep the best (full data) or last (few-shot) model, write it and a test-set run under `out`.

    The run folder is `out/MODEL__DATASET__test__SETTING__seedS`: the run files, `checkpoint/` (model and
    tokenizer, usable as a models.yaml `path:` or `evaluate --model`) and, while training, `trainer/` (the
    Trainer's state, from which an interrupted run resumes). Returns the run; None in the non-main processes
    of a distributed run. `training.targets` writes the training targets as the study did ("study": CDR names
    by max(), repeated sentences, the DCE double space) or corrected; validation selects on the headline
    protocol's micro-F1.
    """
    from bre_core.models import default_max_new_tokens

    plan = parse_setting(training.setting)
    if plan.peft and training.peft is None:  # a setting named lora-kN / qlora-kN asks for adapters itself
        training = replace(training, peft=LoraSettings(quantize="4bit" if plan.peft == "qlora" else None))
    if training.peft is not None:
        plan = parse_setting(f"{training.peft.method}-{plan.data}")
    spec = model if isinstance(model, ModelSpec) else resolve_model(model, models_file)
    seed = training.seed_for(plan.few_shot)
    task = get_task(dataset, HEADLINE, training.targets)
    train = load_documents(dataset, "train", data_dir, split_seed=split_seed)
    if plan.few_shot:
        train = few_shot_sample(train, plan.k, seed)
    validation = [] if plan.few_shot else load_documents(dataset, "validation", data_dir, split_seed=split_seed)
    test = load_documents(dataset, "test", data_dir, split_seed=split_seed)
    epochs = training.epochs if training.epochs is not None else _study_epochs(spec, plan)
    max_new_tokens = decoding.max_new_tokens or default_max_new_tokens(spec)
    recorded = {
        "setting": plan.name,
        "seed": seed,
        "epochs": epochs,
        "max_steps": training.max_steps,
        "learning_rate": training.learning_rate,
        "effective_batch": training.effective_batch,
        "warmup": training.warmup,
        "optimizer": "adamw, linear decay",
        "eval_from_epoch": None if plan.few_shot else training.eval_from_epoch,
        "targets": task.targets.name,
        "selection_protocol": task.protocol.name if not plan.few_shot else None,
        "train_documents": len(train),
        "train_hash": hashlib.sha256("\n".join(d.id for d in train).encode()).hexdigest(),
    }
    if training.peft is not None:  # runs without adapters keep the identity they had before PEFT existed
        recorded["peft"] = peft_record(training.peft)
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
        "training": recorded,
    }
    folder = Path(out) / run_name(Path(spec.name).name, dataset, "test", plan.name, seed)
    finished = finished_run(folder, identity)
    if finished is not None:
        return finished

    checkpoint = folder / "checkpoint"
    if not (read_marker(checkpoint) or {}).get("training_complete"):
        check_quantization(training.peft, device)  # everything before the GPU requirement has run
        main = train_model(
            spec,
            task,
            train,
            validation,
            folder,
            identity,
            training,
            decoding,
            epochs=epochs,
            seed=seed,
            device=device,
            progress=progress,
            callbacks=callbacks,
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
        decoding=DecodingSettings(max_new_tokens, decoding.batch_size),
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
    if epochs is None and plan.peft:
        epochs = study_epochs(Path(spec.name).name, plan.data)
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
