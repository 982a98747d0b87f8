"""ChemProt (BioCreative VI): the official abstracts / entities / gold-standard TSVs -> Documents."""

from __future__ import annotations

from pathlib import Path

from bre_core.datasets.files import iter_tsv, require_file, to_int
from bre_core.errors import DataError
from bre_core.schema import Document, Entity, Relation

SEEDED_VALIDATION = False  # the official release has a development set
NAME = "chemprot"
FOLDER = "chemprot"
# Split -> (release folder, file stem, suffix of the test files).
_RELEASE = {
    "train": ("chemprot_training", "chemprot_training", ""),
    "validation": ("chemprot_development", "chemprot_development", ""),
    "test": ("chemprot_test_gs", "chemprot_test", "_gs"),
}


def split_files(split: str) -> dict[str, str]:
    """The files of one split ({"abstracts", "entities", "gold"}), relative to the data folder."""
    folder, stem, suffix = _RELEASE[split]
    base = f"{FOLDER}/original/{folder}/{stem}"
    return {
        "abstracts": f"{base}_abstracts{suffix}.tsv",
        "entities": f"{base}_entities{suffix}.tsv",
        "gold": f"{base}_gold_standard.tsv",
    }


def files() -> list[str]:
    return [path for split in _RELEASE for path in split_files(split).values()]


def load_split(data_dir: Path, split: str, split_seed: int | None = None) -> list[Document]:
    paths = {key: require_file(data_dir / rel, NAME, data_dir) for key, rel in split_files(split).items()}

    texts: dict[str, str] = {}
    for line, (pmid, title, abstract) in iter_tsv(paths["abstracts"], 3):
        if pmid in texts:
            raise DataError(f"PMID {pmid} appears twice.", path=paths["abstracts"], line=line)
        texts[pmid] = f"{title} {abstract}"  # offsets count over title + one separator + abstract

    entities: dict[str, list[Entity]] = {pmid: [] for pmid in texts}
    for line, (pmid, tid, etype, start, end, mention) in iter_tsv(paths["entities"], 6):
        _known(pmid, entities, paths, "entities", line)
        span = (
            to_int(start, "start offset", paths["entities"], line),
            to_int(end, "end offset", paths["entities"], line),
        )
        # A file cut inside an abstract or a mention still has its columns; only the offsets show it.
        found = texts[pmid][span[0] : span[1]]
        if found != mention:
            raise DataError(
                f"entity {tid} {mention!r} is not the text at offsets {start}-{end} of PMID {pmid} ({found!r}).",
                path=paths["entities"],
                line=line,
                hint=f"This file or {paths['abstracts']} is truncated or not the official release; download it again.",
            )
        entities[pmid].append(Entity(id=tid, type=etype, names=(mention,), spans=(span,)))

    relations: dict[str, list[Relation]] = {pmid: [] for pmid in texts}
    for line, (pmid, group, arg1, arg2) in iter_tsv(paths["gold"], 4):
        _known(pmid, relations, paths, "gold", line)
        args = (_arg(arg1, "Arg1", paths["gold"], line), _arg(arg2, "Arg2", paths["gold"], line))
        known = {e.id for e in entities[pmid]}
        for arg in args:
            if arg not in known:
                raise DataError(
                    f"relation argument {arg} is not an entity of PMID {pmid} in {paths['entities']}.",
                    path=paths["gold"],
                    line=line,
                    hint="One of the two files is truncated or not the official release; download it again.",
                )
        relations[pmid].append(Relation(label=group.strip(), args=args))

    return [
        Document(
            id=pmid,
            dataset=NAME,
            split=split,
            text=text,
            entities=tuple(entities[pmid]),
            relations=tuple(relations[pmid]),
        )
        for pmid, text in texts.items()
    ]


def _known(pmid: str, table: dict, paths: dict[str, Path], key: str, line: int) -> None:
    if pmid not in table:
        raise DataError(
            f"PMID {pmid} is not in the abstracts file of this split, {paths['abstracts']}.",
            path=paths[key],
            line=line,
            hint="That file is truncated or from another split; download the corpus again.",
        )


def _arg(cell: str, role: str, path: Path, line: int) -> str:
    prefix = f"{role}:"
    if not cell.startswith(prefix):
        raise DataError(f"expected '{prefix}T<n>', found {cell!r}.", path=path, line=line)
    return cell[len(prefix) :]
