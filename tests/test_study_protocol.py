"""The two scoring protocols: every rule by hand on fixture documents, and the study's own code reproduced.

STUDY_CODE_COUNTS were computed by running the study's scoring code (GitHub bionlproc/DS-PT-IFT @ 2f2e85a:
templates/*/templates.py extract_prediction, metrics/metrics.py, the evaluation loop of main.py:395-408) on
the real test sets, with the outputs of tests/corruptions.py as its generated sequences.
"""

import dataclasses
import json

import pytest
from corruptions import CORRUPTIONS, corrupted_outputs

from bre_core.cli import main
from bre_core.datasets import load_documents
from bre_core.disagreements import differing_rules
from bre_core.schema import Document, Entity, Relation
from bre_core.scoring import format_ceiling, score_outputs
from bre_core.tasks import CORRECTED, PROTOCOLS, STUDY, get_task
from bre_core.tasks.protocol import RULES, SCORING_RULES

# (dataset, corruption): (TP, FP, FN, macro-F1) from the study's code; macro is None for CDR (no classes).
STUDY_CODE_COUNTS = {
    # cdr
    ("cdr", "alternative_spellings"): (2455, 32, -1389, None),
    ("cdr", "double_spaces"): (0, 0, 1066, None),
    ("cdr", "empty"): (0, 0, 1066, None),
    ("cdr", "entity_case"): (18, 1033, 1048, None),
    ("cdr", "garbage"): (1034, 17, 32, None),
    ("cdr", "gold"): (1034, 17, 32, None),
    ("cdr", "head_tail_swapped"): (0, 1051, 1066, None),
    ("cdr", "labels_capitalised"): (0, 0, 1066, None),
    ("cdr", "labels_swapped"): (1034, 17, 32, None),
    ("cdr", "no_period"): (1034, 17, 32, None),
    ("cdr", "no_relations"): (0, 0, 1066, None),
    ("cdr", "relations_dropped"): (676, 13, 390, None),
    ("cdr", "spurious"): (1034, 517, 32, None),
    ("cdr", "trailing_newline"): (1034, 17, 32, None),
    ("cdr", "trailing_space"): (1034, 17, 32, None),
    ("cdr", "unknown_labels"): (676, 13, 390, None),
    # chemprot
    ("chemprot", "alternative_spellings"): (2854, 2427, 12, 0.705844903884),
    ("chemprot", "double_spaces"): (0, 0, 2866, 0.0),
    ("chemprot", "empty"): (0, 0, 2866, 0.0),
    ("chemprot", "entity_case"): (0, 2866, 2866, 0.0),
    ("chemprot", "garbage"): (2854, 12, 12, 0.997983956684),
    ("chemprot", "gold"): (2854, 12, 12, 0.997983956684),
    ("chemprot", "head_tail_swapped"): (0, 2866, 2866, 0.0),
    ("chemprot", "labels_capitalised"): (0, 0, 2866, 0.0),
    ("chemprot", "labels_swapped"): (26, 2840, 2840, 0.013091068659),
    ("chemprot", "no_period"): (2854, 12, 12, 0.997983956684),
    ("chemprot", "no_relations"): (0, 0, 2866, 0.0),
    ("chemprot", "relations_dropped"): (1551, 8, 1315, 0.701786044501),
    ("chemprot", "spurious"): (2854, 812, 12, 0.913661097429),
    ("chemprot", "trailing_newline"): (2342, 10, 524, 0.886064495225),
    ("chemprot", "trailing_space"): (2342, 10, 524, 0.886064495225),
    ("chemprot", "unknown_labels"): (1551, 8, 1315, 0.701786044501),
    # ddi
    ("ddi", "alternative_spellings"): (735, 0, 244, 0.741502932237),
    ("ddi", "double_spaces"): (0, 0, 979, 0.0),
    ("ddi", "empty"): (0, 0, 979, 0.0),
    ("ddi", "entity_case"): (151, 793, 828, 0.161887428156),
    ("ddi", "garbage"): (951, 0, 28, 0.988642520338),
    ("ddi", "gold"): (951, 0, 28, 0.988642520338),
    ("ddi", "head_tail_swapped"): (16, 935, 963, 0.012259839491),
    ("ddi", "labels_capitalised"): (0, 0, 979, 0.0),
    ("ddi", "labels_swapped"): (11, 940, 968, 0.009133771841),
    ("ddi", "no_period"): (951, 0, 28, 0.988642520338),
    ("ddi", "no_relations"): (0, 0, 979, 0.0),
    ("ddi", "relations_dropped"): (532, 0, 447, 0.702943241543),
    ("ddi", "spurious"): (951, 303, 28, 0.835612217308),
    ("ddi", "trailing_newline"): (760, 0, 219, 0.887399588278),
    ("ddi", "trailing_space"): (760, 0, 219, 0.887399588278),
    ("ddi", "unknown_labels"): (532, 0, 447, 0.702943241543),
    # dce
    ("dce", "alternative_spellings"): (0, 209, 209, 0.0),
    ("dce", "double_spaces"): (151, 58, 58, 0.724406779661),
    ("dce", "empty"): (0, 0, 209, 0.0),
    ("dce", "empty_drug_list"): (209, 272, 0, 0.651282051282),
    ("dce", "entity_case"): (3, 206, 206, 0.01),
    ("dce", "garbage"): (209, 0, 0, 1.0),
    ("dce", "gold"): (209, 0, 0, 1.0),
    ("dce", "head_tail_swapped"): (209, 0, 0, 1.0),
    ("dce", "labels_capitalised"): (59, 150, 150, 0.220149253731),
    ("dce", "labels_swapped"): (0, 209, 209, 0.0),
    ("dce", "no_period"): (209, 0, 0, 1.0),
    ("dce", "no_relations"): (0, 0, 209, 0.0),
    ("dce", "relations_dropped"): (180, 0, 29, 0.902708941544),
    ("dce", "spurious"): (209, 272, 0, 0.651282051282),
    ("dce", "trailing_newline"): (209, 0, 0, 1.0),
    ("dce", "trailing_space"): (209, 0, 0, 1.0),
    ("dce", "unknown_labels"): (195, 14, 14, 0.922494172494),
}


def test_every_rule_is_one_protocol_field_on_which_the_protocols_differ():
    fields = [f.name for f in dataclasses.fields(STUDY) if f.name != "name"]
    assert [rule.field for rule in RULES] == fields
    assert all(getattr(STUDY, name) != getattr(CORRECTED, name) for name in fields)
    assert set(PROTOCOLS) == {"study", "corrected"}


# --- each rule by hand ----------------------------------------------------------------------------------
# Fixture gold (tests/fixtures/data):
#   chemprot 1001: (aspirin, cox-2, CPR:4) (salicylate, cox-2, CPR:4) (aspirin, nf-kb, CPR:3)
#                  (ibuprofen, ppar gamma, CPR:6); lower-cased, 4 distinct of 5 annotations
#   ddi Lithium_ddi: (Diuretics, lithium, MECHANISM) annotated twice
#   cdr 9001: cisplatin (Cisplatin, CDDP) -> nephrotoxicity (nephrotoxicity, renal toxicity, ...) and
#             -> ototoxicity (ototoxicity, hearing toxicity, ...)
#   dce t1: POS {FOLFOX, bevacizumab}, COMB {FOLFOX, cetuximab}
FIVE_FU = Document(
    id="h1",
    dataset="dce",
    split="test",
    text="5-FU and leucovorin were given.",
    entities=(Entity("0", "DRUG", ("5-FU",)), Entity("1", "DRUG", ("leucovorin",))),
    relations=(Relation("POS", ("0", "1")),),
)
RULE_CASES = [
    # rule, dataset, split, document id, output, study (TP, FP, FN), corrected (TP, FP, FN), rules named
    # The study keeps ".\n" (not the last character "."), so its label word reads "antagonist.", unknown.
    (
        "trims_output",
        "chemprot",
        "train",
        "1001",
        "the relation between ibuprofen and ppar gamma is antagonist.\n",
        (0, 0, 4),
        (1, 0, 3),
        {"trims_output", "label_words_exact", "unknown_labels_score"},
    ),
    (
        "collapses_spaces",
        "chemprot",
        "train",
        "1001",
        "the relation between  aspirin and cox-2 is downregulation",
        (0, 1, 4),
        (1, 0, 3),
        {"collapses_spaces"},
    ),
    # "Downregulation" is an unknown word to the study, and unknown words cost nothing there: both rules act.
    (
        "label_words_exact",
        "chemprot",
        "train",
        "1001",
        "the relation between aspirin and cox-2 is Downregulation",
        (0, 0, 4),
        (1, 0, 3),
        {"label_words_exact", "unknown_labels_score"},
    ),
    (
        "unknown_labels_score",
        "chemprot",
        "train",
        "1001",
        "the relation between aspirin and cox-2 is inhibition",
        (0, 0, 4),
        (0, 1, 4),
        {"unknown_labels_score"},
    ),
    (
        "empty_arguments_score",
        "dce",
        "test",
        "t1",
        "participate in a drug combination",
        (0, 1, 2),
        (0, 0, 2),
        {"empty_arguments_score"},
    ),
    (
        "closes_spaced_hyphens",
        "dce",
        None,
        FIVE_FU,
        "5 - FU and leucovorin participate in a positive drug combination",
        (1, 0, 0),
        (0, 1, 1),
        {"closes_spaced_hyphens"},
    ),
    (
        "one_keyword",
        "dce",
        "test",
        "t1",
        "FOLFOX and bevacizumab participate in a positive drug combination participate",
        (0, 0, 2),
        (1, 0, 1),
        {"one_keyword"},
    ),
    (
        "lowercases_predictions",
        "chemprot",
        "train",
        "1001",
        "the relation between Aspirin and COX-2 is downregulation",
        (0, 1, 4),
        (1, 0, 3),
        {"lowercases_predictions"},
    ),
    (
        "counts_duplicate_gold",
        "ddi",
        "test",
        "Lithium_ddi",
        "the relation between Diuretics and lithium is mechanism",
        (1, 0, 1),
        (1, 0, 0),
        {"counts_duplicate_gold"},
    ),
    (
        "matches_concepts",
        "cdr",
        "train",
        "9001",
        "The relation between CDDP and nephrotoxicity exists; The relation between Cisplatin and renal toxicity exists",
        (2, 0, 0),
        (1, 0, 1),
        {"matches_concepts"},
    ),
]


def _document(fixture_data, dataset, split, doc):
    if isinstance(doc, Document):
        return doc
    return next(d for d in load_documents(dataset, split, fixture_data) if d.id == doc)


@pytest.mark.parametrize("case", RULE_CASES, ids=[case[0] for case in RULE_CASES])
def test_each_rule_by_hand_under_both_protocols(fixture_data, case):
    rule, dataset, split, doc, output, study, corrected, named = case
    document = _document(fixture_data, dataset, split, doc)
    for protocol, expected in (("study", study), ("corrected", corrected)):
        result = score_outputs(get_task(dataset, protocol), [document], {document.id: output})
        assert (result.micro.tp, result.micro.fp, result.micro.fn) == expected, protocol
    assert {r.field for r in differing_rules(dataset, document, output)} == named


def test_every_scoring_rule_has_a_case():
    assert {case[0] for case in RULE_CASES} == {rule.field for rule in SCORING_RULES}


def test_protocols_agree_on_a_clean_output(fixture_data):
    document = _document(fixture_data, "chemprot", "train", "1001")
    assert differing_rules("chemprot", document, "the relation between aspirin and cox-2 is downregulation.") == ()


def test_study_cdr_counts_each_spelling_so_recall_can_exceed_one(fixture_data):
    document = _document(fixture_data, "cdr", "train", "9001")
    output = (
        "The relation between CDDP and nephrotoxicity exists; The relation between Cisplatin and nephrotoxicity "
        "exists; The relation between Cisplatin and renal toxicity exists; The relation between CDDP and "
        "ototoxicity exists."
    )
    study = score_outputs(get_task("cdr", "study"), [document], {"9001": output})
    # Four string pairs, each naming a gold pair: 4 TPs of 2 gold relations, FN = 2 - 4.
    assert (study.micro.tp, study.micro.fp, study.micro.fn) == (4, 0, -2)
    assert study.micro.recall == 2.0
    corrected = score_outputs(get_task("cdr", "corrected"), [document], {"9001": output})
    assert (corrected.micro.tp, corrected.micro.fp, corrected.micro.fn) == (2, 0, 0)


def test_study_targets(fixture_data):
    cdr = _document(fixture_data, "cdr", "train", "9001")
    # max() of the strings: "renal toxicity" > "nephrotoxicity", "renal and hearing toxicity" > "ototoxicity".
    assert get_task("cdr", "study").target(cdr) == (
        "The relation between Cisplatin and renal toxicity exists; "
        "The relation between Cisplatin and renal and hearing toxicity exists."
    )
    assert get_task("cdr", "study", targets="corrected").target(cdr) == (
        "The relation between Cisplatin and renal and hearing toxicity exists."
    )
    ddi = _document(fixture_data, "ddi", "test", "Lithium_ddi")
    assert (
        get_task("ddi", "study").target(ddi)
        == "; ".join(["the relation between Diuretics and lithium is mechanism"] * 2) + "."
    )
    dce = _document(fixture_data, "dce", "test", "t1")
    assert get_task("dce", "study").target(dce).endswith("FOLFOX and cetuximab participate in a  drug combination.")
    assert get_task("dce").target(dce).endswith("FOLFOX and cetuximab participate in a drug combination.")


# --- the study's own code, reproduced on the real test sets ----------------------------------------------


@pytest.mark.parametrize("dataset,corruption", sorted(STUDY_CODE_COUNTS))
def test_study_protocol_reproduces_the_studys_code(shared_data, dataset, corruption):
    documents = load_documents(dataset, "test", shared_data)
    outputs = corrupted_outputs(get_task(dataset), documents, corruption)
    result = score_outputs(get_task(dataset, "study"), documents, outputs)
    tp, fp, fn, macro = STUDY_CODE_COUNTS[(dataset, corruption)]
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (tp, fp, fn)
    if macro is not None:
        assert result.macro_f1 == pytest.approx(macro, abs=1e-11)


def test_the_corruptions_cover_every_kind_for_every_dataset():
    datasets = {dataset for dataset, _ in STUDY_CODE_COUNTS}
    for dataset in datasets:
        kinds = {c for d, c in STUDY_CODE_COUNTS if d == dataset}
        assert kinds == set(CORRUPTIONS) - ({"empty_drug_list"} if dataset != "dce" else set())


# Issue 10's figures: the format ceiling under the study protocol (targets as `data export` writes them).
CEILINGS = {
    "cdr": (1034, 17, 32, 0.9769),
    "ddi": (951, 0, 28, 0.9855),
    "chemprot": (2854, 12, 12, None),
    "dce": (209, 0, 0, 1.0),
}


@pytest.mark.parametrize("dataset", sorted(CEILINGS))
def test_study_format_ceiling_on_the_real_test_sets(shared_data, dataset):
    result = format_ceiling(get_task(dataset, "study", "corrected"), load_documents(dataset, "test", shared_data))
    tp, fp, fn, f1 = CEILINGS[dataset]
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (tp, fp, fn)
    if f1 is not None:
        assert result.micro.f1 == pytest.approx(f1, abs=5e-5)
    if dataset == "ddi":
        assert result.macro_f1 == pytest.approx(0.9886, abs=5e-5)


def test_study_targets_scored_by_the_study_protocol(shared_data):
    # The study's own CDR targets (max() names) scored by its own code give 1049/11/17 (same harness as above).
    result = format_ceiling(get_task("cdr", "study"), load_documents("cdr", "test", shared_data))
    assert (result.micro.tp, result.micro.fp, result.micro.fn) == (1049, 11, 17)


def test_score_cli_defaults_to_the_study_protocol(shared_data, tmp_path, capsys):
    documents = load_documents("ddi", "test", shared_data)
    path = tmp_path / "gold.jsonl"
    outputs = corrupted_outputs(get_task("ddi"), documents, "gold")
    path.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in outputs.items()))
    argv = ["score", "--dataset", "ddi", "--split", "test", "--predictions", str(path), "--data-dir", str(shared_data)]
    assert main([*argv, "--json"]) == 0
    study = json.loads(capsys.readouterr().out)
    assert study["protocol"] == "study" and (study["micro"]["tp"], study["micro"]["fn"]) == (951, 28)
    assert main([*argv, "--json", "--protocol", "corrected"]) == 0
    corrected = json.loads(capsys.readouterr().out)
    assert corrected["protocol"] == "corrected" and (corrected["micro"]["tp"], corrected["micro"]["fn"]) == (951, 0)
