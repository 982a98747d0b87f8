"""Grids as data: plan an experiment file's runs, count them, and run those not finished, each in its own process."""

from __future__ import annotations

import fnmatch
import logging
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bre_core.errors import BreError
from bre_core.experiments.spec import PlannedRun, load_experiment
from bre_core.runs import is_complete
from bre_core.settings import parse_setting

log = logging.getLogger(__name__)


def select_runs(runs: list[PlannedRun], pattern: str | None) -> list[PlannedRun]:
    """The runs whose name matches a glob pattern (all of them for None)."""
    if pattern is None:
        return list(runs)
    return [run for run in runs if fnmatch.fnmatchcase(run.name, pattern)]


def plan_grid(spec: str | Path, *, out=None, data_dir=None, only: str | None = None) -> list[PlannedRun]:
    """The runs an experiment file plans (under `out` and reading `data_dir` when given), or those matching `only`."""
    experiment = load_experiment(spec)
    runs = experiment.plan(out=out, data_dir=data_dir)
    if only is not None:
        runs = select_runs(runs, only)
        if not runs:
            example = experiment.plan()[0].name
            raise BreError(f"no run of {spec} matches --only {only!r} (run names look like {example})")
    return runs


@dataclass(frozen=True)
class GridCounts:
    """What a list of planned runs holds: statuses, finetuning runs by setting, evaluations, output folders."""

    statuses: tuple[str, ...]  # "done", "partial" or "pending", one per run
    finetune_by_setting: dict[str, int]  # full first, then k ascending
    evaluations: int
    folders: tuple[str, ...]
    evaluate_by_setting: dict[str, int] = field(default_factory=dict)  # zero-shot first, then icl-kN


def grid_counts(runs: list[PlannedRun]) -> GridCounts:
    finetune = Counter(run.setting for run in runs if run.kind == "finetune")
    evaluations = Counter(run.setting for run in runs if run.kind == "evaluate")
    return GridCounts(
        statuses=tuple(run.status() for run in runs),
        finetune_by_setting={setting: finetune[setting] for setting in sorted(finetune, key=_setting_order)},
        evaluations=sum(evaluations.values()),
        evaluate_by_setting=dict(sorted(evaluations.items(), key=lambda item: (item[0] != "zero-shot", item[0]))),
        folders=tuple(sorted({str(run.folder.parent) for run in runs})),
    )


def _setting_order(setting: str) -> tuple:
    plan = parse_setting(setting)
    return (plan.peft or "", 0 if plan.k is None else 1, plan.k or 0)


@dataclass(frozen=True)
class GridResult:
    """The runs a grid ran: names done, (name, why) failed, and how many were complete already."""

    done: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    skipped: int
    interrupted: bool = False


def _execute(argv: tuple[str, ...]) -> int:
    """Run `python -m bre_core ARGV` in a child process (a crash or out-of-memory there stops that run only)."""
    return subprocess.run([sys.executable, "-m", "bre_core", *argv], check=False).returncode


def run_grid(runs: list[PlannedRun], report: Callable[[str], None] = log.info) -> GridResult:
    """Run the runs that are not complete, one after the other, each in its own process.

    `report` receives a line as each run starts and ends. On Ctrl-C the result so far is given to `report`
    through the exception's `grid_result` attribute and the KeyboardInterrupt goes on.
    """
    todo = [run for run in runs if run.status() != "done"]
    skipped = len(runs) - len(todo)
    if skipped:
        report(f"{skipped} of {len(runs)} runs complete already: skipped")
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    try:
        for number, run in enumerate(todo, 1):
            report(f"[{number}/{len(todo)}] {run.name}: {run.command}")
            started = time.monotonic()
            try:
                code = _execute(run.argv)
            except OSError as exc:
                code, why = None, f"could not start: {exc}"
            else:
                why = f"exit code {code}"
            took = _duration(time.monotonic() - started)
            if code == 0 and not is_complete(run.folder):
                code, why = 1, f"exited 0 but {run.folder} is not a complete run folder"
            if code == 0:
                done.append(run.name)
                report(f"[{number}/{len(todo)}] {run.name}: done in {took}")
            else:
                failed.append((run.name, why))
                report(f"[{number}/{len(todo)}] {run.name}: FAILED ({why}) after {took}")
    except KeyboardInterrupt as interrupt:
        interrupt.grid_result = GridResult(tuple(done), tuple(failed), skipped, interrupted=True)
        raise
    return GridResult(tuple(done), tuple(failed), skipped)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
