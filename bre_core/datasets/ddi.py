"""DDI-2013 in the `bigbio/ddi_corpus` source layout (JSON lines) -> Documents.

The corpus has official train and test sets only; validation is a seeded 20% of the train documents.
"""

from __future__ import annotations

from pathlib import Path

from bre_core.datasets.files import field, iter_jsonl, require_file
from bre_core.datasets.splits import DEFAULT_SPLIT_SEED, seeded_split
from bre_core.errors import DataError
from bre_core.schema import Document, Entity, Relation

NAME = "ddi"
FOLDER = "ddi"
# Validation is not official: a seeded share of train, so runs must record the seed.
SEEDED_VALIDATION = True
_FILES = {"train": f"{FOLDER}/bigbio_source/train.jsonl", "test": f"{FOLDER}/bigbio_source/test.jsonl"}


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
    """One `ddi_corpus_source` record (local file or hub) -> Document."""
    entities = []
    for entity in field(row, "entities", path, line, list):
        offsets = entity.get("offsets") or []
        # The hub keeps only the first fragment of a discontinuous mention; accept both shapes.
        if offsets and isinstance(offsets[0], (list, tuple)):
            offsets = offsets[0]
        span = (tuple(int(x) for x in offsets),) if len(offsets) == 2 else ()
        entities.append(
            Entity(
                id=str(field(entity, "id", path, line)),
                type=str(field(entity, "type", path, line)),
                names=(str(field(entity, "text", path, line)),),
                spans=span,
            )
        )
    ids = {e.id for e in entities}
    relations = []
    for relation in field(row, "relations", path, line, list):
        args = tuple(
            str(field(field(relation, end, path, line, dict), "ref_id", path, line)) for end in ("head", "tail")
        )
        missing = [a for a in args if a not in ids]
        if missing:
            raise DataError(
                f"relation {relation.get('id')} points at unknown entity {missing[0]}.", path=path, line=line
            )
        relations.append(Relation(label=str(field(relation, "type", path, line)), args=args))
    return Document(
        id=str(field(row, "document_id", path, line, str)),
        dataset=NAME,
        split=split,
        text=field(row, "text", path, line, str),
        entities=tuple(entities),
        relations=tuple(relations),
    )
