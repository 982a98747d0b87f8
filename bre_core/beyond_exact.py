"""Beyond exact match, per document and per run: grounding of entities, relaxed counts and error classes.

A document's analysis under one protocol is a JSON object (predictions.jsonl keeps it per record, under
"analysis"); a run's is its sum (metrics.json keeps it under "grounding", "relaxed" and "taxonomy", each
{protocol: block}). The protocols' scores stay the headline: these are extra views of the same readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bre_core.grounding import LEVELS, Passage, hallucination_rate, level_counts
from bre_core.relaxed import DocumentMatcher, RelaxedCounts, relaxed_counts
from bre_core.schema import Document, ParsedRelation, ParseResult
from bre_core.scoring import judge
from bre_core.taxonomy import CLASSES, FN_CLASSES, FP_CLASSES, class_counts, classify_document

KEYS = ("grounding", "relaxed", "taxonomy")  # metrics.json's keys for these views


def analyse_document(task, document: Document, parse: ParseResult, passage: Passage | None = None) -> dict:
    """One document's reading under `task`'s protocol: each predicted entity's grounding level, the relaxed
    counts [predicted, correct, gold, found], and the error class of each relation ("" when correct), of each
    missed gold annotation and of each distinct false positive."""
    passage = passage or Passage(document.text)
    verdict = judge(task, document, parse)
    names = dict.fromkeys(a for relation in parse.relations for a in relation.args)
    errors = classify_document(task, document, parse.relations, verdict, passage)
    return {
        "entities": {name: passage.ground(name).level for name in names},
        "relaxed": list(relaxed_counts(DocumentMatcher(task, document, passage), parse.relations).as_tuple()),
        "relation_classes": list(errors.relation_classes),
        "missed_classes": list(errors.missed_classes),
        "fp_classes": list(errors.fp),
    }


def analysis_from_json(value) -> dict | None:
    """A stored analysis block when it has the expected shape, else None (it is then recomputed or unavailable)."""
    if not isinstance(value, Mapping):
        return None
    entities, relaxed = value.get("entities"), value.get("relaxed")
    lists = [value.get(k) for k in ("relation_classes", "missed_classes", "fp_classes")]
    ok = (
        isinstance(entities, Mapping)
        and all(isinstance(k, str) and v in LEVELS for k, v in entities.items())
        and isinstance(relaxed, list)
        and len(relaxed) == 4
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in relaxed)
        and all(isinstance(items, list) and all(c in CLASSES or c == "" for c in items) for items in lists)
    )
    return dict(value) if ok else None


def relation_levels(analysis: Mapping, relations: Iterable[ParsedRelation]) -> list[list[str]]:
    """Each relation's argument grounding levels, from a document's analysis."""
    entities = analysis.get("entities", {})
    return [[entities.get(a, "absent") for a in relation.args] for relation in relations]


def grounding_counts(analysis: Mapping) -> tuple[int, int]:
    """(absent entities, predicted entities) of one document: what the paired bootstrap of the rate resamples."""
    levels = list(analysis["entities"].values())
    return sum(level == "absent" for level in levels), len(levels)


def summarise(analyses: Sequence[Mapping]) -> dict:
    """A run's three blocks from its documents' analyses under one protocol."""
    levels = level_counts(level for a in analyses for level in a["entities"].values())
    relaxed = sum((RelaxedCounts(*a["relaxed"]) for a in analyses), RelaxedCounts())
    fp = class_counts((c for a in analyses for c in a["fp_classes"]), FP_CLASSES)
    fn = class_counts((c for a in analyses for c in a["missed_classes"]), FN_CLASSES)
    return {
        "grounding": {
            "entities": sum(levels.values()),
            "by_level": levels,
            "hallucination_rate": hallucination_rate(levels),
            "documents_with_hallucinations": sum(any(v == "absent" for v in a["entities"].values()) for a in analyses),
        },
        "relaxed": relaxed.to_dict(),
        "taxonomy": {
            "false_positives": fp,
            "false_negatives": fn,
            "fp": sum(fp.values()),
            "fn": sum(fn.values()),
            "by_class": {name: fp.get(name, 0) + fn.get(name, 0) for name in CLASSES},
        },
    }


def analyse_outputs(task, documents: Sequence[Document], parses: Mapping[str, ParseResult]) -> dict:
    """The three blocks of parsed outputs (document id -> parse; a document without one is an empty output)."""
    return summarise([analyse_document(task, d, parses.get(d.id) or ParseResult()) for d in documents])


def metrics_blocks(by_protocol: Mapping[str, Sequence[Mapping]]) -> dict:
    """metrics.json's extra keys: {"grounding": {protocol: block}, "relaxed": {...}, "taxonomy": {...}}."""
    summaries = {name: summarise(analyses) for name, analyses in by_protocol.items()}
    return {key: {name: summary[key] for name, summary in summaries.items()} for key in KEYS}
