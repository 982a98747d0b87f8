"""The study's grid (experiments/paper.yaml, 612 runs) as run folders whose outputs are gold with seeded corruption.

No model is involved: each document is answered by one of a few corruptions of its gold target (the same
output text, hence the same record, wherever it recurs), chosen per run by a seeded draw whose odds depend on
the model and the setting. Records, metrics and folders are written by the library's own functions
(prediction_record, score_records, finalize_run), as evaluate writes them. The numbers describe no model.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

from common import FIXTURE_DATA, ROOT, SHARED_DATA

from bre_core.config import load_models_file
from bre_core.datasets import load_documents, split_seed_used
from bre_core.experiments.grid import plan_grid
from bre_core.models.generation import Generation
from bre_core.runs import documents_hash, finalize_run, metrics_json, prediction_record, score_records
from bre_core.tasks import get_task

PAPER = ROOT / "experiments" / "paper.yaml"
CORRUPTIONS = ("gold", "first", "relabel", "spurious", "none")
SWAPS = {
    "downregulation": "upregulation",
    "agonist": "antagonist",
    "mechanism": "effect",
    "advice": "interaction",
    "positive": "combination",
}


def data_folder() -> tuple[Path, str]:
    """The real corpora when present, else the hand-written fixtures (and which)."""
    if (SHARED_DATA / "chemprot").is_dir():
        return SHARED_DATA, "real corpora (/work/shared/data), full test splits"
    return FIXTURE_DATA, "fixture corpora (tests/fixtures/data): the real corpora were not found"


def corrupted(task, document, how: str) -> str:
    """The gold target, or its first relation only, labels swapped, one made-up relation added, or nothing."""
    target = task.target(document)
    if how == "gold" or target == task.null_target:
        return task.null_target if how == "none" else target
    pieces = target.rstrip(".").split("; ")
    if how == "first":
        return pieces[0] + "."
    if how == "relabel":
        for old, new in SWAPS.items():
            pieces = [p.replace(old, new) for p in pieces]
    if how == "spurious":
        pieces.append(pieces[0].replace(pieces[0].split(" and ")[0], "the relation between aspirin"))
    return task.null_target if how == "none" else "; ".join(pieces) + "."


def _odds(model: str, setting: str) -> list[float]:
    """How often a model answers gold / first / relabel / spurious / none: a fixed skill per model, less in few-shot."""
    skill = 0.45 + (zlib.crc32(model.encode()) % 40) / 100
    skill *= {"full": 1.0, "k64": 0.7, "k16": 0.5, "zero-shot": 0.25}.get(setting, 0.5)
    rest = (1 - skill) / 4
    return [skill, rest * 1.4, rest, rest * 0.8, rest * 0.8]


def build_grid(out: Path, data_dir: Path, only: str | None = None) -> list[Path]:
    """Every run of experiments/paper.yaml (those matching the glob `only`) as a complete run folder under `out`."""
    planned = plan_grid(PAPER, out=out, data_dir=data_dir, only=only)
    models = load_models_file()
    corpora, records, folders = {}, {}, []
    for run in planned:
        task = get_task(run.dataset)
        if run.dataset not in corpora:
            documents = load_documents(run.dataset, run.split, data_dir)
            corpora[run.dataset] = documents, documents_hash(task, documents)
        documents, data_hash = corpora[run.dataset]
        draw = random.Random(f"{run.name}")
        chosen = []
        for document in documents:
            how = draw.choices(CORRUPTIONS, _odds(run.model, run.setting))[0]
            key = (run.dataset, document.id, how)
            if key not in records:  # one record per distinct output: the grid repeats them
                text = corrupted(task, document, how)
                records[key] = prediction_record(task, document, Generation(text, 400, 40, 0.05))
            chosen.append(records[key])
        manifest = {
            "model": models.get(run.model).model_dump(),
            "dataset": run.dataset,
            "split": run.split,
            "split_seed": split_seed_used(run.dataset),
            "documents": len(documents),
            "data_hash": data_hash,
            "task_version": task.version,
            "max_new_tokens": 512,
            "setting": run.setting,
            "seed": run.seed,
            "created": "2026-11-27T00:00:00+00:00",
            "environment": {"device": "cpu", "note": "bench/ui_grid.py: gold with seeded corruption, no model"},
        }
        metrics = metrics_json(score_records(task.name, documents, chosen))
        folders.append(finalize_run(run.folder, manifest, metrics, chosen))
    return folders
