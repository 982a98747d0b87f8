"""Run folders for UI tests, written from hand-made outputs over the fixture corpora (no model involved).

Each "model" answers each document with the gold target, part of it, a wrong relation or nothing, by a fixed
rule, so that the runs differ and every error bucket occurs. These numbers describe no real model: they stay
under tests/ and are never shown as results.
"""

from __future__ import annotations

from pathlib import Path

from bre_core.config import load_models_file
from bre_core.datasets import load_documents
from bre_core.models.generation import Generation
from bre_core.results import finalize_run, run_name
from bre_core.runner import documents_hash, prediction_record
from bre_core.scoring import score
from bre_core.tasks import get_task

# (dataset, split) of the fixture corpora that have documents with relations
SPLITS = [("chemprot", "train"), ("ddi", "test"), ("dce", "test")]
# model -> how it answers document i: "gold", "half" (first relation only), "wrong" (labels swapped), "none"
BEHAVIOUR = {
    "t5-base": ["gold", "half", "wrong"],
    "scifive-base": ["half", "gold", "none"],
    "flan-t5-base": ["gold", "gold", "half"],
}
SETTINGS = [("full", 42), ("k16", 0), ("k16", 1)]


def _answer(task, document, how: str) -> str:
    target = task.target(document)
    if how == "gold" or target == task.null_target:
        return target if how != "none" else task.null_target
    pieces = target.rstrip(".").split("; ")
    if how == "half":
        return pieces[0] + "."
    if how == "wrong":
        swapped = {"downregulation": "upregulation", "mechanism": "effect", "positive drug": "drug"}
        for old, new in swapped.items():
            pieces = [p.replace(old, new) for p in pieces]
        return "; ".join(pieces) + "; the relation between foo and bar is agonist."
    return task.null_target


def write_fixture_runs(root: Path, data_dir: Path) -> list[Path]:
    models = load_models_file()
    folders = []
    for dataset, split in SPLITS:
        task = get_task(dataset)
        documents = load_documents(dataset, split, data_dir)
        for name, behaviour in BEHAVIOUR.items():
            spec = models.get(name)
            for setting, seed in SETTINGS:
                shift = 0 if setting == "full" else seed + 1  # few-shot runs answer worse, differently per seed
                records = []
                for i, document in enumerate(documents):
                    how = (
                        behaviour[(i + shift) % len(behaviour)]
                        if setting == "full"
                        else "half"
                        if (i + shift) % 2
                        else "none"
                    )
                    text = _answer(task, document, how)
                    records.append(prediction_record(task, document, Generation(text, 100, 20, 0.05)))
                result = score(task, documents, {r.id: r.parse_result() for r in records})
                folder = root / run_name(name, dataset, split, setting, seed)
                manifest = {
                    "model": spec.model_dump(),
                    "dataset": dataset,
                    "split": split,
                    "split_seed": None,
                    "documents": len(documents),
                    "data_hash": documents_hash(task, documents),
                    "task_version": task.version,
                    "max_new_tokens": 512,
                    "setting": setting,
                    "seed": seed,
                    "created": "2026-11-27T00:00:00+00:00",
                    "environment": {"device": "cpu"},
                }
                finalize_run(folder, manifest, result.to_dict(), records)
                folders.append(folder)
    return folders
