"""Finetuning: real learning end to end, few-shot sampling, loss masking, best checkpoint, resume, faults, DDP."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import FIXTURE_DATA, SHARED_DATA
from tiny_llms import write_chemprot_splits
from tiny_models import build_trainable_model

from bre_core.config import ModelSpec
from bre_core.datasets import load_documents
from bre_core.errors import BreError
from bre_core.finetune import finetune
from bre_core.finetune.checkpoints import last_good_trainer_checkpoint, read_marker, save_checkpoint
from bre_core.finetune.data import IGNORE, Collator, encode, few_shot_sample
from bre_core.runs import read_run
from bre_core.settings import DecodingSettings, TrainingSettings, parse_setting
from bre_core.tasks import get_task

pytestmark = pytest.mark.slow  # training tiny models

TASK = get_task("chemprot")


def learnable_documents(shared_data_dir: Path | None, fixture_dir: Path, count: int = 6):
    """Real ChemProt training abstracts with one relation the format can express, else the fixture abstracts."""
    if shared_data_dir is not None:
        documents = load_documents("chemprot", "train", shared_data_dir)
        return [
            d
            for d in documents
            if len(TASK.gold_keys(d)) == 1
            and len(d.text) < 900
            and TASK.prediction_keys(d, TASK.parse(TASK.target(d)).relations) == TASK.gold_keys(d)
        ][:count]
    return [d for split in ("train", "validation", "test") for d in load_documents("chemprot", split, fixture_dir)]


def write_chemprot(root: Path, documents) -> Path:
    """A ChemProt data folder in the official format whose three splits all hold `documents`."""
    return write_chemprot_splits(root, {split: documents for split in ("train", "validation", "test")})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, fixture_data_dir):
    documents = learnable_documents(SHARED_DATA if SHARED_DATA.is_dir() else None, fixture_data_dir)
    return documents, write_chemprot(tmp_path_factory.mktemp("chemprot"), documents)


@pytest.fixture(scope="module")
def fixture_data_dir():
    return FIXTURE_DATA


@pytest.fixture(scope="module")
def t5(tmp_path_factory, corpus):
    documents, _ = corpus
    texts = [TASK.source(d) for d in documents] + [TASK.target(d) for d in documents]
    return build_trainable_model("t5", tmp_path_factory.mktemp("trainable-t5"), texts)


def train(spec, data, out, **options):
    settings = {
        "setting": f"k{len(load_documents('chemprot', 'train', data))}",
        "epochs": 60,
        "learning_rate": 5e-3,
        "micro_batch": 8,
        "effective_batch": 8,
        "max_new_tokens": 48,
        "progress": False,
        "device": "cpu",
        **options,
    }
    decoding = DecodingSettings(max_new_tokens=settings.pop("max_new_tokens"))
    run_options = {key: settings.pop(key) for key in ("progress", "device", "callbacks") if key in settings}
    return finetune(spec, "chemprot", out, TrainingSettings(**settings), decoding, data_dir=data, **run_options)


def test_a_tiny_model_learns_the_documents_end_to_end(t5, corpus, tmp_path):
    documents, data = corpus
    assert 4 <= len(documents) <= 8
    # The fixture abstracts have longer targets (up to four relations) than the real ones picked: more epochs.
    run = train(t5, data, tmp_path, epochs=60 if SHARED_DATA.is_dir() else 200)
    # generate -> parse -> score on the documents it was trained on
    assert run.metrics["micro"]["f1"] >= 0.9, [p.output for p in run.predictions]
    assert run.manifest["training"]["train_documents"] == len(documents)
    assert not (run.path / "trainer").exists()
    checkpoint = run.path / "checkpoint"
    assert read_marker(checkpoint)["training_complete"] is True
    # the checkpoint is a model folder `evaluate` can load by path
    from bre_core.runs import evaluate

    again = evaluate(
        str(checkpoint),
        "chemprot",
        "test",
        tmp_path / "eval",
        data_dir=data,
        decoding=DecodingSettings(48),
        progress=False,
    )
    assert [p.output for p in again.predictions] == [p.output for p in run.predictions]


def test_few_shot_sampling_is_seeded(fixture_data):
    documents = load_documents("ddi", "train", fixture_data) + load_documents("ddi", "validation", fixture_data)
    first = [d.id for d in few_shot_sample(documents, 3, seed=0)]
    assert first == [d.id for d in few_shot_sample(documents, 3, seed=0)]
    assert len(set(first)) == 3
    others = {tuple(d.id for d in few_shot_sample(documents, 3, seed=s)) for s in range(1, 5)}
    assert any(sample != tuple(first) for sample in others)
    with pytest.raises(BreError, match="k=9 is larger than the training set \\(5 documents\\)"):
        few_shot_sample(documents, 9, seed=0)


def test_settings_are_checked():
    assert parse_setting("k16").k == 16 and parse_setting("full").k is None
    for bad in ("k0", "K16", "16", "fewshot", ""):
        with pytest.raises(BreError, match="Unknown setting"):
            parse_setting(bad)


def test_decoder_only_loss_is_on_the_target_only(tmp_path, fixture_data):
    import torch

    from bre_core.models import load_model

    document = load_documents("chemprot", "train", fixture_data)[0]
    spec = build_trainable_model("gpt2", tmp_path / "gpt2", [TASK.source(document), TASK.target(document)])
    loaded = load_model(spec, device="cpu")
    example = encode(loaded.tokenizer, TASK, document, seq2seq=False, max_tokens=1024)
    prompt = loaded.tokenizer(TASK.source(document))["input_ids"]
    answer = loaded.tokenizer(TASK.target(document), add_special_tokens=False)["input_ids"]
    assert example["input_ids"] == prompt + answer + [loaded.tokenizer.eos_token_id]
    assert example["labels"] == [IGNORE] * len(prompt) + answer + [loaded.tokenizer.eos_token_id]
    short = dict(example, input_ids=example["input_ids"][:5], labels=example["labels"][:5])
    batch = Collator(loaded.tokenizer.pad_token_id, seq2seq=False)([example, short])
    assert batch["labels"][1, 5:].eq(IGNORE).all() and batch["attention_mask"][1].sum() == 5
    # The model's loss equals the cross-entropy over the target positions alone.
    with torch.no_grad():
        out = loaded.model(input_ids=batch["input_ids"][:1], labels=batch["labels"][:1])
        logits = out.logits[0, :-1]
        targets = torch.tensor(example["labels"][1:])
        keep = targets != IGNORE
        expected = torch.nn.functional.cross_entropy(logits[keep], targets[keep])
    assert torch.isclose(out.loss, expected, atol=1e-5)
    assert keep.sum() == len(answer) + 1


def test_best_checkpoint_is_the_best_validation_epoch(t5, corpus, tmp_path, monkeypatch):
    import bre_core.finetune.train as run_module

    scores = iter([0.2, 0.6, 0.4])
    monkeypatch.setattr(
        run_module, "score", lambda *a, **k: SimpleNamespace(micro=SimpleNamespace(f1=next(scores)), macro_f1=0.0)
    )
    _, data = corpus
    run = train(t5, data, tmp_path, setting="full", epochs=3, eval_from_epoch=0, max_new_tokens=4)
    assert [p["micro_f1"] for p in run.metrics["validation_curve"]] == [0.2, 0.6, 0.4]
    assert run.metrics["best_epoch"] == 2 and run.manifest["kept_epoch"] == 2
    assert read_marker(run.path / "checkpoint")["validation_micro_f1"] == 0.6


def test_interrupted_training_resumes_from_its_last_checkpoint(t5, corpus, tmp_path, caplog):
    from transformers import TrainerCallback

    _, data = corpus

    class Crash(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.epoch >= 3:
                raise KeyboardInterrupt  # killed right after the epoch-3 checkpoint

    with pytest.raises(KeyboardInterrupt):
        train(t5, data, tmp_path / "a", epochs=6, callbacks=[Crash()])
    folder = next((tmp_path / "a").iterdir())
    assert last_good_trainer_checkpoint(folder / "trainer").endswith("checkpoint-3")
    with caplog.at_level("INFO"):
        resumed = train(t5, data, tmp_path / "a", epochs=6)
    assert any("resuming training from" in r.getMessage() and "checkpoint-3" in r.getMessage() for r in caplog.records)
    straight = train(t5, data, tmp_path / "b", epochs=6)
    assert [p.output for p in resumed.predictions] == [p.output for p in straight.predictions]


def test_a_full_disk_leaves_the_previous_checkpoint_intact(t5, tmp_path):
    from bre_core.models import load_model

    loaded = load_model(t5, device="cpu")
    target = tmp_path / "checkpoint"
    save_checkpoint(loaded.model, loaded.tokenizer, target, {"epoch": 1})

    class FullDisk:
        def save_pretrained(self, folder):
            Path(folder, "model.safetensors").write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(BreError, match="the disk is full.*previous checkpoint \\(if any\\) is intact"):
        save_checkpoint(FullDisk(), loaded.tokenizer, target, {"epoch": 2})
    assert read_marker(target) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_incomplete_trainer_checkpoints_are_never_resumed_from(tmp_path):
    good, torn = tmp_path / "checkpoint-2", tmp_path / "checkpoint-4"
    for folder in (good, torn):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
    (good / "trainer_state.json").write_text("{}")
    assert last_good_trainer_checkpoint(tmp_path) == str(good)
    assert not torn.exists()


def test_bad_input_is_refused_before_any_work(t5, corpus, tmp_path):
    _, data = corpus
    with pytest.raises(BreError, match="k=99 is larger than the training set"):
        train(t5, data, tmp_path, setting="k99")
    with pytest.raises(BreError, match="Unknown setting 'k-1'"):
        train(t5, data, tmp_path, setting="k-1")
    missing = ModelSpec(name="gone", path=str(tmp_path / "nowhere"), architecture="seq2seq", family="t5")
    with pytest.raises(BreError, match="not a model folder"):
        train(missing, data, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_two_process_cpu_run_under_accelerate_launch(t5, corpus, tmp_path):
    _, data = corpus
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_processes",
        "2",
        "--cpu",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "bre_core",
        "finetune",
        "--model",
        t5.path,
        "--dataset",
        "chemprot",
        "--setting",
        "k4",
        "--epochs",
        "2",
        "--micro-batch",
        "1",
        "--effective-batch",
        "2",
        "--device",
        "cpu",
        "--data-dir",
        str(data),
        "--out",
        str(tmp_path),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    run = read_run(next(tmp_path.iterdir()))
    assert run.manifest["training"]["train_documents"] == 4 and run.metrics["documents"] >= 4
    assert json.loads((run.path / "checkpoint" / "bre_checkpoint.json").read_text())["training_complete"]
