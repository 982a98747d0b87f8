"""The grid command: list, print or run the planned runs of an experiment file, skipping finished ones."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import time
from collections import Counter

from bre_core.errors import BreError
from bre_core.experiments.spec import PlannedRun, format_number, load_experiment
from bre_core.results import is_complete

# --- the grid command ------------------------------------------------------------------------------


def select_runs(runs: list[PlannedRun], pattern: str | None) -> list[PlannedRun]:
    """The runs whose name matches a glob pattern (all of them for None)."""
    if pattern is None:
        return list(runs)
    return [run for run in runs if fnmatch.fnmatchcase(run.name, pattern)]


def grid_command(args) -> int:
    """`python -m bre_core grid SPEC [--dry-run | --print-commands] [--only PATTERN] [--out DIR] [--data-dir DIR]`."""
    experiment = load_experiment(args.spec)
    runs = experiment.plan(out=getattr(args, "out", None), data_dir=getattr(args, "data_dir", None))
    pattern = getattr(args, "only", None)
    if pattern is not None:
        runs = select_runs(runs, pattern)
        if not runs:
            example = experiment.plan()[0].name
            raise BreError(f"no run of {args.spec} matches --only {pattern!r} (run names look like {example})")
    if getattr(args, "print_commands", False):
        return _print_commands(runs, args.spec)
    if getattr(args, "dry_run", False):
        return _dry_run(runs, args.spec)
    return run_grid(runs)


def _dry_run(runs: list[PlannedRun], spec: str) -> int:
    statuses = [run.status() for run in runs]
    print(f"{'status':<8} {'kind':<9} {'model':<17} {'dataset':<9} {'setting':<9} {'seed':>4} {'epochs':>6}  run")
    for run, status in zip(runs, statuses):
        seed = "" if run.seed is None else str(run.seed)
        epochs = "" if run.epochs is None else format_number(run.epochs)
        print(
            f"{status:<8} {run.kind:<9} {run.model:<17} {run.dataset:<9} {run.setting:<9} {seed:>4} {epochs:>6}  "
            f"{run.name}"
        )
    finetune = Counter(run.setting for run in runs if run.kind == "finetune")
    by_setting = ", ".join(f"{setting} {finetune[setting]}" for setting in sorted(finetune, key=_setting_order))
    counts = Counter(statuses)
    folders = sorted({str(run.folder.parent) for run in runs})
    print(f"{spec}: {len(runs)} runs in {', '.join(folders)}")
    print(f"finetuning runs: {sum(finetune.values())}" + (f" ({by_setting})" if by_setting else ""))
    print(f"evaluation runs: {sum(1 for run in runs if run.kind == 'evaluate')}")
    print(f"done {counts['done']}, partial {counts['partial']}, pending {counts['pending']}")
    return 0


def _setting_order(setting: str) -> tuple[int, int]:
    return (0, 0) if setting == "full" else (1, int(setting[1:]))


def _print_commands(runs: list[PlannedRun], spec: str) -> int:
    todo = [run for run in runs if run.status() != "done"]
    for run in todo:
        print(run.command)
    print(f"# {len(todo)} commands from {spec} ({len(runs) - len(todo)} runs complete already)", file=sys.stderr)
    return 0


def _execute(argv: tuple[str, ...]) -> int:
    """Run `python -m bre_core ARGV` in a child process (a crash or out-of-memory there stops that run only)."""
    return subprocess.run([sys.executable, "-m", "bre_core", *argv], check=False).returncode


def run_grid(runs: list[PlannedRun]) -> int:
    """Run the runs that are not complete, one after the other; 1 when any failed, else 0."""
    todo = [run for run in runs if run.status() != "done"]
    skipped = len(runs) - len(todo)
    if skipped:
        print(f"{skipped} of {len(runs)} runs complete already: skipped", flush=True)
    done: list[str] = []
    failed: list[tuple[str, str]] = []
    try:
        for number, run in enumerate(todo, 1):
            print(f"[{number}/{len(todo)}] {run.name}: {run.command}", flush=True)
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
                print(f"[{number}/{len(todo)}] {run.name}: done in {took}", flush=True)
            else:
                failed.append((run.name, why))
                print(f"[{number}/{len(todo)}] {run.name}: FAILED ({why}) after {took}", flush=True)
    except KeyboardInterrupt:
        _summary(done, failed, skipped, interrupted=True)
        raise
    _summary(done, failed, skipped)
    return 1 if failed else 0


def _summary(done: list[str], failed: list[tuple[str, str]], skipped: int, interrupted: bool = False) -> None:
    head = "grid interrupted" if interrupted else "grid finished"
    print(f"{head}: {len(done)} done, {len(failed)} failed, {skipped} skipped (complete already)", flush=True)
    for name, why in failed:
        print(f"  failed: {name} ({why})", flush=True)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"
