"""The app's Corpus tab handlers, called as plain functions, and the app building offline."""

import time

from bre_core.ui.corpus_tab import corpus_overview, show_document


def test_overview_lists_splits_with_ceiling(fixture_data):
    table, message = corpus_overview("cdr", str(fixture_data))
    assert message == ""
    assert table.columns.tolist() == [
        "split",
        "documents",
        "relations (as scored)",
        "relations annotated",
        "best F1 the format allows",
        "relations by class",
    ]
    assert table["split"].tolist() == ["train", "validation", "test"]
    assert table["relations (as scored)"].tolist() == ["3", "1", "0"]
    assert table["best F1 the format allows"].tolist() == ["0.4000", "1.0000", "0.0000"]


def test_overview_formats_the_real_corpus(shared_data):
    train = corpus_overview("chemprot", str(shared_data))[0].iloc[0].to_dict()
    assert train["documents"] == "1,020" and train["relations (as scored)"] == "3,346"
    assert train["relations annotated"] == "4,157" and train["best F1 the format allows"] == "0.9970"
    assert train["relations by class"].startswith("CPR:3 upregulation 617, CPR:4 downregulation 1,762, ")


def test_overview_without_data_says_how_to_get_it(tmp_path):
    table, message = corpus_overview("dce", str(tmp_path))
    assert table.empty
    assert "data download --dataset dce" in message


def test_document_by_id_and_by_words(fixture_data):
    passage, source, target, gold, message = show_document("ddi", "test", "Lithium_ddi", str(fixture_data))
    # the passage with its gold entities marked by type, and a legend of the types
    group, drug = "<mark style='background: #f6efc0' title='GROUP'>", "<mark style='background: #cfe3fb' title='DRUG'>"
    assert passage.endswith(
        f"<div class='bre-passage'>{group}Diuretics</mark> raise {drug}lithium</mark> levels. "
        f"{group}Diuretics</mark> raise {drug}lithium</mark> levels.</div>"
    )
    assert passage.startswith("<div class='bre-legend'>Gold entities by type: <mark style='background: #cfe3fb'>DRUG")
    assert source.startswith("Find all instances of drug-drug relations")
    assert target == "the relation between Diuretics and lithium is mechanism."
    assert gold.to_dict("records") == [{"class": "MECHANISM", "arguments": "Diuretics | lithium"}]
    assert message == "Document **Lithium\\_ddi** (1 of 2 in ddi test)."
    by_words = show_document("ddi", "test", "no known INTERACTIONS", str(fixture_data))
    assert "Water has no known interactions." in by_words[0] and by_words[3].empty
    nothing = show_document("ddi", "test", "zebra", str(fixture_data))
    assert nothing[0] == "" and "zebra" in nothing[4]


def test_chemprot_classes_are_named_with_their_words(fixture_data):
    gold = show_document("chemprot", "train", "1001", str(fixture_data))[3]
    assert gold.to_dict("records") == [
        {"class": "CPR:4 downregulation", "arguments": "Aspirin | COX-2"},
        {"class": "CPR:4 downregulation", "arguments": "salicylate | COX-2"},
        {"class": "CPR:3 upregulation", "arguments": "Aspirin | NF-kB"},
        {"class": "CPR:6 antagonist", "arguments": "Ibuprofen | PPAR gamma"},
    ]


def test_a_passage_with_markup_stays_text(fixture_data):
    from bre_core.schema import Document, Entity
    from bre_core.ui.passage_view import entity_passage

    text = "<b>x</b> and aspirin"
    entity = Entity("e1", "<i>Type</i>", ("aspirin",), ((13, 20),))
    shown = entity_passage(Document("d", "ddi", "test", text, (entity,)))
    assert (
        "&lt;b&gt;x&lt;/b&gt; and <mark style='background: #d9ead3' title='&lt;i&gt;Type&lt;/i&gt;'>aspirin</mark>"
        in shown
    )
    assert "<b>" not in shown and "<i>" not in shown


def test_app_builds_offline_quickly(fixture_data):
    from bre_core.ui import build_app

    start = time.monotonic()
    app = build_app(data_dir=str(fixture_data))
    assert time.monotonic() - start < 10
    assert app.title.startswith("bre")


def test_about_lists_every_scoring_rule_on_which_the_protocols_differ():
    from bre_core.tasks.protocol import SCORING_RULES
    from bre_core.ui.about_tab import protocols_table

    lines = protocols_table().splitlines()
    assert lines[:2] == ["| rule | study | corrected |", "|---|---|---|"] and len(lines) == 2 + len(SCORING_RULES)
    assert lines[2 + [r.field for r in SCORING_RULES].index("counts_duplicate_gold")] == (
        "| duplicate gold | a relation annotated twice counts twice (DDI test: 979 relations, 951 distinct) | "
        "gold relations are counted once per distinct key |"
    )
