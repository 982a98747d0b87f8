"""Corpus statistics per split: documents, relations as scored, annotations, labels and the format ceiling."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bre_core.datasets import SPLITS, STUDY_SPLIT, load_documents, split_seed_used
from bre_core.schema import Document
from bre_core.scoring import format_ceiling
from bre_core.tasks import CORRECTED, PROTOCOLS, STUDY, get_task


def split_stats(dataset: str, documents: Sequence[Document]) -> dict:
    """Counts of one split and its format ceilings.

    `ceiling` has, per protocol, gold -> the target `data export` writes -> parser -> score under that protocol,
    and "study_targets": the study protocol on the targets as the study wrote them (CDR: max() names).
    `ceiling_f1` and `ceiling_macro_f1` are the corrected protocol's, as before protocols existed.
    """
    task = get_task(dataset)
    by_label: Counter[str] = Counter()
    for document in documents:
        by_label.update(key[0] for key in task.gold_keys(document))
    ceilings = {name: format_ceiling(get_task(dataset, name, CORRECTED), documents) for name in PROTOCOLS}
    ceilings["study_targets"] = format_ceiling(get_task(dataset, STUDY, STUDY), documents)
    return {
        "documents": len(documents),
        "relations": sum(by_label.values()),
        "annotated": sum(len(document.relations) for document in documents),
        "by_label": {label: by_label[label] for label in sorted(by_label)},
        "ceiling_f1": ceilings[CORRECTED.name].micro.f1,
        "ceiling_macro_f1": ceilings[CORRECTED.name].macro_f1,
        "ceiling": {name: _ceiling(score) for name, score in ceilings.items()},
    }


def _ceiling(score) -> dict:
    micro = score.micro
    return {"tp": micro.tp, "fp": micro.fp, "fn": micro.fn, "f1": micro.f1, "macro_f1": score.macro_f1}


def dataset_stats(
    dataset: str,
    data_dir=None,
    *,
    splits: Sequence[str] = SPLITS,
    source: str = "files",
    split_seed: int | str = STUDY_SPLIT,
) -> dict:
    """{"dataset": NAME, "split_seed": seed or None, "splits": {split: split_stats}} for the requested splits."""
    return {
        "dataset": dataset,
        "split_seed": split_seed_used(dataset, split_seed),
        "splits": {
            split: split_stats(dataset, load_documents(dataset, split, data_dir, source=source, split_seed=split_seed))
            for split in splits
        },
    }
