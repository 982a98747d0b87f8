"""DCE (Drug Combination Extraction, allenai/drug-combo-extraction): one sentence per Document.

Relations are n-ary drug combinations. NEG is merged into COMB, as the official evaluation and the study
do. The corpus has official train and test sets only; validation is a seeded 20% of train.
"""

from __future__ import annotations

from pathlib import Path

from bre_core.datasets.files import field, iter_jsonl, require_file
from bre_core.datasets.splits import DEFAULT_SPLIT_SEED, seeded_split
from bre_core.errors import DataError
from bre_core.schema import Document, Entity, Relation

NAME = "dce"
FOLDER = "dce"
# Validation is not official: a seeded share of train, so runs must record the seed.
SEEDED_VALIDATION = True
_FILES = {"train": f"{FOLDER}/final_train_set.jsonl", "test": f"{FOLDER}/final_test_set.jsonl"}
CLASS_MAP = {"POS": "POS", "COMB": "COMB", "NEG": "COMB"}


def files() -> list[str]:
    return list(_FILES.values())


def split_files(split: str) -> list[str]:
    """The files a split is read from (validation is cut from train), relative to the data folder."""
    return [_FILES["test" if split == "test" else "train"]]


def load_split(data_dir: Path, split: str, split_seed: int | str | None = DEFAULT_SPLIT_SEED) -> list[Document]:
    source = "test" if split == "test" else "train"
    path = require_file(data_dir / _FILES[source], NAME, data_dir)
    rows = seeded_split(list(iter_jsonl(path)), split, split_seed, NAME)
    return [document_from_row(row, split, path, line) for line, row in rows]


def document_from_row(row: dict, split: str, path: Path | str = "<row>", line: int = 0) -> Document:
    """One drug-combo-extraction record (local file or hub) -> Document."""
    entities = []
    for span in field(row, "spans", path, line, list):
        entities.append(
            Entity(
                id=str(span["span_id"]),
                type="DRUG",
                names=(str(span["text"]),),
                spans=((int(span["start"]), int(span["end"])),),
            )
        )
    ids = {e.id for e in entities}
    relations = []
    for rel in field(row, "rels", path, line, list):
        label = CLASS_MAP.get(rel.get("class"))
        if label is None:
            raise DataError(
                f"unknown relation class {rel.get('class')!r}; expected one of {', '.join(CLASS_MAP)}.",
                path=path,
                line=line,
            )
        args = tuple(str(s) for s in rel.get("spans", []))
        if len(args) < 2 or any(a not in ids for a in args):
            raise DataError(
                f"relation spans {list(args)} must name at least two spans of the sentence.", path=path, line=line
            )
        relations.append(Relation(label=label, args=args))
    return Document(
        id=str(field(row, "doc_id", path, line, str)),
        dataset=NAME,
        split=split,
        text=field(row, "sentence", path, line, str),
        entities=tuple(entities),
        relations=tuple(relations),
    )
