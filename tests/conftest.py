"""Shared test set-up: offline Hugging Face, the hand-written fixture corpora and the real corpora when present."""

import os

# Before any Hugging Face import: the test machines have no hub access, and retries cost minutes.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

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
