"""What a page with nothing to show lacks (corpora, run folders, loadable models), each with the command that fixes it."""

from __future__ import annotations

import re
from pathlib import Path

from bre_core.config import ModelSpec
from bre_core.errors import BreError
from bre_core.hub_access import offline_setting
from bre_core.ui.compare_view import markdown_text
from bre_core.ui.context import AppContext

EVALUATE = "python -m bre_core evaluate --model {model} --dataset {task} --split test --out runs"
PLAIN = re.compile(r"[\w./:=-]+( [\w./:=-]+)*")  # what a command in a code span may hold: no Markdown to escape


def command(text: str) -> str:
    """A command as a Markdown code span when it holds only plain characters, else as escaped text."""
    return f"`{text}`" if PLAIN.fullmatch(text) else markdown_text(text)


def model_available(spec: ModelSpec) -> bool:
    """Whether the model can be loaded without asking the hub when the hub is off limits (always, when it is not:
    the hub is not probed here, so that opening a page never waits on the network)."""
    if spec.path is not None:
        return (Path(spec.path) / "config.json").is_file()
    if offline_setting() is None:
        return True
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(spec.hub_id, "config.json", revision=spec.revision), str)


def missing_corpus(ctx: AppContext, task: str, split: str = "test") -> str | None:
    """Why the task's corpus cannot be read (its error says which command gets it), or None."""
    try:
        ctx.documents(task, split)
    except BreError as exc:
        return str(exc)
    return None


def bare_state(ctx: AppContext, task: str, models: tuple[str, str]) -> str:
    """Markdown naming each thing the Compare tab lacks here and the one command that provides it; '' when none."""
    lines = []
    if missing_corpus(ctx, task) is not None:
        lines.append(
            f"- **No {markdown_text(task)} corpus** in {markdown_text(ctx.data_dir or './data')}, so no benchmark "
            "example (free text works): "
            + command(f"python -m bre_core data download --dataset {task} --data-dir {ctx.data_dir or 'data'}")
        )
    runs, _ = ctx.runs()
    if not runs:
        lines.append(
            "- **No run folders**, so no precomputed answers (every comparison runs the models live): "
            f"{command(EVALUATE.format(model=models[0], task=task))}, then start the app with "
            f"{command('BRE_RUNS_DIR=runs python app.py')}."
        )
    unavailable = []
    for name in dict.fromkeys(models):
        try:
            spec = ctx.spec(name)
        except BreError:
            continue
        if not model_available(spec):
            unavailable.append(spec)
    for spec in unavailable:
        name = markdown_text(spec.name)
        if spec.hub_id:
            lines.append(
                f"- **Model {name} cannot be loaded here**: the Hugging Face hub is off limits "
                f"({markdown_text(offline_setting())}) and the model is not in the local cache: "
                f"{command(f'hf download {spec.hub_id}')} on a machine with internet access, then copy its "
                "Hugging Face cache here."
            )
        else:
            lines.append(
                f"- **Model {name} cannot be loaded here**: {markdown_text(spec.path)} holds no model (no "
                "config.json): copy the model folder there, or fix its path in the models file."
            )
    if not lines:
        return ""
    return "**Before the first comparison, this app lacks:**\n" + "\n".join(lines)
