"""models.yaml: the study's 19 models, their metadata, and comparison pairs that name existing models."""

from pathlib import Path

import pytest
import yaml

from bre_core.config import load_models_file
from bre_core.yaml_errors import ConfigError

MODELS_FILE = Path(__file__).resolve().parents[1] / "models.yaml"

STUDY_HUB_IDS = {
    "t5-small",
    "t5-base",
    "t5-large",
    "google/flan-t5-small",
    "google/flan-t5-base",
    "google/flan-t5-large",
    "razent/SciFive-base-Pubmed",
    "razent/SciFive-large-Pubmed",
    "facebook/bart-base",
    "facebook/bart-large",
    "GanjinZero/biobart-v2-base",
    "GanjinZero/biobart-v2-large",
    "cogint/in-boxbart",
    "gpt2-medium",
    "gpt2-xl",
    "EleutherAI/gpt-neo-2.7B",
    "microsoft/biogpt",
    "microsoft/BioGPT-Large",
    "stanford-crfm/BioMedLM",
}


def test_models_file_lists_the_study_models():
    spec = yaml.safe_load(MODELS_FILE.read_text())
    llms = {name for pair in spec["pairs"]["llm_rq1"] for name in pair}  # beyond the study: test_llm.py
    models = {m["name"]: m for m in spec["models"] if m["name"] not in llms}
    assert len(models) == len(spec["models"]) - 6 == 19
    assert {m["hub_id"] for m in models.values()} == STUDY_HUB_IDS
    assert {m["architecture"] for m in models.values()} == {"seq2seq", "causal"}
    assert sum(m["architecture"] == "seq2seq" for m in models.values()) == 13
    assert [name for name, m in models.items() if m["ift"] == "biomedical"] == ["in-boxbart"]
    for pair in spec["pairs"]["rq1"]:
        general, biomedical = (models[name] for name in pair)
        assert (general["domain"], biomedical["domain"]) == ("general", "biomedical")
        assert general["architecture"] == biomedical["architecture"]
    for pair in spec["pairs"]["rq2"]:
        plain, tuned = (models[name] for name in pair)
        assert plain["ift"] == "none" and tuned["ift"] != "none"
    assert all(name in models for name in spec["default_pair"])


FINETUNED = (
    "  - {name: flan-t5-base-chemprot, hub_id: someone/bre-flan-t5-base-chemprot, revision: %s,\n"
    "     finetuned: {base: %s, dataset: %s, setting: full, seed: 42}}\n"
)


def _with_entry(tmp_path, entry: str):
    text = MODELS_FILE.read_text(encoding="utf-8")
    path = tmp_path / "models.yaml"
    path.write_text(text.replace("models:\n", "models:\n" + entry, 1), encoding="utf-8")
    return path


def test_a_finetuned_entry_takes_what_it_leaves_out_from_its_base_model(tmp_path):
    models = load_models_file(_with_entry(tmp_path, FINETUNED % ("a" * 40, "flan-t5-base", "chemprot")))
    spec = models.get("flan-t5-base-chemprot")
    assert (spec.architecture, spec.params, spec.domain, spec.ift, spec.family) == (
        "seq2seq",
        "248M",
        "general",
        "general",
        "t5",
    )
    assert (spec.finetuned.base, spec.finetuned.dataset, spec.finetuned.setting, spec.finetuned.seed) == (
        "flan-t5-base",
        "chemprot",
        "full",
        42,
    )
    assert models.get("flan-t5-base").finetuned is None


def test_a_finetuned_entry_naming_an_unknown_base_or_dataset_is_an_error_at_its_line(tmp_path):
    with pytest.raises(ConfigError, match=r"line 9: models\[0\]\.finetuned\.base: .*Did you mean 'flan-t5-base'"):
        load_models_file(_with_entry(tmp_path, FINETUNED % ("a" * 40, "flan-t5-bse", "chemprot")))
    with pytest.raises(ConfigError, match=r"line 9: models\[0\]\.finetuned\.dataset: .*'chemprot'"):
        load_models_file(_with_entry(tmp_path, FINETUNED % ("a" * 40, "flan-t5-base", "chemprt")))
