"""The app's Corpus tab handlers, called as plain functions, and the app building offline."""

import time

from bre_core.ui.corpus_tab import corpus_overview, show_document


def test_overview_lists_splits_with_ceiling(fixture_data):
    table, message = corpus_overview("cdr", str(fixture_data))
    assert message == ""
    assert table["split"].tolist() == ["train", "validation", "test"]
    assert table["relations"].tolist() == [3, 1, 0]
    assert table.loc[0, "ceiling_f1"] == 0.4


def test_overview_without_data_says_how_to_get_it(tmp_path):
    table, message = corpus_overview("dce", str(tmp_path))
    assert table.empty
    assert "data download --dataset dce" in message


def test_document_by_id_and_by_words(fixture_data):
    passage, source, target, gold, message = show_document("ddi", "test", "Lithium_ddi", str(fixture_data))
    assert passage == "Diuretics raise lithium levels. Diuretics raise lithium levels."
    assert source.startswith("Find all instances of drug-drug relations")
    assert target == "the relation between Diuretics and lithium is mechanism."
    assert gold.to_dict("records") == [{"label": "MECHANISM", "arguments": "Diuretics | lithium"}]
    assert "Lithium_ddi" in message
    by_words = show_document("ddi", "test", "no known INTERACTIONS", str(fixture_data))
    assert by_words[0] == "Water has no known interactions." and by_words[3].empty
    nothing = show_document("ddi", "test", "zebra", str(fixture_data))
    assert nothing[0] == "" and "zebra" in nothing[4]


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
