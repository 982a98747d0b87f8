"""The scoring-protocol choice the tabs share: its radio, records and runs seen under it, and what to say about it."""

from __future__ import annotations

from collections.abc import Iterable

from bre_core.runs import PredictionRecord, Run
from bre_core.schema import Document
from bre_core.tasks import HEADLINE, PROTOCOLS
from bre_core.ui.compare_view import markdown_text
from bre_core.user_input import check_choice

LABEL = "Scoring protocol"
INFO = "study: the published study's scoring code, quirks included; corrected: the project's rules (see About)"
RECALL_ABOVE_1 = "two spellings of one gold pair counted twice, as the study's code does"


def radio(gr, info: str = INFO, **options):
    """The protocol choice, the headline (study) chosen."""
    return gr.Radio(list(PROTOCOLS), value=HEADLINE, label=LABEL, info=info, **options)


def chosen(value) -> str:
    """The protocol picked; none picked is the headline; anything else is an InputError naming the protocols."""
    return HEADLINE if value in (None, "") else check_choice(value, "protocol", list(PROTOCOLS))


def record_under(record: PredictionRecord | None, protocol: str) -> tuple[PredictionRecord | None, bool]:
    """(the record under `protocol`, or as it is when it was not scored with it; whether it was kept as it is)."""
    if record is None:
        return None, False
    under = record.under(protocol)
    return (record, True) if under is None else (under, False)


def read_as_note(runs: Iterable[Run], protocol: str) -> str:
    """A Markdown line naming the runs not scored with `protocol`, and the protocol they are read under instead."""
    kept = [run for run in runs if protocol not in run.protocols]
    if not kept:
        return ""
    names = "\n".join(f"- {markdown_text(run.name)}: read as {run.protocol}" for run in kept)
    return (
        f"ℹ️ **{len(kept)} run(s) without the {protocol} protocol** (written before scoring protocols existed), "
        f"**read as corrected**: their {protocol} numbers are their corrected ones.\n{names}"
    )


def disagreement_note(dataset: str, document: Document, output: str, who: str) -> str:
    """Markdown saying why the two protocols count `output` differently on `document` (empty when they agree)."""
    from bre_core.disagreements import counts, differing_rules

    by_protocol = {name: counts(dataset, name, document, output) for name in PROTOCOLS}
    if len(set(by_protocol.values())) == 1:
        return ""
    tallies = "; ".join(f"{name}: {tp} correct, {fp} wrong, {fn} missed" for name, (tp, fp, fn) in by_protocol.items())
    head = f"**The protocols count {markdown_text(who)} differently** ({tallies})"
    rules = differing_rules(dataset, document, output)
    if not rules:
        return f"{head}: several rules act together (no single rule changes the counts alone)."
    lines = [
        f"- *{markdown_text(rule.title)}*: study: {markdown_text(rule.study)}; corrected: "
        f"{markdown_text(rule.corrected)}"
        for rule in rules
    ]
    return f"{head}, by the rule(s):\n" + "\n".join(lines)
