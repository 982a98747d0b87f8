"""The study's four corpora as Documents, from official release files (or the Hugging Face hub)."""

from __future__ import annotations

import os
from types import ModuleType

from bre_core.datasets import cdr, chemprot, dce, ddi
from bre_core.datasets.files import resolve_data_dir
from bre_core.datasets.integrity import check_corpus
from bre_core.datasets.splits import DEFAULT_SPLIT_SEED, STUDY_SPLIT, check_split_seed
from bre_core.errors import UnknownNameError
from bre_core.schema import Document

DATASETS: dict[str, ModuleType] = {"cdr": cdr, "chemprot": chemprot, "ddi": ddi, "dce": dce}
SPLITS = ("train", "validation", "test")
SOURCES = ("files", "hub")


def check_dataset(name: str) -> str:
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, sorted(DATASETS))
    return name


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise UnknownNameError("split", split, SPLITS)
    return split


def load_documents(
    dataset: str,
    split: str,
    data_dir: str | os.PathLike | None = None,
    *,
    source: str = "files",
    split_seed: int | str = DEFAULT_SPLIT_SEED,
) -> list[Document]:
    """The documents of one split, in corpus order.

    source="files" reads the official release files under `data_dir` (else $BRE_DATA_DIR, else ./data);
    source="hub" reads the same corpus from the Hugging Face hub through `datasets`.
    `split_seed` decides the validation split of DDI and DCE (ignored by corpora with an official one): an
    integer seed, or "study" for the study's own validation documents.
    """
    module = DATASETS[check_dataset(dataset)]
    check_split(split)
    split_seed = check_split_seed(split_seed)
    if source == "hub":
        from bre_core.datasets import hub  # imports `datasets` only when asked for

        return hub.load_split(dataset, split, split_seed=split_seed)
    if source != "files":
        raise UnknownNameError("data source", source, SOURCES)
    data_dir = resolve_data_dir(data_dir)
    documents = module.load_split(data_dir, split, split_seed)  # its errors name the line; then the whole files
    split_files = module.split_files(split)
    check_corpus(
        dataset, data_dir, module.files(), list(split_files.values() if isinstance(split_files, dict) else split_files)
    )
    return documents


def split_seed_used(dataset: str, split_seed: int | str = DEFAULT_SPLIT_SEED) -> int | str | None:
    """What decides this corpus's train/validation split (a seed, or "study"), or None where it is official."""
    return split_seed if DATASETS[check_dataset(dataset)].SEEDED_VALIDATION else None


def dataset_files(dataset: str) -> list[str]:
    """Every file a corpus needs, relative to the data folder."""
    return DATASETS[check_dataset(dataset)].files()


__all__ = [
    "DATASETS",
    "SPLITS",
    "load_documents",
    "dataset_files",
    "split_seed_used",
    "STUDY_SPLIT",
    "check_dataset",
    "check_split",
    "resolve_data_dir",
]
