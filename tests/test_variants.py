"""Model variants from the runs folders and the models file, the exact run behind a precomputed answer, the default pair."""

import shutil
from pathlib import Path

import pytest
import yaml

from bre_core.config import load_models_file
from bre_core.errors import BreError, InputError
from bre_core.runs import read_run
from bre_core.runs.default_pair import default_pair
from bre_core.runs.variants import discover_variants, run_variant_key
from bre_core.ui.compare_tab import BENCHMARK, FREE_TEXT, compare_text, run_comparison
from bre_core.ui.context import AppContext


def test_fixture_runs_without_checkpoints_are_variants_with_predictions_only(ui_context):
    ids = [v.id for v in ui_context.variants() if v.model == "t5-base"]
    assert ids[:1] == ["t5-base"]  # as published first
    assert "t5-base@chemprot-full-seed42" in ids and "t5-base@ddi-k16-seed1" in ids
    variant = ui_context.variant("t5-base@chemprot-k16-seed1")
    assert (variant.dataset, variant.setting, variant.seed, variant.spec) == ("chemprot", "k16", 1, None)
    assert variant.label == "finetuned on chemprot: k16, seed 1 (predictions only)"
    with pytest.raises(BreError, match="holds predictions only"):
        ui_context.spec("t5-base@chemprot-k16-seed1")
    # flan-t5-base has fixture runs but is not in this models file: never offered
    assert not [v for v in ui_context.variants() if v.model == "flan-t5-base"]


def test_precomputed_answers_come_from_the_run_of_exactly_that_variant(ui_context):
    for seed in (0, 1):
        record, run = ui_context.precomputed(f"t5-base@chemprot-k16-seed{seed}", "chemprot", "train", "1001")
        assert run.name == f"t5-base__chemprot__train__k16__seed{seed}"
        assert record.output == [r for r in run.predictions if r.id == "1001"][0].output
    # as published: only a zero-shot run would do, and the fixtures have none
    assert ui_context.precomputed("t5-base", "chemprot", "train", "1001") is None
    shown = run_comparison(
        ui_context,
        "chemprot",
        "t5-base@chemprot-k16-seed0",
        "t5-base@chemprot-k16-seed1",
        BENCHMARK,
        split="train",
        example_id="1001",
    )
    assert "k16\\_\\_seed0" in shown.a.caption and "k16\\_\\_seed1" in shown.b.caption
    # a predictions-only variant on free text: its column says why, the other still runs
    free = run_comparison(ui_context, "chemprot", "t5-base@chemprot-k16-seed0", "t5-base", FREE_TEXT, text="Aspirin.")
    assert "holds predictions only" in free.a.caption and "live ·" in free.b.caption


def test_a_variant_is_only_an_id_the_server_knows(ui_context):
    for name in ["t5-base@chemprot-full-seed7", "/tmp/x/checkpoint", "t5-base@../../etc"]:
        with pytest.raises(InputError, match="Unknown model"):
            compare_text(ui_context, "chemprot", name, "t5-base", "Aspirin.")
    with pytest.raises(InputError, match="Unknown model"):
        ui_context.variant(["t5-base"])


def test_the_manifest_decides_the_variant_of_a_run():
    model = {"name": "t5-base"}
    assert run_variant_key({"model": model, "setting": "zero-shot-first5"}) == ("t5-base", None, "zero-shot", None)
    assert run_variant_key({"model": model, "dataset": "cdr", "setting": "k64", "seed": 3}) == (
        "t5-base",
        "cdr",
        "k64",
        3,
    )
    lineage = {"base": "t5-base", "dataset": "ddi", "setting": "full", "seed": 42}
    finetuned = {"model": {"name": "t5-base@ddi-full-seed42", "finetuned": lineage}, "setting": "zero-shot"}
    assert run_variant_key(finetuned) == ("t5-base", "ddi", "full", 42)


@pytest.fixture
def runs_with_checkpoints(tmp_path, fixture_runs, ui_context):
    """Copies of two fixture runs with a checkpoint folder each and a validation curve, plus a models file entry."""
    import json

    runs = tmp_path / "runs"
    scores = {"t5-base__chemprot__train__full__seed42": 0.5, "scifive-base__chemprot__train__full__seed42": 0.75}
    for name, f1 in scores.items():
        shutil.copytree(Path(fixture_runs) / name, runs / name)
        (runs / name / "checkpoint").mkdir()
        (runs / name / "checkpoint" / "config.json").write_text("{}")
        metrics = json.loads((runs / name / "metrics.json").read_text())
        metrics["validation_curve"] = [{"epoch": 1, "micro_f1": f1 / 2}, {"epoch": 2, "micro_f1": f1}]
        metrics["best_epoch"] = 2
        (runs / name / "metrics.json").write_text(json.dumps(metrics))
    return runs


def test_checkpoints_make_runnable_variants_and_the_default_pair(runs_with_checkpoints, ui_context):
    ctx = AppContext(models=ui_context.models, data_dir=ui_context.data_dir, runs_dirs=[runs_with_checkpoints])
    variant = ctx.variant("scifive-base@chemprot-full-seed42")
    assert variant.validation_f1 == 0.75 and variant.source == "checkpoint"
    assert variant.label == "finetuned on chemprot: full, seed 42 (validation micro-F1 0.750)"
    spec = ctx.spec(variant.id)
    assert spec.path == str(runs_with_checkpoints / "scifive-base__chemprot__train__full__seed42" / "checkpoint")
    assert (spec.architecture, spec.domain, spec.name) == ("causal", "biomedical", variant.id)  # the base's metadata
    pair = ctx.default_pair("chemprot")
    assert (pair.a, pair.b, pair.note) == ("t5-base@chemprot-full-seed42", "scifive-base@chemprot-full-seed42", "")
    assert ctx.default_pair("cdr").note.startswith("No finetuned checkpoint for cdr yet: t5-base and scifive-base")
    from bre_core.ui.variant_picker import column_state

    columns, note = column_state(ctx, "cdr")
    assert [(model, variant) for model, variant, _ in columns] == [
        ("t5-base", "t5-base"),
        ("scifive-base", "scifive-base"),
    ]
    assert "`python -m bre_core finetune --model scifive-base --dataset cdr --setting full --out runs`." in note


def test_a_models_file_entry_with_lineage_is_that_variant_and_keeps_its_name(
    runs_with_checkpoints, ui_context, tmp_path
):
    data = {
        "models": [m.model_dump(mode="json", exclude_none=True) for m in ui_context.models.models]
        + [
            {
                "name": "t5-base-chemprot",
                "hub_id": "me/bre-t5-base-chemprot",
                "revision": "a" * 40,
                "finetuned": {"base": "t5-base", "dataset": "chemprot", "setting": "full", "seed": 42},
            }
        ],
        "pairs": {"rq1": [["t5-base", "scifive-base"]]},
        "default_pair": ["t5-base", "scifive-base"],
    }
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data))
    models = load_models_file(path)
    run = read_run(runs_with_checkpoints / "t5-base__chemprot__train__full__seed42")
    variants = discover_variants(models, [run])
    [merged] = [v for v in variants if v.model == "t5-base" and v.finetuned]
    assert merged.id == "t5-base-chemprot" and merged.source == "models file"  # the models file's weights
    assert merged.spec.hub_id == "me/bre-t5-base-chemprot" and merged.run == run.path and merged.validation_f1 == 0.5
    pair = default_pair(models, variants, "chemprot")
    assert (pair.a, pair.b) == ("t5-base-chemprot", "scifive-base")  # the RQ1 pair lacks one side: default pair


def test_a_lora_adapter_checkpoint_is_a_runnable_variant(tmp_path, fixture_runs, ui_context):
    # finetune --peft lora saves the adapter only (peft's adapter_config.json, no config.json): load_model merges it
    runs = tmp_path / "runs"
    name = "t5-base__chemprot__train__k16__seed0"
    shutil.copytree(Path(fixture_runs) / name, runs / name)
    (runs / name / "checkpoint").mkdir()
    (runs / name / "checkpoint" / "adapter_config.json").write_text("{}")
    ctx = AppContext(models=ui_context.models, data_dir=ui_context.data_dir, runs_dirs=[runs])
    variant = ctx.variant("t5-base@chemprot-k16-seed0")
    assert variant.source == "checkpoint" and variant.spec.path == str(runs / name / "checkpoint")
    assert variant.label == "finetuned on chemprot: k16, seed 0"
