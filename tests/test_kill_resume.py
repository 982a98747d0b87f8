"""A run and a finetune killed with SIGKILL mid-way resume to the uninterrupted result, with nothing duplicated."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURE_DATA
from tiny_models import build_tiny_model, build_trainable_model

import bre_core.models
from bre_core.cli import main
from bre_core.datasets import load_documents
from bre_core.datasets.chemprot import split_files
from bre_core.finetune.checkpoints import last_good_trainer_checkpoint, read_marker
from bre_core.finetune.validation import read_curve
from bre_core.runs import MANIFEST, METRICS, PARTIAL, PENDING, PREDICTIONS, is_complete, read_partial, read_run
from bre_core.runs.counts_file import COUNTS
from bre_core.tasks import get_task

pytestmark = pytest.mark.slow  # real subprocesses killed with SIGKILL

REPO = Path(__file__).resolve().parents[1]
WRAPPER = Path(__file__).resolve().parent / "slow_cli.py"
TASK = get_task("chemprot")
DEADLINE = 180  # seconds any one wait may take on a loaded machine before the test gives up
BATCH = 16
BUDGET = 16  # output tokens of the finetuned model's validation and test generations
CHUNK = 64  # what the runner writes durably at a time with that batch size: max(64, 4 x batch)


# --- a larger ChemProt corpus made of the fixture documents under new ids -----------------------------------------


def fixture_rows() -> list[dict[str, list[list[str]]]]:
    """Every fixture ChemProt document as its rows (without the PMID) in each of the release's three files."""
    documents: dict[str, dict[str, list[list[str]]]] = {}
    for split in ("train", "validation", "test"):
        for kind, relative in split_files(split).items():
            for line in (FIXTURE_DATA / relative).read_text(encoding="utf-8").splitlines():
                pmid, *cells = line.split("\t")
                documents.setdefault(pmid, {"abstracts": [], "entities": [], "gold": []})[kind].append(cells)
    return list(documents.values())


def write_corpus(root: Path, sizes: dict[str, int]) -> Path:
    """A ChemProt data folder in the official format: `sizes[split]` documents per split, cycling the fixture ones."""
    sources = fixture_rows()
    number = 0
    for split, count in sizes.items():
        lines: dict[str, list[str]] = {"abstracts": [], "entities": [], "gold": []}
        for _ in range(count):
            number += 1
            for kind, rows in sources[number % len(sources)].items():
                lines[kind].extend("\t".join([str(90000 + number), *cells]) + "\n" for cells in rows)
        for kind, relative in split_files(split).items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text("".join(lines[kind]), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory):
    return build_tiny_model("t5", tmp_path_factory.mktemp("models") / "tiny-t5")


@pytest.fixture(scope="module")
def finetune_data(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("finetune-data"), {"train": 8, "validation": 2, "test": 2})


@pytest.fixture(scope="module")
def trainable_t5(tmp_path_factory, finetune_data):
    documents = load_documents("chemprot", "train", finetune_data)
    texts = [TASK.source(d) for d in documents] + [TASK.target(d) for d in documents]
    return build_trainable_model("t5", tmp_path_factory.mktemp("models") / "trainable-t5", texts)


# --- the killed run in a subprocess; the reference and the resume in this process, where torch is imported ----------


@pytest.fixture
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the subprocess (OMP_NUM_THREADS=1): the same floating-point sums
    yield
    torch.set_num_threads(threads)


@contextlib.contextmanager
def launched(arguments: list[str], log: Path, gate: Path, **slow):
    """`python -m bre_core ARGUMENTS`, held at `gate` and slowed (BRE_TEST_<NAME> = seconds); never left running."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "BRE_TEST_GATE": str(gate),
        **{f"BRE_TEST_{name.upper()}": str(value) for name, value in slow.items()},
    }
    with open(log, "wb") as stream:
        process = subprocess.Popen(
            [sys.executable, str(WRAPPER), *arguments], cwd=REPO, env=env, stdout=stream, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]


def kill_when(process: subprocess.Popen, log: Path, ready, what: str) -> int:
    """Poll until `ready()`, then SIGKILL the process and return its exit status."""
    deadline = time.monotonic() + DEADLINE
    while not ready():
        assert process.poll() is None, f"the run ended (status {process.returncode}) before {what}:\n{tail(log)}"
        assert time.monotonic() < deadline, f"no {what} after {DEADLINE} s:\n{tail(log)}"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=DEADLINE)


def records(run) -> list[tuple]:
    """What a run computed per document, without its timings."""
    return [
        (p.id, p.output, p.relations, p.correct, p.missed, p.tp, p.fp, p.fn, p.input_tokens, p.output_tokens)
        for p in run.predictions
    ]


# --- evaluate -------------------------------------------------------------------------------------------------------


def test_a_killed_evaluate_resumes_to_the_uninterrupted_run(tiny_t5, tmp_path, one_thread):
    documents = 2 * CHUNK + 12  # three chunks, the last one short
    data = write_corpus(tmp_path / "data", {"train": 1, "validation": 1, "test": documents})
    ids = [d.id for d in load_documents("chemprot", "test", data)]

    def command(out: Path) -> list[str]:
        return [
            *("evaluate", "--model", tiny_t5.path, "--dataset", "chemprot", "--split", "test"),
            *("--data-dir", str(data), "--out", str(out), "--batch-size", str(BATCH), "--max-new-tokens", "12"),
            *("--device", "cpu"),
        ]

    folder = tmp_path / "runs" / "tiny-t5__chemprot__test__zero-shot"
    partial, gate, log = folder / PARTIAL, tmp_path / "gate", tmp_path / "killed.log"

    def one_chunk_written() -> bool:
        # Complete lines only: the kill may tear the line being written, never one already counted here.
        return partial.is_file() and partial.read_bytes().count(b"\n") >= CHUNK and not is_complete(folder)

    # 0.4 s before each of the 4 batches of a chunk: the second chunk is written 1.6 s or more after the first.
    with launched(command(tmp_path / "runs"), log, gate, batch_sleep=0.4) as killed:
        # The reference, uninterrupted, while the subprocess imports torch; the gate holds it before generating.
        assert main(command(tmp_path / "reference")) == 0
        gate.touch()
        status = kill_when(killed, log, one_chunk_written, "complete first chunk")

    assert status == -signal.SIGKILL
    assert not is_complete(folder) and not (folder / MANIFEST).exists() and (folder / PENDING).is_file()
    kept = [r.id for r in read_partial(folder)]
    # whole chunks, in document order, and not all of them
    assert kept == ids[: len(kept)] and len(kept) % CHUNK == 0 and 0 < len(kept) < documents

    assert main(command(tmp_path / "runs")) == 0
    run, straight = read_run(folder), read_run(tmp_path / "reference" / folder.name)
    assert [p.id for p in run.predictions] == ids == [p.id for p in straight.predictions]
    ids_on_disk = [json.loads(line)["id"] for line in (folder / PREDICTIONS).read_text(encoding="utf-8").splitlines()]
    assert ids_on_disk == ids  # no document twice, none missing
    assert records(run) == records(straight)
    assert run.metrics == straight.metrics
    assert run.manifest["timings"]["resumed_documents"] == len(kept)
    assert run.manifest["timings"]["documents_generated"] == documents - len(kept)
    assert straight.manifest["timings"]["resumed_documents"] == 0
    # no partial, pending or temporary file left behind
    assert sorted(p.name for p in folder.iterdir()) == sorted([COUNTS, MANIFEST, METRICS, PREDICTIONS])


# --- finetune -------------------------------------------------------------------------------------------------------


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_a_killed_finetune_resumes_from_its_checkpoint_to_the_uninterrupted_model(
    trainable_t5, finetune_data, tmp_path, one_thread, caplog, monkeypatch
):
    # 8 documents, 4 per optimizer step: 2 steps an epoch, a trainer checkpoint at steps 2, 4 and 6.
    # Validation after epochs 2 and 3 (--eval-from-epoch 1), so the kept model is one trained after the resume.
    def command(out: Path) -> list[str]:
        return [
            *("finetune", "--model", trainable_t5.path, "--dataset", "chemprot", "--setting", "full"),
            *("--epochs", "3", "--eval-from-epoch", "1", "--learning-rate", "5e-3"),
            *("--effective-batch", "4", "--micro-batch", "4", "--device", "cpu"),
            *("--data-dir", str(finetune_data), "--out", str(out)),
        ]

    folder = tmp_path / "runs" / "trainable-t5__chemprot__test__full__seed42"
    first, second = folder / "trainer" / "checkpoint-2", folder / "trainer" / "checkpoint-4"
    gate, log = tmp_path / "gate", tmp_path / "killed.log"

    def epoch_2_validated_and_not_saved() -> bool:
        # After epoch 2 was validated and kept as the best model, before its trainer checkpoint: the resume
        # redoes epoch 2 from checkpoint-2 and validates it a second time, the case that could duplicate the curve.
        kept = read_marker(folder / "checkpoint") or {}
        return kept.get("epoch") == 2 and 2 in read_curve(folder / "validation.jsonl")

    # The study's 512-token budget is most of the time of an untrained model, which never stops early.
    monkeypatch.setattr(bre_core.models, "default_max_new_tokens", lambda spec: BUDGET)
    # 2 s before each trainer checkpoint: the window between a validation point and the next save.
    with launched(command(tmp_path / "runs"), log, gate, save_sleep=2, max_new_tokens=BUDGET) as killed:
        assert main(command(tmp_path / "reference")) == 0
        gate.touch()
        status = kill_when(killed, log, epoch_2_validated_and_not_saved, "epoch-2 validation point")

    assert status == -signal.SIGKILL
    assert not is_complete(folder) and not (folder / MANIFEST).exists()
    assert not second.exists() and last_good_trainer_checkpoint(folder / "trainer") == str(first)
    assert sorted(read_curve(folder / "validation.jsonl")) == [2]
    assert read_marker(folder / "checkpoint")["training_complete"] is False

    with caplog.at_level("INFO"):
        assert main(command(tmp_path / "runs")) == 0
    assert f"resuming training from {first}" in caplog.text

    run, straight = read_run(folder), read_run(tmp_path / "reference" / folder.name)
    # the resumed epoch 2 was validated twice; the curve keeps it once
    lines = (folder / "validation.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [2, 2, 3]
    assert [p["epoch"] for p in run.metrics["validation_curve"]] == [2, 3]
    assert run.metrics == straight.metrics
    assert run.manifest["kept_epoch"] == straight.manifest["kept_epoch"] in (2, 3)
    assert records(run) == records(straight)
    assert [p.id for p in run.predictions] == [d.id for d in load_documents("chemprot", "test", finetune_data)]
    # the kept model, bit for bit: the resume restored the weights, optimizer, scheduler and random state
    resumed_weights, straight_weights = weights(folder / "checkpoint"), weights(straight.path / "checkpoint")
    assert resumed_weights.keys() == straight_weights.keys()
    assert [k for k in straight_weights if not resumed_weights[k].equal(straight_weights[k])] == []
    assert resumed_weights["shared.weight"].ne(weights(Path(trainable_t5.path))["shared.weight"]).any()
    # the trainer states are gone once tested; no partial, pending or half-saved checkpoint is left behind
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["checkpoint", "validation.jsonl", COUNTS, MANIFEST, METRICS, PREDICTIONS]
    )
    assert read_marker(folder / "checkpoint") == read_marker(straight.path / "checkpoint")


def test_a_trainer_checkpoint_whose_state_file_was_cut_short_is_never_resumed_from(tmp_path):
    from transformers import TrainerState

    folders = {step: tmp_path / f"checkpoint-{step}" for step in (2, 4, 6)}
    for step, folder in folders.items():
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")
        TrainerState(global_step=step).save_to_json(folder / "trainer_state.json")
    state = (folders[6] / "trainer_state.json").read_text(encoding="utf-8")
    # The Trainer writes the state in place, last: killed between open and write, or in the middle of the write.
    (folders[4] / "trainer_state.json").write_text("", encoding="utf-8")
    (folders[6] / "trainer_state.json").write_text(state[: len(state) // 2], encoding="utf-8")
    for torn in (folders[4], folders[6]):
        with pytest.raises(ValueError):
            TrainerState.load_from_json(torn / "trainer_state.json")  # what a resume from it would do
    assert last_good_trainer_checkpoint(tmp_path) == str(folders[2])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2"]


def test_a_kill_inside_a_checkpoint_save_is_undone_on_resume(tmp_path):
    from bre_core.finetune.checkpoints import recover_checkpoint

    checkpoint = tmp_path / "checkpoint"
    # killed between setting the previous checkpoint aside and renaming the new one in
    (tmp_path / ".checkpoint.old").mkdir()
    (tmp_path / ".checkpoint.old" / "bre_checkpoint.json").write_text('{"epoch": 2}', encoding="utf-8")
    (tmp_path / ".checkpoint.k3x9q").mkdir()  # the new one, staged
    (tmp_path / ".checkpoint.k3x9q" / "model.safetensors").write_bytes(b"half")
    recover_checkpoint(checkpoint)
    assert read_marker(checkpoint) == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
    # killed after the rename, before the old one was removed: the new one stays
    (tmp_path / ".checkpoint.old").mkdir()
    recover_checkpoint(checkpoint)
    assert read_marker(checkpoint) == {"epoch": 2} and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_a_torn_atomic_write_is_cleared_when_the_run_resumes(tmp_path):
    from bre_core.runs import claim_folder

    folder = tmp_path / "run"
    claim_folder(folder, {"model": "m"})
    (folder / ".predictions.jsonl.a1b2.tmp").write_text('{"id": "1"', encoding="utf-8")  # killed mid-write
    claim_folder(folder, {"model": "m"})
    assert sorted(p.name for p in folder.iterdir()) == [PENDING]
