"""Shared test set-up: offline Hugging Face, the hand-written fixture corpora and the real corpora when present."""

import os

# Before any Hugging Face import: the test machines have no hub access, and retries cost minutes.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("BRE_ENGINE", "hf")  # the app's live runs on the default engine (test_engines.py tests the other)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "data"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def fixture_data() -> Path:
    return FIXTURE_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real corpora (../shared/data); tests that need them are skipped where they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpora not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixture_runs(tmp_path_factory) -> Path:
    """A folder of run folders written from hand-made outputs over the fixture corpora (see fixture_runs.py)."""
    from fixture_runs import write_fixture_runs

    root = tmp_path_factory.mktemp("runs")
    write_fixture_runs(root, FIXTURE_DATA)
    return root


@pytest.fixture(scope="session")
def ui_context(tmp_path_factory, fixture_runs):
    """Listed models named like the fixture runs' models, but tiny checkpoints; one entry whose folder is gone."""
    import yaml
    from tiny_models import build_tiny_model

    from bre_core.config import load_models_file
    from bre_core.ui.context import AppContext

    folder = tmp_path_factory.mktemp("models")
    t5 = build_tiny_model("t5", folder / "t5")
    gpt2 = build_tiny_model("gpt2", folder / "gpt2")
    entry = {"params": "tiny", "ift": "none", "family": "t5", "architecture": "seq2seq"}
    spec = {
        "models": [
            {"name": "t5-base", "path": t5.path, "domain": "general", **entry},
            {
                "name": "scifive-base",
                "path": gpt2.path,
                "domain": "biomedical",
                **entry,
                "architecture": "causal",
                "family": "gpt2",
            },
            {"name": "gone", "path": str(folder / "missing"), "domain": "general", **entry},
        ],
        "pairs": {"rq1": [["t5-base", "scifive-base"]]},
        "default_pair": ["t5-base", "scifive-base"],
    }
    models_file = folder / "models.yaml"
    models_file.write_text(yaml.safe_dump(spec))
    context = AppContext(models=load_models_file(models_file), data_dir=str(FIXTURE_DATA), runs_dirs=[fixture_runs])
    context.max_new_tokens = 12
    return context
