"""models.yaml validation: the shipped file, every kind of mistake with file, line and key, and model resolution."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bre_core.config import ConfigError, ModelSpec, load_models_file, resolve_model
from bre_core.errors import BreError, UnknownNameError

REPO = Path(__file__).resolve().parents[1]
MODELS_YAML = (REPO / "models.yaml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_models_file(write(tmp_path, text))
    return caught.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_shipped_models_file_loads_with_its_metadata():
    models = load_models_file()
    assert len(models.models) == 19 + 6  # the study's, and the 7-8B LLM pairs (llm_rq1)
    flan = models.get("flan-t5-base")
    assert (flan.hub_id, flan.path, flan.architecture, flan.params, flan.domain, flan.ift, flan.family) == (
        "google/flan-t5-base",
        None,
        "seq2seq",
        "248M",
        "general",
        "general",
        "t5",
    )
    assert models.get("biomedlm").architecture == "causal"
    assert models.default_pair == ("flan-t5-base", "in-boxbart")
    assert models.pairs["rq1"][4] == ("gpt2-medium", "biogpt")
    assert len(models.pairs["rq2"]) == 4


def test_models_file_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, MODELS_YAML.replace("name: t5-small,", "name: my-t5,").replace("[t5-small,", "[my-t5,"))
    monkeypatch.setenv("BRE_MODELS", str(path))
    assert load_models_file().names[0] == "my-t5"


def test_unknown_key_names_file_line_key_and_allowed_keys(tmp_path):
    text = MODELS_YAML.replace(
        "params: 220M, domain: general, ift: none, family: t5}",
        "params: 220M, domian: general, ift: none, family: t5}",
        1,
    )
    error = error_for(tmp_path, text)
    line = line_of(text, "domian")
    assert (
        f"models.yaml, line {line}: models[1].domian: unknown key (did you mean 'domain'?); allowed: name, "
        f"hub_id, path, revision, architecture, params, domain, ift, family" in str(error)
    )
    assert f"models.yaml, line {line}: models[1].domain: required key missing" in str(error)
    assert error.line == line and error.path == tmp_path / "models.yaml"


def test_bad_value_names_the_choices(tmp_path):
    text = MODELS_YAML.replace("architecture: causal, params: 355M", "architecture: decoder, params: 355M")
    error = error_for(tmp_path, text)
    assert (
        f"line {line_of(text, 'architecture: decoder')}: models[13].architecture: Input should be 'seq2seq' or 'causal' "
        f"(got 'decoder')" in str(error)
    )


def test_hub_id_and_path_are_exclusive(tmp_path):
    error = error_for(tmp_path, MODELS_YAML.replace("hub_id: t5-small,", "hub_id: t5-small, path: here,"))
    assert "models[0]: give exactly one of hub_id (a Hugging Face hub id) or path (a local folder)" in str(error)
    error = error_for(tmp_path, MODELS_YAML.replace("hub_id: t5-small,", ""))
    assert "models[0]: give exactly one of hub_id" in str(error)


def test_duplicate_names_are_rejected(tmp_path):
    text = MODELS_YAML.replace("- {name: t5-large, hub_id: t5-large,", "- {name: t5-base, hub_id: t5-large,")
    error = error_for(tmp_path, text)
    assert str(error).endswith(
        f"models.yaml, line {line_of(text, 'hub_id: t5-large')}: models[2].name: duplicate "
        f"model name 't5-base' (also models[1]); names must be unique"
    )


def test_unknown_pair_name_suggests_the_closest(tmp_path):
    text = MODELS_YAML.replace("[t5-base, scifive-base]", "[t5-base, scifive-bse]")
    error = error_for(tmp_path, text)
    assert (
        f"line {line_of(text, 'scifive-bse')}: pairs.rq1[0][1]: Unknown model 'scifive-bse'. Did you mean "
        f"'scifive-base'? Available: t5-small, t5-base" in str(error)
    )
    error = error_for(tmp_path, MODELS_YAML.replace("default_pair: [flan-t5-base,", "default_pair: [flan-t5,"))
    assert "default_pair[0]: Unknown model 'flan-t5'." in str(error)


def test_a_pair_has_two_names(tmp_path):
    error = error_for(tmp_path, MODELS_YAML.replace("[t5-small, flan-t5-small]", "[t5-small]"))
    assert "pairs.rq2[0][1]: a pair is two model names" in str(error)


def test_yaml_syntax_error_gives_the_line(tmp_path):
    text = MODELS_YAML + "extra: [unclosed\n"
    error = error_for(tmp_path, text)
    assert error.line == len(text.splitlines()) + 1
    assert "not valid YAML" in str(error)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the models file"):
        load_models_file(tmp_path / "absent.yaml")
    assert issubclass(ConfigError, BreError)


def test_relative_paths_are_relative_to_the_models_file(tmp_path):
    text = MODELS_YAML.replace("hub_id: t5-small,", "path: checkpoints/t5,")
    models = load_models_file(write(tmp_path, text))
    assert models.get("t5-small").path == str(tmp_path / "checkpoints" / "t5")


def test_model_spec_rules():
    with pytest.raises(ValidationError, match="revision pins a hub_id"):
        ModelSpec(name="x", path="/m", revision="abc", architecture="causal", family="gpt2")
    with pytest.raises(ValidationError, match="extra"):
        ModelSpec(name="x", hub_id="gpt2", architecture="causal", family="gpt2", trust_remote_code=True)


def test_resolve_by_name_and_unknown_names():
    models = load_models_file()
    assert resolve_model("biogpt", models).hub_id == "microsoft/biogpt"
    with pytest.raises(UnknownNameError, match="Did you mean 'biogpt'"):
        resolve_model("biogtp", models)
    # A hub id that models.yaml does not list is refused: the app must not download arbitrary code or weights.
    with pytest.raises(UnknownNameError, match="add it to models.yaml"):
        resolve_model("someone/some-model", models)


@pytest.mark.parametrize("encoder_decoder, architecture", [(True, "seq2seq"), (False, "causal")])
def test_resolve_a_local_folder(tmp_path, encoder_decoder, architecture):
    (tmp_path / "config.json").write_text(json.dumps({"is_encoder_decoder": encoder_decoder, "model_type": "bart"}))
    spec = resolve_model(str(tmp_path), load_models_file())
    assert (spec.path, spec.hub_id, spec.architecture, spec.family, spec.domain) == (
        str(tmp_path.resolve()),
        None,
        architecture,
        "bart",
        None,
    )
    with pytest.raises(UnknownNameError):  # the app names listed models only
        resolve_model(str(tmp_path), load_models_file(), allow_path=False)


def test_resolve_a_listed_folder_keeps_its_entry(tmp_path):
    folder = tmp_path / "ft"
    folder.mkdir()
    models = load_models_file(write(tmp_path, MODELS_YAML.replace("hub_id: cogint/in-boxbart,", "path: ft,")))
    spec = resolve_model(str(folder), models)
    assert (spec.name, spec.ift) == ("in-boxbart", "biomedical")


def test_resolve_a_folder_without_config(tmp_path):
    with pytest.raises(ConfigError, match="not a model folder"):
        resolve_model(str(tmp_path), load_models_file())


def test_config_does_not_import_torch():
    code = "import sys, bre_core.config; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"


def test_remote_code_is_never_trusted():
    offenders = [str(p) for p in (REPO / "bre_core").rglob("*.py") if "trust_remote_code=True" in p.read_text()]
    assert offenders == []
