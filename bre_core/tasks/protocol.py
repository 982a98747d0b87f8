"""Scoring protocols as data: the study's rules exactly as its code applies them, and the corrected ones."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bre_core.errors import UnknownNameError


@dataclass(frozen=True)
class Protocol:
    """How a generation is read and matched against the gold, and how training targets are written.

    Each field is one rule; `RULES` below says, for each, what the study does, what the corrected protocol
    does, and why they differ. Tasks read the fields that concern them; nothing branches on the name.
    """

    name: str
    # --- reading a generation
    trims_output: bool  # whitespace around the whole output is ignored before one final "." is removed
    collapses_spaces: bool  # arguments are trimmed and runs of whitespace in them count as one space
    label_words_exact: bool  # a label word maps to its class only exactly as written
    unknown_labels_score: bool  # a relation with an unknown label word is a false positive (else dropped)
    empty_arguments_score: bool  # a relation piece with an empty argument is a relation (else unreadable)
    closes_spaced_hyphens: bool  # " - " in a generated drug name becomes "-" (DCE)
    one_keyword: bool  # a DCE piece must hold "participate" exactly once; "positive" counts only after it
    # --- matching
    lowercases_predictions: bool  # where the gold is lower-cased (ChemProt), predictions are too
    counts_duplicate_gold: bool  # a gold relation annotated twice counts twice (DDI: 979, not 951)
    matches_concepts: bool  # CDR: strings map to concepts; a pair counts once however it is spelled
    # --- training targets
    names_by_max: bool  # CDR: an entity is written by max() of its strings (else by its longest string)
    repeats_sentences: bool  # one sentence per gold relation as counted, even when two read the same
    comb_double_space: bool  # the DCE COMB sentence reads "participate in a  drug combination"

    def with_rule(self, rule: str, value: bool) -> Protocol:
        return replace(self, name=f"{self.name}+{rule}", **{rule: value})


STUDY = Protocol(
    name="study",
    trims_output=False,
    collapses_spaces=False,
    label_words_exact=True,
    unknown_labels_score=False,
    empty_arguments_score=True,
    closes_spaced_hyphens=True,
    one_keyword=True,
    lowercases_predictions=False,
    counts_duplicate_gold=True,
    matches_concepts=False,
    names_by_max=True,
    repeats_sentences=True,
    comb_double_space=True,
)
CORRECTED = Protocol(
    name="corrected",
    trims_output=True,
    collapses_spaces=True,
    label_words_exact=False,
    unknown_labels_score=True,
    empty_arguments_score=False,
    closes_spaced_hyphens=False,
    one_keyword=False,
    lowercases_predictions=True,
    counts_duplicate_gold=False,
    matches_concepts=True,
    names_by_max=False,
    repeats_sentences=False,
    comb_double_space=False,
)
PROTOCOLS: dict[str, Protocol] = {STUDY.name: STUDY, CORRECTED.name: CORRECTED}
HEADLINE = STUDY.name  # the protocol that commands, run folders and the app show first


def get_protocol(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    if name not in PROTOCOLS:
        raise UnknownNameError("protocol", name, tuple(PROTOCOLS))
    return PROTOCOLS[name]


@dataclass(frozen=True)
class Rule:
    """One way the protocols differ: the field, a short title, each side's rule and why corrected departs."""

    field: str
    title: str
    study: str
    corrected: str
    why: str
    example: str  # an output the two protocols score differently (README and tests)


RULES: tuple[Rule, ...] = (
    Rule(
        "trims_output",
        "final period",
        'only a "." that is the very last character is removed',
        'whitespace around the output is ignored, then one final "." is removed',
        "a stray space or newline after the period should not delete the last relation's label",
        'ddi: "the relation between A and B is effect. " (study: label "effect. ", dropped)',
    ),
    Rule(
        "collapses_spaces",
        "spaces in names",
        "entity strings are compared exactly as generated",
        "entity strings are trimmed and runs of whitespace count as one space",
        "tokenizers and decoders add or double spaces that change no name",
        'chemprot: "the relation between  aspirin and cox-2 is downregulation" (leading double space)',
    ),
    Rule(
        "label_words_exact",
        "label words",
        "a label word maps to its class only exactly as written (case, spaces)",
        'label words match case-insensitively, trimmed, a trailing "." ignored',
        "capitalising a label word does not change the class it names",
        'ddi: "the relation between A and B is Effect"',
    ),
    Rule(
        "unknown_labels_score",
        "unknown label words",
        "a relation with a label word that names no class is dropped: it costs no precision",
        "it is a false positive (in micro counts; per-class counts ignore it)",
        "an invented class is a wrong answer, not silence",
        'chemprot: "the relation between aspirin and cox-2 is inhibition"',
    ),
    Rule(
        "empty_arguments_score",
        "empty arguments",
        "a piece with an empty argument still yields a relation (a false positive)",
        "it is unreadable: no relation, counted as a parse failure",
        "a relation without an argument names nothing",
        'dce: "participate in a drug combination"',
    ),
    Rule(
        "closes_spaced_hyphens",
        "spaced hyphens (DCE)",
        '" - " in a generated drug name becomes "-" (the gold is left as it is)',
        "drug names are compared as written",
        "the study's rewrite applies to predictions only, so a gold name with a spaced hyphen cannot be matched",
        'dce: "5 - FU and leucovorin participate in a drug combination"',
    ),
    Rule(
        "one_keyword",
        "DCE pieces",
        '"participate" must occur exactly once; "positive" counts only after it',
        'the first "participate" ends the drug list; "positive" anywhere marks POS',
        "a drug name containing the word should not void the relation",
        'dce: "A and B participate in a drug combination participate"',
    ),
    Rule(
        "lowercases_predictions",
        "case (ChemProt)",
        "predictions are compared as generated against lower-cased gold",
        "predictions are lower-cased like the gold",
        "the gold was lower-cased, so a capitalised name is the same entity",
        'chemprot: "the relation between Aspirin and COX-2 is downregulation"',
    ),
    Rule(
        "counts_duplicate_gold",
        "duplicate gold",
        "a relation annotated twice counts twice (DDI test: 979 relations, 951 distinct)",
        "gold relations are counted once per distinct key",
        "no output can find the same relation twice, so the study's perfect output has recall 0.9714",
        "ddi: a document whose gold lists (A, B, MECHANISM) twice, answered once",
    ),
    Rule(
        "matches_concepts",
        "CDR matching",
        "each distinct string pair is judged alone; FN = gold - TP (can go negative, recall above 1)",
        "strings map to MeSH concepts; a concept pair counts once however it is spelled",
        "two spellings of one relation are one correct answer, not two",
        'cdr: "The relation between CDDP and nephrotoxicity exists; The relation between cisplatin and '
        'nephrotoxicity exists"',
    ),
    Rule(
        "names_by_max",
        "CDR target names",
        "each entity is written by max() of its strings: the alphabetically last",
        "each entity is written by its longest string",
        "max() of strings was meant as the longest; the alphabetically last is sometimes an abbreviation",
        "training targets only",
    ),
    Rule(
        "repeats_sentences",
        "repeated target sentences",
        "one sentence per gold relation as counted, even when two sentences read the same",
        "each distinct sentence once",
        "a repeated sentence teaches nothing and lengthens the target",
        "training targets only",
    ),
    Rule(
        "comb_double_space",
        "DCE COMB sentence",
        'the COMB sentence has a double space: "participate in a  drug combination"',
        'one space: "participate in a drug combination"',
        "an empty format field in the study's template left the space",
        "training targets only",
    ),
)
SCORING_RULES = tuple(rule for rule in RULES if rule.example != "training targets only")
