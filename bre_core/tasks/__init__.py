"""The study's task formats, one per dataset: source text, target text, parser and matching rule."""

from __future__ import annotations

from bre_core.errors import UnknownNameError
from bre_core.tasks.base import Key, Task
from bre_core.tasks.cdr import CDRTask
from bre_core.tasks.chemprot import ChemProtTask
from bre_core.tasks.dce import DCETask
from bre_core.tasks.ddi import DDITask

TASKS: dict[str, type[Task]] = {"cdr": CDRTask, "chemprot": ChemProtTask, "ddi": DDITask, "dce": DCETask}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise UnknownNameError("task", name, sorted(TASKS))
    return TASKS[name]()


__all__ = ["Key", "Task", "TASKS", "get_task"]
