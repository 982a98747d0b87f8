"""CDR (BioCreative V chemical-induced disease): the official PubTator files -> Documents.

Entities are MeSH concepts. A concept's names are every mention text normalised to it, plus the
individual parts of composite mentions (PubTator's 7th column), as the BioC release lists them and
the study used them. Mentions that could not be normalised (id -1) form no entity.
"""

from __future__ import annotations

from pathlib import Path

from bre_core.datasets.files import iter_lines, require_file, to_int
from bre_core.errors import DataError
from bre_core.schema import Document, Entity, Relation

SEEDED_VALIDATION = False  # the official release has a development set
NAME = "cdr"
FOLDER = "bc5cdr"
_FILES = {
    "train": f"{FOLDER}/CDR_TrainingSet.PubTator.txt",
    "validation": f"{FOLDER}/CDR_DevelopmentSet.PubTator.txt",
    "test": f"{FOLDER}/CDR_TestSet.PubTator.txt",
}


def files() -> list[str]:
    return list(_FILES.values())


def split_files(split: str) -> list[str]:
    """The files a split is read from, relative to the data folder."""
    return [_FILES[split]]


def load_split(data_dir: Path, split: str, split_seed: int | None = None) -> list[Document]:
    path = require_file(data_dir / _FILES[split], NAME, data_dir)
    documents = []
    block: list[tuple[int, str]] = []
    for number, line in iter_lines(path):
        if line.strip():
            block.append((number, line))
        elif block:
            documents.append(_document(block, path, split))
            block = []
    if block:
        documents.append(_document(block, path, split))
    return documents


class Concepts:
    """The MeSH concepts of one document, gathered mention by mention: type, distinct names, spans."""

    def __init__(self):
        self._by_id: dict[str, tuple[str, dict[str, None], list[tuple[int, int]]]] = {}

    def add(self, concept_id: str, etype: str, name: str | None = None, span: tuple[int, int] | None = None):
        if concept_id in ("-1", ""):
            return  # a mention that could not be normalised forms no entity
        _, names, spans = self._by_id.setdefault(concept_id, (etype, {}, []))
        if name:
            names.setdefault(name, None)
        if span is not None and span not in spans:
            spans.append(span)

    def entities(self, relations: list[Relation]) -> tuple[Entity, ...]:
        for relation in relations:
            for concept_id, etype in zip(relation.args, ("Chemical", "Disease")):
                # A CID concept with no mention in the text keeps an empty name list: it cannot be generated.
                self.add(concept_id, etype)
        return tuple(
            Entity(id=cid, type=etype, names=tuple(names), spans=tuple(spans))
            for cid, (etype, names, spans) in self._by_id.items()
        )


def _document(block: list[tuple[int, str]], path: Path, split: str) -> Document:
    (title_line, title_row), (abstract_line, abstract_row) = _header(block, path)
    pmid, _, title = title_row.split("|", 2)
    apmid, _, abstract = abstract_row.split("|", 2)
    if apmid != pmid:
        raise DataError(f"abstract line is for PMID {apmid}, title for {pmid}.", path=path, line=abstract_line)

    concepts = Concepts()
    relations: list[Relation] = []
    for number, line in block[2:]:
        cells = line.split("\t")
        owner = cells[0].split("|", 1)[0]
        if owner != pmid:
            raise DataError(
                f"line belongs to PMID {owner} inside the block of PMID {pmid} "
                "(documents must be separated by a blank line).",
                path=path,
                line=number,
            )
        if len(cells) == 4 and cells[1] == "CID":
            relations.append(Relation(label="CID", args=(cells[2], cells[3])))
        elif len(cells) in (6, 7):
            span = (to_int(cells[1], "start offset", path, number), to_int(cells[2], "end offset", path, number))
            mention, etype, ids = cells[3], cells[4], cells[5].split("|")
            parts = cells[6].split("|") if len(cells) == 7 else []
            for i, concept_id in enumerate(ids):
                concepts.add(concept_id, etype, mention, span)
                if len(parts) == len(ids):
                    concepts.add(concept_id, etype, parts[i])
        else:
            raise DataError(
                f"expected a mention (6 or 7 columns) or a CID relation (4 columns), found "
                f"{len(cells)} columns: {line[:120]!r}",
                path=path,
                line=number,
            )

    return Document(
        id=pmid,
        dataset=NAME,
        split=split,
        text=f"{title} {abstract}",
        entities=concepts.entities(relations),
        relations=tuple(relations),
    )


def _header(block, path):
    if len(block) < 2 or "|t|" not in block[0][1] or "|a|" not in block[1][1]:
        raise DataError(
            "expected a 'PMID|t|title' line followed by a 'PMID|a|abstract' line.",
            path=path,
            line=block[0][0],
            hint="The file is truncated or not in PubTator format.",
        )
    return block[0], block[1]
