"""Corpus files checked before they are read: never empty or cut short, and official where they are meant to be.

A corpus's files are taken as its official release when any of them has the SHA-256 that `data download`
records; a file of an official release that differs is named once, and one cut inside its last document or
with fewer documents than its split has is an error. Files none of which match are user-supplied files in the
official format (hand-made corpora, such as the tests' fixtures): only empty files and unfinished last lines
are errors there. Each load says which it assumed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from bre_core.datasets.releases import CHECKSUMS
from bre_core.errors import DataError

log = logging.getLogger(__name__)

# Documents in each official file that holds one per record (PAPER.md, "Data, as the study prepared it").
OFFICIAL_DOCUMENTS = {
    "bc5cdr/CDR_TrainingSet.PubTator.txt": 500,
    "bc5cdr/CDR_DevelopmentSet.PubTator.txt": 500,
    "bc5cdr/CDR_TestSet.PubTator.txt": 500,
    "chemprot/original/chemprot_training/chemprot_training_abstracts.tsv": 1020,
    "chemprot/original/chemprot_development/chemprot_development_abstracts.tsv": 612,
    "chemprot/original/chemprot_test_gs/chemprot_test_abstracts_gs.tsv": 800,
    "ddi/bigbio_source/train.jsonl": 714,
    "ddi/bigbio_source/test.jsonl": 303,
    "dce/final_train_set.jsonl": 1362,
    "dce/final_test_set.jsonl": 272,
}
# Training documents of each corpus with the study's validation split (DDI 714 - 143, DCE 1,362 - 273).
TRAIN_DOCUMENTS = {"chemprot": 1020, "cdr": 500, "ddi": 571, "dce": 1089}
OFFICIAL, USER_SUPPLIED = "official release", "user-supplied files in the official format"


def check_corpus(dataset: str, data_dir: Path, corpus_files: Iterable[str], split_files: Iterable[str]) -> str:
    """Check the files one split is read from; returns which kind the corpus was taken as.

    `corpus_files` are all the corpus's files (they decide official or user-supplied), `split_files` those read.
    """
    present = [rel for rel in corpus_files if (data_dir / rel).is_file()]
    official = any(_sha256(data_dir / rel) == CHECKSUMS.get(rel) for rel in present)
    fix = f"Download it again: python -m bre_core data download --dataset {dataset} --force"
    for rel in split_files:
        path = data_dir / rel
        if not path.is_file():
            continue  # the loader names a missing file and how to get it
        _check_not_cut(path, fix, official)
        if official and _sha256(path) != CHECKSUMS.get(rel):
            _warn_differs(str(path), dataset)
            expected = OFFICIAL_DOCUMENTS.get(rel)
            found = count_documents(path)
            if expected is not None and found < expected:
                raise DataError(
                    f"{found} documents where the official release has {expected}: the file is cut short after "
                    "this line.",
                    path=path,
                    line=path.read_bytes().count(b"\n"),
                    hint=fix,
                )
    _say_assumed(dataset, str(data_dir), OFFICIAL if official else USER_SUPPLIED)
    return OFFICIAL if official else USER_SUPPLIED


def count_documents(path: Path) -> int:
    """Records in a corpus file: blank-line separated blocks (PubTator), else non-blank lines."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    if path.name.endswith(".PubTator.txt"):
        return sum(1 for block in text.split("\n\n") if block.strip())
    return sum(1 for line in text.splitlines() if line.strip())


def _check_not_cut(path: Path, fix: str, official: bool) -> None:
    """An empty file, or one whose last line is unfinished, is an error at that line; in an official release,
    also a PubTator file whose last document has no closing blank line (hand-made files may omit it)."""
    data = path.read_bytes()
    last_line = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if not data.strip():
        raise DataError("the file is empty: it holds no records.", path=path, line=1, hint=fix)
    if not data.endswith(b"\n"):
        raise DataError(
            "the file ends in the middle of this line: it is cut short.", path=path, line=last_line, hint=fix
        )
    if official and path.name.endswith(".PubTator.txt") and not data.endswith(b"\n\n"):
        # Each PubTator document ends with a blank line: without one the last document is cut.
        raise DataError(
            "the last document has no closing blank line: the file is cut short.", path=path, line=last_line, hint=fix
        )


def _sha256(path: Path) -> str:
    status = os.stat(path)
    return _sha256_of(str(path), status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:  # size and time: a rewritten file is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _warn_differs(path: str, dataset: str) -> None:  # once per file and process
    log.warning("%s differs from the official %s release (SHA-256); it is read as it is.", path, dataset)


@functools.cache
def _say_assumed(dataset: str, data_dir: str, kind: str) -> None:
    (log.info if kind == OFFICIAL else log.warning)("%s in %s: read as the %s.", dataset, data_dir, kind)
