"""Where each corpus lies on the Hugging Face hub: repository, revision, configs and the files of each split."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bre_core.datasets.hub_rows import CDR_KB, CDR_SOURCE, CHEMPROT_FULL, CHEMPROT_SHARED_TASK
from bre_core.errors import UnknownNameError

PARQUET_REVISION = "refs/convert/parquet"
# `allenai/drug-combo-extraction` @ "Add test set file" (May 2022): final_train_set.jsonl + final_test_set.jsonl.
DCE_REVISION = "8092b28c4f8490d234c1385bb385575ec7408330"

DDI_SOURCE = "ddi_corpus_source"

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class HubSource:
    """One corpus on the hub: repository, revision, and where the files of each split lie in it.

    `configs`: folders of the repository at `revision`, best first (the parquet export keeps one folder per config,
    with a folder per split inside); None means the repository's own files, named in `files` (split -> path).
    `seeded_validation`: the hub has train and test only; validation is the seeded share of train the local loader
    takes. `builder`: the `datasets` packaged builder that reads the files.
    """

    repo: str
    revision: str
    configs: tuple[str | None, ...]
    files: Mapping[str, str] | None = None
    seeded_validation: bool = False
    builder: str = "parquet"


HUB_SOURCES: dict[str, HubSource] = {
    "chemprot": HubSource("bigbio/chemprot", PARQUET_REVISION, (CHEMPROT_SHARED_TASK, CHEMPROT_FULL)),
    "cdr": HubSource("bigbio/bc5cdr", PARQUET_REVISION, (CDR_SOURCE, CDR_KB)),
    "ddi": HubSource("bigbio/ddi_corpus", PARQUET_REVISION, (DDI_SOURCE,), seeded_validation=True),
    "dce": HubSource(
        "allenai/drug-combo-extraction",
        DCE_REVISION,
        (None,),
        files={"train": "final_train_set.jsonl", "test": "final_test_set.jsonl"},
        seeded_validation=True,
        builder="json",
    ),
}


def hub_split(dataset: str, split: str) -> str:
    """The hub split whose rows make `split`: validation of DDI and DCE is cut from the hub's train split."""
    source = hub_source(dataset)
    return "train" if source.seeded_validation and split == "validation" else split


def hub_source(dataset: str) -> HubSource:
    if dataset not in HUB_SOURCES:
        raise UnknownNameError("dataset", dataset, sorted(HUB_SOURCES))
    return HUB_SOURCES[dataset]


def origin_of(source: HubSource, config: str | None, split: str) -> str:
    return f"{source.repo} [{config + ', ' if config else ''}{split}]"
