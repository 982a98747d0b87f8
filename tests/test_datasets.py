"""Corpus loaders: hand-written fixtures in the official formats, the real corpora, and bad input."""

import json
import shutil

import pytest

from bre_core.datasets import SPLITS, dataset_files, load_documents, resolve_data_dir
from bre_core.datasets.splits import split_train_validation
from bre_core.errors import DataError, UnknownNameError
from bre_core.schema import Relation
from bre_core.tasks import get_task


def distinct(dataset, documents):
    task = get_task(dataset)
    return sum(len(task.gold_keys(d)) for d in documents)


# --- fixtures (run everywhere) ------------------------------------------------------------------


def test_chemprot_fixture(fixture_data):
    train = load_documents("chemprot", "train", fixture_data)
    assert [d.id for d in train] == ["1001", "1002"]
    first = train[0]
    assert first.text == (
        "Aspirin inhibits COX-2 in platelets. Aspirin and salicylate downregulate COX-2 and "
        "upregulate NF-kB. Ibuprofen is an antagonist of PPAR gamma."
    )
    for entity in first.entities:  # offsets count over title + " " + abstract
        ((start, end),) = entity.spans
        assert first.text[start:end] == entity.names[0]
    assert len(first.entities) == 8
    assert first.relations[0] == Relation("CPR:4", ("T1", "T2"))
    assert len(first.relations) == 5  # annotated; T1-T2 and T3-T5 are both (aspirin, cox-2, CPR:4)
    assert distinct("chemprot", train) == 4
    assert train[1].relations == ()
    assert [len(load_documents("chemprot", s, fixture_data)) for s in ("validation", "test")] == [1, 1]


def test_cdr_fixture_concepts(fixture_data):
    first, second = load_documents("cdr", "train", fixture_data)
    assert first.id == "9001" and second.id == "9002"
    entities = first.entity_map()
    # A composite mention belongs to both its concepts; its parts (7th column) are names too.
    assert entities["D007674"].names == ("nephrotoxicity", "renal and hearing toxicity", "renal toxicity")
    assert entities["D006311"].names == ("ototoxicity", "renal and hearing toxicity", "hearing toxicity")
    assert entities["D002945"].names == ("Cisplatin", "CDDP")
    assert len(entities["D002945"].spans) == 3
    assert "-1" not in entities and all("nalozone" not in e.names for e in first.entities)
    assert first.relations == (Relation("CID", ("D002945", "D007674")), Relation("CID", ("D002945", "D006311")))
    assert first.text.startswith("Cisplatin-induced nephrotoxicity and ototoxicity. Cisplatin (CDDP)")


def test_ddi_fixture_seeded_validation(fixture_data):
    train = load_documents("ddi", "train", fixture_data)
    validation = load_documents("ddi", "validation", fixture_data)
    assert len(train) == 4 and len(validation) == 1  # round(5 * 0.2) = 1
    assert {d.id for d in train} | {d.id for d in validation} == {
        "Aspirin_ddi",
        "Ketoconazole_ddi",
        "Plenaxis_ddi",
        "Digoxin_ddi",
        "Antacids_ddi",
    }
    assert not {d.id for d in train} & {d.id for d in validation}
    again = load_documents("ddi", "validation", fixture_data)
    assert [d.id for d in again] == [d.id for d in validation]
    test = load_documents("ddi", "test", fixture_data)
    assert [d.id for d in test] == ["Lithium_ddi", "Water_ddi"]
    assert len(test[0].relations) == 2 and distinct("ddi", test) == 1


def test_seeded_split_depends_on_seed():
    items = list(range(100))
    train, validation = split_train_validation(items, seed=42)
    assert len(validation) == 20 and len(train) == 80
    assert train == sorted(train) and validation == sorted(validation)  # file order kept
    assert split_train_validation(items, seed=42) == (train, validation)
    assert split_train_validation(items, seed=43)[1] != validation


def test_dce_fixture_merges_neg_into_comb(fixture_data):
    test = load_documents("dce", "test", fixture_data)
    assert [d.id for d in test] == ["t1", "t2"]
    assert [r.label for r in test[0].relations] == ["POS", "COMB"]  # NEG -> COMB
    assert test[0].relations[0].args == ("0", "1")
    train = load_documents("dce", "train", fixture_data) + load_documents("dce", "validation", fixture_data)
    assert sorted(d.id for d in train) == ["d1", "d2", "d3", "d4", "d5"]
    assert sorted(r.label for d in train for r in d.relations) == ["COMB", "COMB", "POS", "POS"]


def test_data_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("BRE_DATA_DIR", raising=False)
    assert str(resolve_data_dir()) == "data"
    monkeypatch.setenv("BRE_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert str(resolve_data_dir("elsewhere")) == "elsewhere"


def test_every_corpus_lists_its_files():
    assert len(dataset_files("chemprot")) == 9
    assert dataset_files("cdr")[0] == "bc5cdr/CDR_TrainingSet.PubTator.txt"
    assert dataset_files("ddi") == ["ddi/bigbio_source/train.jsonl", "ddi/bigbio_source/test.jsonl"]


# --- bad input ------------------------------------------------------------------------------------


def test_unknown_names_suggest_the_right_one(fixture_data):
    with pytest.raises(UnknownNameError, match="Did you mean 'chemprot'.*Available: cdr, chemprot, dce, ddi"):
        load_documents("chemprt", "train", fixture_data)
    with pytest.raises(UnknownNameError, match="Did you mean 'validation'"):
        load_documents("cdr", "valid", fixture_data)


def test_missing_file_names_it_and_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError) as error:
        load_documents("dce", "test", tmp_path)
    message = str(error.value)
    assert str(tmp_path / "dce" / "final_test_set.jsonl") in message
    assert "python -m bre_core data download --dataset dce" in message


def copy_fixtures(fixture_data, tmp_path):
    shutil.copytree(fixture_data, tmp_path / "data")
    return tmp_path / "data"


def test_truncated_tsv_line_is_reported_with_its_line(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "chemprot/original/chemprot_training/chemprot_training_entities.tsv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]) + "1001\tT4\tCHEMICAL\t60")  # the last line cut mid-way
    with pytest.raises(DataError, match=r"chemprot_training_entities.tsv, line 4: expected 6 tab-separated columns"):
        load_documents("chemprot", "train", data)


def test_truncated_jsonl_line_is_reported_with_its_line(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "ddi/bigbio_source/test.jsonl"
    text = path.read_text()
    path.write_text(text[: len(text) - 30])
    with pytest.raises(DataError, match=r"test.jsonl, line 2: not valid JSON"):
        load_documents("ddi", "test", data)


def test_invalid_utf8_is_reported_with_its_line(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "bc5cdr/CDR_TestSet.PubTator.txt"
    path.write_bytes(path.read_bytes().replace(b"Valproate was", b"Valpro\xffate was"))
    with pytest.raises(DataError, match=r"CDR_TestSet.PubTator.txt, line 2: not valid UTF-8"):
        load_documents("cdr", "test", data)


def test_pubtator_block_without_blank_line_is_reported(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "bc5cdr/CDR_TrainingSet.PubTator.txt"
    path.write_text(path.read_text().replace("D006311\n\n9002", "D006311\n9002", 1))
    with pytest.raises(DataError, match=r"line 13: line belongs to PMID 9002 inside the block of PMID 9001"):
        load_documents("cdr", "train", data)


def test_relation_to_unknown_entity_is_reported(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "chemprot/original/chemprot_development/chemprot_development_gold_standard.tsv"
    path.write_text(path.read_text().replace("Arg2:T4", "Arg2:T9"))
    with pytest.raises(DataError, match=r"line 2: relation argument T9 is not an entity of PMID 2001"):
        load_documents("chemprot", "validation", data)


def test_dce_missing_key_names_the_key(fixture_data, tmp_path):
    data = copy_fixtures(fixture_data, tmp_path)
    path = data / "dce/final_test_set.jsonl"
    path.write_text(path.read_text().replace('"sentence"', '"text"', 1))
    with pytest.raises(DataError, match=r"final_test_set.jsonl, line 1: missing key 'sentence'"):
        load_documents("dce", "test", data)


# --- the real corpora (../shared/data), when present ----------------------------------------------

EXPECTED = {
    # dataset: ({split: documents}, {split: distinct relations as scored} (None = not pinned by the table))
    "chemprot": ({"train": 1020, "validation": 612, "test": 800}, {"train": 3346, "validation": 2042, "test": 2866}),
    "cdr": ({"train": 500, "validation": 500, "test": 500}, {"train": 1038, "validation": 1012, "test": 1066}),
    "ddi": ({"train": 571, "validation": 143, "test": 303}, {"test": 951}),
    "dce": ({"train": 1090, "validation": 272, "test": 272}, {"test": 209}),
}


@pytest.mark.parametrize("dataset", sorted(EXPECTED))
def test_real_corpus_counts(shared_data, dataset):
    documents_expected, relations_expected = EXPECTED[dataset]
    for split in SPLITS:
        documents = load_documents(dataset, split, shared_data)
        assert len(documents) == documents_expected[split], (dataset, split)
        assert len({d.id for d in documents}) == len(documents)
        if split in relations_expected:
            assert distinct(dataset, documents) == relations_expected[split], (dataset, split)


def test_real_corpus_labels(shared_data):
    def by_label(dataset):
        task = get_task(dataset)
        counts = {}
        for document in load_documents(dataset, "test", shared_data):
            for key in task.gold_keys(document):
                counts[key[0]] = counts.get(key[0], 0) + 1
        return counts

    assert by_label("chemprot") == {"CPR:3": 547, "CPR:4": 1333, "CPR:5": 163, "CPR:6": 263, "CPR:9": 560}
    assert by_label("dce") == {"POS": 150, "COMB": 59}
    ddi_test = load_documents("ddi", "test", shared_data)
    assert sum(len(d.relations) for d in ddi_test) == 979
    assert sum(1 for d in ddi_test if not d.relations) == 112


def test_real_train_and_validation_are_disjoint(shared_data):
    for dataset in ("ddi", "dce"):
        train = {d.id for d in load_documents(dataset, "train", shared_data)}
        validation = {d.id for d in load_documents(dataset, "validation", shared_data)}
        assert not train & validation
        assert len(train | validation) == {"ddi": 714, "dce": 1362}[dataset]


def test_real_entity_spans_point_at_their_names(shared_data):
    for dataset in ("chemprot", "ddi", "dce"):
        for document in load_documents(dataset, "test", shared_data):
            for entity in document.entities:
                for start, end in entity.spans:
                    assert document.text[start:end] == entity.names[0], (dataset, document.id, entity.id)


def test_a_ddi_row_without_an_entity_id_names_file_line_and_key(tmp_path, capsys):
    from bre_core.cli import main

    row = {"document_id": "Aspirin_ddi", "text": "Aspirin.", "relations": []}
    row["entities"] = [{"offsets": [0, 7], "text": "Aspirin", "type": "DRUG"}]
    folder = tmp_path / "ddi" / "bigbio_source"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "train.jsonl").write_text("")
    assert main(["data", "export", "--dataset", "ddi", "--split", "test", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert f"{folder / 'test.jsonl'}, line 1: missing key 'id' (keys present: offsets, text, type)." in error
    assert "Traceback" not in error
