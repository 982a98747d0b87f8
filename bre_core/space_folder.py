"""The folder of a Hugging Face Space that serves published checkpoints: app, package, models file, run folders."""

from __future__ import annotations

import os
import shutil
from importlib import metadata
from pathlib import Path

import yaml

from bre_core.runs import MANIFEST, METRICS, PREDICTIONS, Run

RUN_FILES = (MANIFEST, METRICS, PREDICTIONS)
PACKAGE = Path(__file__).resolve().parent
SOURCE = PACKAGE.parent  # the checkout: requirements.txt and assets/ beside the package
APP = '''"""Entry point of a Space written by `python -m bre_core publish`: the app over this folder's models and runs."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no network calls
os.environ.setdefault("BRE_MODELS", str(HERE / "models.yaml"))
os.environ.setdefault("BRE_RUNS_DIR", str(HERE / "runs"))

from bre_core.ui import serve  # noqa: E402

if __name__ == "__main__":
    serve()
'''


class _NoAliases(yaml.SafeDumper):
    """The models file refuses anchors and aliases: never write any, even for values that repeat."""

    def ignore_aliases(self, data) -> bool:
        return True


def write_space(folder: Path, runs: list[Run], models_file: dict, hub_ids: list[str]) -> Path:
    """Write the Space into `folder` (replaced whole, through a sibling folder, so it is never half-written)."""
    folder = Path(folder)
    staging = folder.with_name(f".{folder.name}.writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PACKAGE, staging / "bre_core", ignore=ignore)
    if (SOURCE / "assets").is_dir():
        shutil.copytree(SOURCE / "assets", staging / "assets", ignore=ignore)
    requirements = SOURCE / "requirements.txt"
    if requirements.is_file():
        shutil.copyfile(requirements, staging / "requirements.txt")
    (staging / "app.py").write_text(APP, encoding="utf-8")
    (staging / "models.yaml").write_text(
        "# Written by `python -m bre_core publish`: the models file, and each published checkpoint pinned by commit.\n"
        + yaml.dump(models_file, Dumper=_NoAliases, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    (staging / "README.md").write_text(_readme(hub_ids, runs), encoding="utf-8")
    for run in runs:
        target = staging / "runs" / run.name
        target.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:
            shutil.copyfile(run.path / name, target / name)
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, folder)
    return folder


def _readme(hub_ids: list[str], runs: list[Run]) -> str:
    try:
        gradio = metadata.version("gradio")
    except metadata.PackageNotFoundError:
        gradio = "6.31.0"
    front = [
        "---",
        "title: bre — finetuned general vs biomedical models",
        "sdk: gradio",
        f"sdk_version: {gradio}",
        'python_version: "3.11"',
        "app_file: app.py",
        "pinned: false",
        *(["models:"] + [f"  - {hub_id}" for hub_id in hub_ids] if hub_ids else []),
        "---",
    ]
    body = [
        "",
        "# bre: finetuned checkpoints compared side by side",
        "",
        "Written by `python -m bre_core publish`. The Compare tab serves the finetuned checkpoints below (pinned by",
        "commit in `models.yaml`); the Dashboard and Error cases read the run folders in `runs/`. A research tool,",
        "not for clinical use.",
        "",
        *(f"- [{hub_id}](https://huggingface.co/{hub_id})" for hub_id in hub_ids),
        "",
        f"Run folders: {len(runs)}.",
        "",
    ]
    return "\n".join(front + body)
