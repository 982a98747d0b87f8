"""models.yaml: the study's 19 models, their metadata, and comparison pairs that name existing models."""

from pathlib import Path

import yaml

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
    models = {m["name"]: m for m in spec["models"]}
    assert len(models) == len(spec["models"]) == 19
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
