"""Run folders for UI tests, written from hand-made outputs over the fixture corpora (no model involved).

Each "model" answers each document with the gold target, part of it, a wrong relation or nothing, by a fixed
rule, so that the runs differ and every error bucket occurs. These numbers describe no real model: they stay
under tests/ and are never shown as results.

Every run holds both scoring protocols (study and corrected), as runs written now do, except OLD_RUN, written
as runs were before protocols existed (one block of corrected metrics), so that reading it as corrected stays
tested. DDI test document Lithium_ddi lists (Diuretics, lithium, MECHANISM) twice: the study's protocol counts
it twice, so a gold answer has recall 1/2 there, and DDI runs score lower under the study than corrected.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bre_core.config import load_models_file
from bre_core.datasets import load_documents
from bre_core.models.generation import Generation
from bre_core.runs import documents_hash, finalize_run, metrics_json, prediction_record, run_name, score_records
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
# The one run folder written before protocols: its DDI pairs are compared under the corrected protocol.
OLD_RUN = "t5-base__ddi__test__full__seed42"


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


def write_run(
    root: Path,
    model: str,
    dataset: str,
    split: str,
    outputs: dict[str, str],
    data_dir: Path,
    setting: str = "full",
    seed: int | None = 42,
    old: bool = False,
) -> Path:
    """A complete run folder of a models.yaml model whose outputs are given per document id (the null sentence
    elsewhere); scored under both protocols, or written as before protocols (`old`)."""
    task = get_task(dataset)
    documents = load_documents(dataset, split, data_dir)
    records = [
        prediction_record(task, d, Generation(outputs.get(d.id, task.null_target), 100, 20, 0.05)) for d in documents
    ]
    if old:  # records and metrics.json as before protocols: the corrected protocol's only
        records = [replace(r.under("corrected"), judgements={}) for r in records]
        metrics = score(task, documents, {r.id: r.parse_result() for r in records}).to_dict()
    else:
        metrics = metrics_json(score_records(task.name, documents, records))
    manifest = {
        "model": load_models_file().get(model).model_dump(),
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
    return finalize_run(root / run_name(model, dataset, split, setting, seed), manifest, metrics, records)


def write_fixture_runs(root: Path, data_dir: Path) -> list[Path]:
    folders = []
    for dataset, split in SPLITS:
        task = get_task(dataset)
        documents = load_documents(dataset, split, data_dir)
        for name, behaviour in BEHAVIOUR.items():
            for setting, seed in SETTINGS:
                shift = 0 if setting == "full" else seed + 1  # few-shot runs answer worse, differently per seed
                outputs = {}
                for i, document in enumerate(documents):
                    how = (
                        behaviour[(i + shift) % len(behaviour)]
                        if setting == "full"
                        else "half"
                        if (i + shift) % 2
                        else "none"
                    )
                    outputs[document.id] = _answer(task, document, how)
                old = run_name(name, dataset, split, setting, seed) == OLD_RUN
                folders.append(write_run(root, name, dataset, split, outputs, data_dir, setting, seed, old))
    return folders
