"""Error analysis of two runs: buckets, counts, confusion, one document and export, with and without the corpus.

Expected values follow from fixture_runs.py's rules on the fixture corpora (see the comments at each test);
hand-written outputs (write_run) add what those rules never produce: spurious relations, unknown labels,
reversed arguments and CDR's concept-level matching.
"""

import dataclasses
import itertools
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bre_core import error_cases as ec
from bre_core.datasets import load_documents
from bre_core.errors import RunError
from bre_core.models.generation import Generation
from bre_core.runs import compare_runs, documents_hash, finalize_run, find_runs, prediction_record, read_run, run_name
from bre_core.scoring import score
from bre_core.tasks import get_task

FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "data"
# ChemProt train document 1001 has four gold relations, in this order (lower-cased, as the task writes them).
# Names as the passage of 1001 spells them ("Aspirin inhibits COX-2 ..."; "salicylate" is lower-case there).
CHEMPROT_GOLD = [
    ("CPR:4", "Aspirin → COX-2"),
    ("CPR:4", "salicylate → COX-2"),
    ("CPR:3", "Aspirin → NF-kB"),
    ("CPR:6", "Ibuprofen → PPAR gamma"),
]
# t5-base's "wrong" answer (fixture_runs.py) on 1001, plus a label word the parser does not know.
WRONG = (
    "the relation between aspirin and cox-2 is upregulation; the relation between salicylate and cox-2 is "
    "upregulation; the relation between aspirin and nf-kb is upregulation; the relation between ibuprofen and "
    "ppar gamma is antagonist; the relation between foo and bar is agonist; the relation between aspirin and "
    "cox-2 is inhibition."
)
HALF = "the relation between aspirin and cox-2 is downregulation."


def write_run(root: Path, model: str, dataset: str, split: str, outputs: dict[str, str], data_dir=FIXTURE_DATA):
    """A complete run folder whose outputs are given per document id (the null sentence elsewhere)."""
    task = get_task(dataset)
    documents = load_documents(dataset, split, data_dir)
    records = [
        prediction_record(task, d, Generation(outputs.get(d.id, task.null_target), 10, 10, 0.0)) for d in documents
    ]
    result = score(task, documents, {r.id: r.parse_result() for r in records})
    manifest = {
        "model": {"name": model},
        "dataset": dataset,
        "split": split,
        "split_seed": None,
        "data_hash": documents_hash(task, documents),
        "setting": "full",
        "seed": 42,
    }
    return read_run(
        finalize_run(root / run_name(model, dataset, split, "full", 42), manifest, result.to_dict(), records)
    )


@pytest.fixture(scope="module")
def runs(fixture_runs):
    found, warnings = find_runs(fixture_runs)
    assert not warnings
    # The counts below are the corrected protocol's (test_study_protocol.py covers the study's).
    return {r.name: r.under("corrected") for r in found}


def documents_of(run):
    documents, note = ec.load_matching_documents(run, FIXTURE_DATA)
    assert documents is not None, note
    return documents


def without_keys(run):
    """The run as written before records kept their scoring keys and the gold they found."""
    records = tuple(dataclasses.replace(p, keys=(), matched=(), found=()) for p in run.predictions)
    return dataclasses.replace(run, predictions=records)


def rows(cases, *columns):
    return [tuple(row) for row in cases[list(columns)].itertuples(index=False)]


def assert_same_cases(from_runs, cases):
    """The run folders alone give the same cases; only the corpus knows how the passage spells each name."""
    pd.testing.assert_frame_equal(
        from_runs.assign(relation=from_runs.relation.str.lower()), cases.assign(relation=cases.relation.str.lower())
    )


def test_chemprot_full_t5_finds_all_scifive_the_first(runs):
    # Full setting, document 0 (1001): t5-base answers "gold", scifive-base "half" (the first relation only);
    # document 1 (1002) has no relations and both answer the null sentence.
    a, b = runs["t5-base__chemprot__train__full__seed42"], runs["scifive-base__chemprot__train__full__seed42"]
    cases = ec.buckets(a, b, documents_of(a))
    assert list(cases.columns) == ec.CASE_COLUMNS
    assert rows(cases, "document", "bucket", "class", "relation") == [
        ("1001", ec.BOTH_RIGHT, *CHEMPROT_GOLD[0]),
        *[("1001", ec.ONLY_A, *gold) for gold in CHEMPROT_GOLD[1:]],
    ]
    assert cases["key"][0] == '["CPR:4", "aspirin", "cox-2"]'
    counts = ec.bucket_counts(cases)
    assert counts["bucket"].tolist() == list(ec.BUCKETS) and counts["count"].tolist() == [1, 3, 0, 0, 0, 0]
    # The run folders alone give the same cases.
    assert_same_cases(ec.buckets(a, b), cases)
    # Swapping the runs swaps "only A" and "only B".
    assert ec.bucket_counts(ec.buckets(b, a))["count"].tolist() == [1, 0, 3, 0, 0, 0]


def test_ddi_and_dce_buckets_from_the_few_shot_rules(runs):
    # k16 seed 1 answers document 0 "none"; full scifive-base answers DDI's document 0 "half" (its one relation).
    a, b = runs["t5-base__ddi__test__k16__seed1"], runs["scifive-base__ddi__test__full__seed42"]
    assert rows(ec.buckets(a, b, documents_of(a)), "document", "bucket", "class", "relation") == [
        ("Lithium_ddi", ec.ONLY_B, "MECHANISM", "Diuretics → lithium")
    ]
    # DCE: k16 seed 0 answers document 0 "half" (the POS pair), k16 seed 1 "none"; relations are drug sets.
    a, b = runs["t5-base__dce__test__k16__seed0"], runs["scifive-base__dce__test__k16__seed1"]
    for documents in (documents_of(a), None):
        assert rows(ec.buckets(a, b, documents), "document", "bucket", "class", "relation") == [
            ("t1", ec.ONLY_A, "POS", "{FOLFOX, bevacizumab}"),
            ("t1", ec.BOTH_WRONG, "COMB", "{FOLFOX, cetuximab}"),
        ]


def test_every_fixture_pair_agrees_with_compare_and_the_scores(runs):
    for a, b in itertools.product(runs.values(), repeat=2):
        if not ec.comparable(a, b):
            continue
        cases = ec.buckets(a, b, documents_of(a))
        assert_same_cases(ec.buckets(a, b), cases)  # corpus or run folders: the same cases
        counts = dict(ec.bucket_counts(cases).itertuples(index=False))
        agreement = compare_runs(a, b, samples=10)["agreement"]
        assert [counts[k] for k in (ec.BOTH_RIGHT, ec.ONLY_A, ec.ONLY_B, ec.BOTH_WRONG)] == [
            agreement[k]
            for k in ("gold_found_by_both", "gold_found_only_by_a", "gold_found_only_by_b", "gold_missed_by_both")
        ]
        assert counts[ec.BOTH_RIGHT] + counts[ec.ONLY_A] == a.metrics["micro"]["tp"]
        assert counts[ec.SPURIOUS_A] == a.metrics["micro"]["fp"] and counts[ec.SPURIOUS_B] == b.metrics["micro"]["fp"]


def test_spurious_relations_with_what_the_gold_has_for_the_pair(tmp_path):
    a = write_run(tmp_path, "wrong", "chemprot", "train", {"1001": WRONG})
    b = write_run(tmp_path, "half", "chemprot", "train", {"1001": HALF})
    cases = ec.buckets(a, b, documents_of(a))
    assert rows(cases, "bucket", "class", "relation", "gold for pair", "also in other run") == [
        (ec.ONLY_A, "CPR:3", "Aspirin → NF-kB", "", ""),
        (ec.ONLY_A, "CPR:6", "Ibuprofen → PPAR gamma", "", ""),
        (ec.ONLY_B, "CPR:4", "Aspirin → COX-2", "", ""),
        (ec.BOTH_WRONG, "CPR:4", "salicylate → COX-2", "", ""),
        (ec.SPURIOUS_A, "CPR:3", "Aspirin → COX-2", "CPR:4", "no"),
        (ec.SPURIOUS_A, "CPR:3", "salicylate → COX-2", "CPR:4", "no"),
        (ec.SPURIOUS_A, "CPR:5", "foo → bar", "", "no"),  # not in the passage: as the model wrote it
        (ec.SPURIOUS_A, "inhibition", "Aspirin → COX-2", "CPR:4", "no"),
    ]
    assert_same_cases(ec.buckets(a, b), cases)
    assert ec.bucket_counts(cases)["count"].sum() == len(cases) == 8


def test_a_wrong_relation_both_runs_made_counts_for_each(tmp_path):
    a = write_run(tmp_path / "a", "wrong", "chemprot", "train", {"1001": WRONG})
    b = write_run(tmp_path / "b", "wrong-too", "chemprot", "train", {"1001": WRONG})
    counts = ec.bucket_counts(ec.buckets(a, b, documents_of(a)))["count"].tolist()
    assert counts == [2, 0, 0, 2, 4, 4]
    assert set(ec.buckets(a, b)["also in other run"]) == {"", "yes"}


def test_reversed_arguments_are_named(tmp_path):
    a = write_run(
        tmp_path, "reversed", "ddi", "test", {"Lithium_ddi": "the relation between lithium and Diuretics is mechanism."}
    )
    b = write_run(
        tmp_path, "effect", "ddi", "test", {"Lithium_ddi": "the relation between Diuretics and lithium is effect."}
    )
    cases = ec.buckets(a, b, documents_of(a))
    assert rows(cases[cases.bucket.str.startswith("spurious")], "bucket", "relation", "gold for pair") == [
        (ec.SPURIOUS_A, "lithium → Diuretics", "MECHANISM (arguments reversed)"),
        (ec.SPURIOUS_B, "Diuretics → lithium", "MECHANISM"),
    ]


def test_cdr_matches_concepts_and_approximates_without_the_corpus(tmp_path):
    # 9001's gold: Cisplatin (alias CDDP) with nephrotoxicity (D007674) and with ototoxicity (D006311); the
    # target names both diseases by their shared longest name. 9002: Lithium with polydipsia.
    a = write_run(tmp_path, "a", "cdr", "train", {
        "9001": "The relation between CDDP and nephrotoxicity exists; The relation between Cisplatin and hypotension exists.",
        "9002": "The relation between Lithium and polydipsia exists.",
    })  # fmt: skip
    b = write_run(tmp_path, "b", "cdr", "train", {
        "9001": "The relation between Cisplatin and ototoxicity exists.",
        "9002": "The relation between Lithium and polydipsia exists; The relation between Lithium and thirst exists.",
    })  # fmt: skip
    expected = [
        ("9001", ec.ONLY_A, "Cisplatin → renal and hearing toxicity", '["CID", "D002945", "D007674"]'),
        ("9001", ec.ONLY_B, "Cisplatin → renal and hearing toxicity", '["CID", "D002945", "D006311"]'),
        ("9001", ec.SPURIOUS_A, "Cisplatin → hypotension", '["CID", "D002945", "D007022"]'),
        ("9002", ec.BOTH_RIGHT, "Lithium → polydipsia", '["CID", "D008094", "D059606"]'),
        ("9002", ec.SPURIOUS_B, "Lithium → thirst", '["CID", "D008094", "D010936"]'),
    ]
    assert rows(ec.buckets(a, b, documents_of(a)), "document", "bucket", "relation", "key") == expected
    # Records keep the keys scoring gave them: without the corpus the cases are the same.
    pd.testing.assert_frame_equal(ec.buckets(a, b), ec.buckets(a, b, documents_of(a)))
    # Runs written before records kept keys: without the corpus the concepts of what both found, or neither
    # missed, are unknown: keyed by text.
    loose = ec.buckets(without_keys(a), without_keys(b))
    assert rows(loose, "document", "bucket", "relation") == [row[:3] for row in expected]
    assert loose["key"][3] == '["CID", "text:Lithium", "text:polydipsia"]'
    # A found nephrotoxicity and polydipsia, missed ototoxicity, and named one pair the gold does not have.
    assert ec.confusion(a, documents_of(a)).values.tolist() == [[2, 1], [1, 0]]


def test_confusion_pairs_classes_of_the_same_arguments(runs, tmp_path):
    half = runs["scifive-base__chemprot__train__full__seed42"]
    table = ec.confusion(half, documents_of(half))
    assert list(table.index) == ["CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", ec.SPURIOUS]
    assert list(table.columns) == ["CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9", ec.MISSED]
    assert table.loc["CPR:4", "CPR:4"] == 1 and table[ec.MISSED].tolist() == [1, 1, 0, 1, 0, 0]
    assert table.values.sum() == 4

    wrong = write_run(tmp_path, "wrong", "chemprot", "train", {"1001": WRONG})
    table = ec.confusion(wrong, documents_of(wrong))
    assert "inhibition" in table.columns  # an unknown label word is a column of its own
    assert {(g, p): n for (g, p), n in table.stack().items() if n} == {
        ("CPR:3", "CPR:3"): 1,
        ("CPR:4", "CPR:3"): 2,  # downregulation read as upregulation
        ("CPR:6", "CPR:6"): 1,
        (ec.SPURIOUS, "CPR:5"): 1,  # foo and bar
        (ec.SPURIOUS, "inhibition"): 1,  # the pair already paired off with CPR:3
    }
    pd.testing.assert_frame_equal(ec.confusion(wrong), table)


def test_document_view_marks_each_relation(tmp_path):
    a = write_run(tmp_path, "wrong", "chemprot", "train", {"1001": WRONG})
    b = write_run(tmp_path, "half", "chemprot", "train", {"1001": HALF})
    view = ec.document_view(a, b, "1001", documents_of(a))
    assert view.document.text.startswith("Aspirin inhibits COX-2") and view.output_b == HALF
    assert rows(view.gold, "relation", "A", "B") == [
        ("Aspirin → COX-2", "missed", "correct"),
        ("salicylate → COX-2", "missed", "missed"),
        ("Aspirin → NF-kB", "correct", "missed"),
        ("Ibuprofen → PPAR gamma", "correct", "missed"),
    ]
    assert rows(view.a, "class", "outcome") == [
        ("CPR:3", "wrong"),
        ("CPR:3", "wrong"),
        ("CPR:3", "correct"),
        ("CPR:6", "correct"),
        ("CPR:5", "wrong"),
        ("inhibition", "wrong"),
        ("CPR:4", "missed"),
        ("CPR:4", "missed"),
    ]
    assert rows(view.b, "outcome") == [("correct",), ("missed",), ("missed",), ("missed",)]
    assert ec.document_view(a, b, "1001").document is None  # without the corpus: relations only
    with pytest.raises(KeyError):
        ec.document_view(a, b, "nope")


def test_corpus_absent_or_changed_falls_back_to_the_run_folders(runs, tmp_path):
    run = runs["t5-base__ddi__test__full__seed42"]
    documents, note = ec.load_matching_documents(run, tmp_path)
    assert documents is None and "data download --dataset ddi" in note
    changed = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA, changed)
    test_file = changed / "ddi" / "bigbio_source" / "test.jsonl"
    test_file.write_text(test_file.read_text().replace("raise lithium", "raise LITHIUM"))
    documents, note = ec.load_matching_documents(run, changed)
    assert documents is None and "differs" in note


def test_runs_over_other_documents_are_refused(runs):
    a, b = runs["t5-base__ddi__test__full__seed42"], runs["t5-base__dce__test__full__seed42"]
    assert not ec.comparable(a, b)
    with pytest.raises(RunError, match="not over the same documents"):
        ec.buckets(a, b)


def test_filter_and_export(tmp_path):
    a = write_run(tmp_path, "wrong", "chemprot", "train", {"1001": WRONG})
    b = write_run(tmp_path, "half", "chemprot", "train", {"1001": HALF})
    cases = ec.buckets(a, b, documents_of(a))
    assert len(ec.filter_cases(cases)) == 8
    assert rows(ec.filter_cases(cases, [ec.SPURIOUS_A], ["CPR:3"]), "relation") == [
        ("Aspirin → COX-2",),
        ("salicylate → COX-2",),
    ]
    assert len(ec.filter_cases(cases, [ec.ONLY_A, ec.ONLY_B])) == 3
    csv = ec.export(cases, "csv", tmp_path / "out" / "cases.csv")
    pd.testing.assert_frame_equal(pd.read_csv(csv, keep_default_na=False, dtype=str), cases)
    jsonl = ec.export(cases, "jsonl", tmp_path / "cases.jsonl")
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == dict(zip(ec.CASE_COLUMNS, cases.iloc[0].tolist())) and len(lines) == 8
    assert "→" in jsonl.read_text(encoding="utf-8")  # written as UTF-8, not escaped
    with pytest.raises(ValueError, match="csv"):
        ec.export(cases, "xlsx", tmp_path / "cases.xlsx")
