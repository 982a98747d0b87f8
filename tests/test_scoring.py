"""Scoring against hand-computed counts, each dataset's matching rule, the ceiling and the paired tests."""

import numpy as np
import pytest

from bre_core.datasets import load_documents
from bre_core.schema import ParsedRelation
from bre_core.scoring import (
    PRF,
    format_ceiling,
    micro_f1_difference,
    paired_bootstrap,
    randomization_test,
    score_outputs,
)
from bre_core.tasks import get_task


def test_prf_from_counts():
    assert PRF.from_counts(2, 3, 2) == PRF(0.4, 0.5, pytest.approx(4 / 9), 2, 3, 2)
    assert PRF.from_counts(0, 0, 0) == PRF(0.0, 0.0, 0.0, 0, 0, 0)


def test_chemprot_micro_macro_per_class(fixture_data):
    documents = load_documents("chemprot", "train", fixture_data)
    outputs = {
        "1001": "the relation between Aspirin and COX-2 is downregulation; the relation between aspirin and nf-kb is "
        "agonist; the relation between ibuprofen and ppar gamma is antagonist; the relation between x and y "
        "is blocker; aspirin is great",
        "1002": "the relation between caffeine and adenosine receptor is antagonist.",
    }
    result = score_outputs(get_task("chemprot"), documents, outputs)
    # Gold: (aspirin, cox-2, CPR:4) (salicylate, cox-2, CPR:4) (aspirin, nf-kb, CPR:3) (ibuprofen, ppar gamma, CPR:6)
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (2, 3, 2)
    assert result.micro.precision == pytest.approx(0.4)
    assert result.micro.recall == pytest.approx(0.5)
    assert result.micro.f1 == pytest.approx(4 / 9)
    counts = {label: (prf.tp, prf.fp, prf.fn) for label, prf in result.per_class.items()}
    # The unknown label 'blocker' is a false positive in micro only.
    assert counts == {
        "CPR:3": (0, 0, 1),
        "CPR:4": (1, 0, 1),
        "CPR:5": (0, 1, 0),
        "CPR:6": (1, 1, 0),
        "CPR:9": (0, 0, 0),
    }
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3) / 5)
    assert (result.parse_failures, result.unreadable, result.unknown_labels) == (2, 1, 1)
    assert result.documents == 2 and result.missing == 0
    assert result.per_document.tolist() == [[2, 2, 2], [0, 1, 0]]


def test_missing_documents_count_as_empty_output(fixture_data):
    documents = load_documents("chemprot", "train", fixture_data)
    result = score_outputs(get_task("chemprot"), documents, {"1002": "No drug-gene relationships are established."})
    assert result.missing == 1
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (0, 0, 4)


def test_cdr_scores_at_the_concept_level(fixture_data):
    document = load_documents("cdr", "train", fixture_data)[0]
    output = (
        "The relation between Cisplatin and nephrotoxicity exists; The relation between CDDP and renal toxicity "
        "exists; The relation between Cisplatin and hypotension exists; The relation between nalozone and "
        "hypotension exists; The relation between cisplatin and ototoxicity exists."
    )
    result = score_outputs(get_task("cdr"), [document], {"9001": output})
    # Two spellings of (cisplatin, nephrotoxicity) count once; hypotension is a real concept but no CID pair;
    # nalozone is unnormalised; "cisplatin" (lower case) is not a surface string.
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (1, 3, 1)
    keys = get_task("cdr").prediction_keys(document, [ParsedRelation("CID", ("CDDP", "renal and hearing toxicity"))])
    assert keys == {("CID", "D002945", "D007674"), ("CID", "D002945", "D006311")}


def test_ddi_is_case_sensitive_and_ordered(fixture_data):
    document = load_documents("ddi", "test", fixture_data)[0]  # gold: Diuretics -> lithium, MECHANISM (twice)
    task = get_task("ddi")
    for output, expected in [
        ("the relation between Diuretics and lithium is mechanism", (1, 0, 0)),
        ("the relation between lithium and Diuretics is mechanism", (0, 1, 1)),
        ("the relation between diuretics and lithium is mechanism", (0, 1, 1)),
        ("the relation between Diuretics and lithium is effect", (0, 1, 1)),
    ]:
        result = score_outputs(task, [document], {document.id: output})
        assert (result.micro.tp, result.micro.fp, result.micro.fn) == expected, output


def test_dce_matches_drug_sets_and_class(fixture_data):
    documents = load_documents("dce", "test", fixture_data)
    outputs = {
        "t1": "bevacizumab and FOLFOX participate in a positive drug combination; FOLFOX and cetuximab "
        "participate in a positive drug combination",
        "t2": "Ibuprofen and placebo participate in a drug combination",
    }
    result = score_outputs(get_task("dce"), documents, outputs)
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (1, 2, 1)
    assert {label: (p.tp, p.fp, p.fn) for label, p in result.per_class.items()} == {"POS": (1, 1, 0), "COMB": (0, 1, 1)}


def test_format_ceiling_on_fixtures(fixture_data):
    cdr = format_ceiling(get_task("cdr"), load_documents("cdr", "train", fixture_data))
    # 9001's target "... between Cisplatin and renal and hearing toxicity exists" parses to one wrong pair.
    assert (cdr.micro.tp, cdr.micro.fp, cdr.micro.fn) == (1, 1, 2)
    assert cdr.micro.f1 == pytest.approx(0.4)
    chemprot = format_ceiling(get_task("chemprot"), load_documents("chemprot", "train", fixture_data))
    assert chemprot.micro.f1 == 1.0 and chemprot.micro.tp == 4


@pytest.mark.parametrize(
    "dataset,split,low", [("chemprot", "test", 0.99), ("cdr", "test", 0.97), ("ddi", "test", 1.0), ("dce", "test", 1.0)]
)
def test_format_ceiling_on_real_corpora(shared_data, dataset, split, low):
    result = format_ceiling(get_task(dataset), load_documents(dataset, split, shared_data))
    assert low <= result.micro.f1 <= 1.0
    assert result.parse_failures == 0


# --- paired tests -------------------------------------------------------------------------------------


def counts(rows):
    return np.array(rows, dtype=np.int64)


def test_identical_systems_have_no_difference():
    a = counts([[1, 0, 1], [2, 1, 0], [0, 0, 3]] * 10)
    assert paired_bootstrap(a, a.copy(), samples=200) == (0.0, 0.0, 0.0)
    assert randomization_test(a, a.copy(), samples=200) == 1.0


def test_clearly_better_system_is_significant():
    a = counts([[1, 0, 0]] * 50)  # A finds every relation
    b = counts([[0, 0, 1]] * 50)  # B misses every relation
    difference, low, high = paired_bootstrap(a, b, samples=500, seed=1)
    assert difference == -1.0 and low == -1.0 and high == -1.0
    assert randomization_test(a, b, samples=999, seed=1) == pytest.approx(1 / 1000)
    assert micro_f1_difference(b, a) == 1.0


def test_paired_tests_are_seeded():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4, size=(80, 3))
    b = rng.integers(0, 4, size=(80, 3))
    assert paired_bootstrap(a, b, seed=3) == paired_bootstrap(a, b, seed=3)
    assert paired_bootstrap(a, b, seed=3) != paired_bootstrap(a, b, seed=4)
    assert randomization_test(a, b, samples=500, seed=3) == randomization_test(a, b, samples=500, seed=3)
    difference, low, high = paired_bootstrap(a, b, seed=3)
    assert low <= difference <= high
    assert 0 < randomization_test(a, b, samples=500, seed=3) <= 1


def test_paired_tests_refuse_different_documents():
    with pytest.raises(ValueError, match="same documents"):
        paired_bootstrap(counts([[1, 0, 0]] * 3), counts([[1, 0, 0]] * 4))
