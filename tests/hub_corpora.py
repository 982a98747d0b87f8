"""The four corpora as the hub holds them, converted from the official files: bigbio parquet exports and DCE's files.

bigbio/chemprot, bigbio/bc5cdr and bigbio/ddi_corpus: `main` holds the loading script; the `refs/convert/parquet`
ref holds `{config}/{split}/0000.parquet`, one folder per config, written with the `datasets.Features` of the
bigbio scripts (bigscience-workshop/biomedical) from rows shaped as their `_generate_examples` yields them.
allenai/drug-combo-extraction: the release files at the commit bre_core pins, and a later commit on `main` that
changes the test file (reading `main` instead of the pin would change the figures).
"""

from __future__ import annotations

import json
import random
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from hub_standin import write_commit

from bre_core.datasets import chemprot as local_chemprot
from bre_core.datasets.hub_sources import DCE_REVISION, PARQUET_REVISION

CHEMPROT_SHARED_TASK, CHEMPROT_FULL = "chemprot_shared_task_eval_source", "chemprot_full_source"
CDR_SOURCE = "bc5cdr_source"
CDR_FILES = {"train": "CDR_TrainingSet", "validation": "CDR_DevelopmentSet", "test": "CDR_TestSet"}
SPLITS = ("train", "validation", "test")


def build_corpus_repos(root: Path, data_dir: Path, work: Path) -> None:
    """The hub's repositories of the four corpora, from the official files in `data_dir`."""
    _bigbio(root, "bigbio/chemprot", _chemprot_configs(data_dir), work / "chemprot")
    _bigbio(root, "bigbio/bc5cdr", _cdr_configs(data_dir), work / "bc5cdr")
    ddi = {
        split: _shuffled(_read_jsonl(data_dir / "ddi" / "bigbio_source" / f"{split}.jsonl"))
        for split in ("train", "test")
    }
    _bigbio(root, "bigbio/ddi_corpus", {"ddi_corpus_source": ("ddi", ddi)}, work / "ddi")
    _dce(root, data_dir / "dce")


def _bigbio(root: Path, repo_id: str, configs: dict[str, tuple[str, dict]], work: Path) -> None:
    name = repo_id.split("/")[1]
    script = f'"""The {name} loading script (datasets >= 4 no longer runs it: read the parquet export)."""\n'
    write_commit(root, "dataset", repo_id, {f"{name}.py": script.encode(), "README.md": b"---\n---\n"}, "Add script")
    files = {}
    for config, (features, splits) in configs.items():
        for split, rows in splits.items():
            path = work / config / split / "0000.parquet"
            _write_parquet(rows, features, path)
            files[f"{config}/{split}/0000.parquet"] = path.read_bytes()
    write_commit(root, "dataset", repo_id, files, "Update parquet files", branch=PARQUET_REVISION)


def _dce(root: Path, folder: Path) -> None:
    names = ("final_train_set.jsonl", "final_test_set.jsonl")
    released = {name: (folder / name).read_bytes() for name in names}
    write_commit(root, "dataset", "allenai/drug-combo-extraction", released, "Add test set file", sha=DCE_REVISION)
    later = released["final_test_set.jsonl"].splitlines(keepends=True)[:-1]
    write_commit(root, "dataset", "allenai/drug-combo-extraction", {names[1]: b"".join(later)}, "Update test set")


# --- rows as the bigbio scripts yield them ------------------------------------------------------------------


def _chemprot_configs(data_dir: Path) -> dict:
    configs = {CHEMPROT_SHARED_TASK: ("chemprot", {s: _chemprot_rows(data_dir, s, gold=True) for s in SPLITS})}
    configs[CHEMPROT_SHARED_TASK][1]["sample"] = configs[CHEMPROT_SHARED_TASK][1]["train"][:3]  # the script's extra
    if all(_relations_file(data_dir, s).is_file() for s in SPLITS):  # the full release has every relation too
        configs[CHEMPROT_FULL] = ("chemprot", {s: _chemprot_rows(data_dir, s, gold=False) for s in SPLITS})
    return configs


def _relations_file(data_dir: Path, split: str) -> Path:
    entities = data_dir / local_chemprot.split_files(split)["entities"]
    return entities.with_name(entities.name.replace("_entities", "_relations"))


def _chemprot_rows(data_dir: Path, split: str, gold: bool) -> list[dict]:
    """text = title + "\\n" + abstract; relations from the gold standard (eval config) or from every relation."""
    files = {key: data_dir / rel for key, rel in local_chemprot.split_files(split).items()}
    abstracts = {cells[0]: "\n".join(cells[1:]) for cells in _tsv(files["abstracts"])}
    entities, relations = {}, {}
    for pmid, tid, label, start, end, name in _tsv(files["entities"]):
        entities.setdefault(pmid, []).append(
            {"id": tid, "type": label, "text": name, "offsets": [int(start), int(end)]}
        )
    source = files["gold"] if gold else _relations_file(data_dir, split)
    for cells in _tsv(source):
        pmid, label, arg1, arg2 = cells[0], cells[1], cells[-2], cells[-1]
        relations.setdefault(pmid, []).append({"type": label, "arg1": arg1[5:], "arg2": arg2[5:]})  # "Arg1:T1"
    return [
        {
            "pmid": pmid,
            "text": text,
            "entities": _columns(entities.get(pmid, []), ("id", "type", "text", "offsets")),
            "relations": _columns(relations.get(pmid, []), ("type", "arg1", "arg2")),
        }
        for pmid, text in abstracts.items()
    ]


def _cdr_configs(data_dir: Path) -> dict:
    folder = data_dir / "bc5cdr"
    # The export also has bc5cdr_bigbio_kb, the loader's fallback (tested in test_hub.py): left out to save time.
    return {CDR_SOURCE: ("cdr", {s: _cdr_source_rows(folder, CDR_FILES[s]) for s in SPLITS})}


def _cdr_source_rows(folder: Path, stem: str) -> list[dict]:
    """From the BioC XML of the release (as the script reads it), or from PubTator where only that is at hand."""
    bioc = folder / f"{stem}.BioC.xml"
    if bioc.is_file():
        return [_bioc_row(document) for document in ET.parse(bioc).getroot().iter("document")]
    blocks = (folder / f"{stem}.PubTator.txt").read_text(encoding="utf-8").strip().split("\n\n")
    return [_pubtator_row(block.splitlines()) for block in blocks if block.strip()]


def _bioc_row(document) -> dict:
    relations = []
    for relation in document.findall("relation"):
        infons = {i.get("key"): i.text for i in relation.findall("infon")}
        relations.append(_cid(relation.get("id"), infons["Chemical"], infons["Disease"]))
    passages = []
    for passage in document.findall("passage"):
        entities = []
        for annotation in passage.findall("annotation"):
            infons = {i.get("key"): i.text for i in annotation.findall("infon")}
            offsets = [
                [int(loc.get("offset")), int(loc.get("offset")) + int(loc.get("length"))]
                for loc in annotation.findall("location")
            ]
            texts = _fragment_texts(annotation.findtext("text"), offsets)
            entities.append(_cdr_entity(annotation.get("id"), offsets, texts, infons["type"], infons.get("MESH", "-1")))
        kind = {i.get("key"): i.text for i in passage.findall("infon")}["type"]
        text = passage.findtext("text") or ""
        passages.append(_passage(document.findtext("id"), kind, text, entities, relations))
    return {"passages": passages}


def _fragment_texts(text: str, offsets: list[list[int]]) -> list[str]:
    """The text of each location of a discontinuous annotation (bigbio's get_texts_and_offsets_from_bioc_ann)."""
    if len(offsets) == 1:
        return [text]
    texts, i = [], 0
    for start, end in offsets:
        texts.append(text[i : i + end - start])
        i += end - start
        while i < len(text) and text[i] == " ":
            i += 1
    return texts


def _pubtator_row(lines: list[str]) -> dict:
    """A BioC-shaped row from PubTator: title and abstract passages; a composite mention's parts (7th column) follow
    it as annotations inside its span, each with the id at its position, as BioC lists them."""
    pmid, _, title = lines[0].split("|", 2)
    abstract = lines[1].split("|", 2)[2]
    entities, relations = {"title": [], "abstract": []}, []
    for line in lines[2:]:
        cells = line.split("\t")
        if cells[1] == "CID":
            relations.append(_cid(f"R{len(relations)}", cells[2], cells[3]))
            continue
        start, end, mention, etype, ids = int(cells[1]), int(cells[2]), cells[3], cells[4], cells[5]
        where = "title" if start < len(title) else "abstract"
        number = sum(map(len, entities.values()))
        entities[where].append(_cdr_entity(str(number), [[start, end]], [mention], etype, ids))
        parts = cells[6].split("|") if len(cells) == 7 else []
        for i, part in enumerate(parts):
            part_id = ids.split("|")[i] if len(parts) == len(ids.split("|")) else "-1"
            entities[where].append(_cdr_entity(f"{number}.{i}", [[start, end]], [part], etype, part_id))
    return {
        "passages": [
            _passage(pmid, "title", title, entities["title"], relations),
            _passage(pmid, "abstract", abstract, entities["abstract"], relations),
        ]
    }


def _cid(relation_id: str, chemical: str, disease: str) -> dict:
    return {"id": relation_id, "type": "CID", "arg1_id": chemical, "arg2_id": disease}


def _cdr_entity(entity_id: str, offsets, texts, etype: str, mesh: str) -> dict:
    normalized = [{"db_name": "MESH", "db_id": i} for i in ([] if mesh == "-1" else mesh.split("|"))]
    return {"id": entity_id, "offsets": offsets, "text": texts, "type": etype, "normalized": normalized}


def _passage(document_id: str, kind: str, text: str, entities: list, relations: list) -> dict:
    # bigbio's source schema repeats the document's relations in every passage.
    return {"document_id": document_id, "type": kind, "text": text, "entities": entities, "relations": relations}


# --- files ------------------------------------------------------------------------------------------------------


def _features(name: str):
    """The `datasets.Features` of the bigbio source schemas, as the parquet export stores them."""
    from datasets import Features, Sequence, Value

    string = Value("string")
    if name == "chemprot":
        entity = {"id": string, "type": string, "text": string, "offsets": Sequence(Value("int64"))}
        relation = {"type": string, "arg1": string, "arg2": string}
        return Features({"pmid": string, "text": string, "entities": Sequence(entity), "relations": Sequence(relation)})
    if name == "ddi":
        entity = {"offsets": Sequence(Value("int32")), "text": string, "type": string, "id": string}
        role = {"ref_id": string, "role": string}
        relation = {"id": string, "head": role, "tail": role, "type": string}
        return Features({"document_id": string, "text": string, "entities": [entity], "relations": [relation]})
    entity = {
        "id": string,
        "offsets": [[Value("int32")]],
        "text": [string],
        "type": string,
        "normalized": [{"db_name": string, "db_id": string}],
    }
    relation = {"id": string, "type": string, "arg1_id": string, "arg2_id": string}
    passage = {"document_id": string, "type": string, "text": string, "entities": [entity], "relations": [relation]}
    return Features({"passages": [passage]})


def _write_parquet(rows: list[dict], features: str, path: Path) -> None:
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    table = datasets.Dataset.from_list(rows, features=_features(features))
    table.to_parquet(str(path))


def _columns(records: list[dict], keys: tuple[str, ...]) -> dict:
    """A `Sequence({...})` feature's value: a dict of equally long lists."""
    return {key: [record[key] for record in records] for key in keys}


def _tsv(path: Path) -> list[list[str]]:
    return [line.strip().split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _shuffled(rows: list[dict]) -> list[dict]:
    """The hub builder lists the BRAT files in directory order, not the release's."""
    rows = list(rows)
    random.Random(3).shuffle(rows)
    return rows


if __name__ == "__main__":  # python tests/hub_corpora.py ROOT DATA_DIR WORK (with the repository on PYTHONPATH)
    build_corpus_repos(*(Path(arg) for arg in sys.argv[1:4]))
