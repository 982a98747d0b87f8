"""The study's task formats, one per dataset: source text, target text, parser and matching rule."""

from __future__ import annotations

from bre_core.errors import UnknownNameError
from bre_core.tasks.base import Key, Task
from bre_core.tasks.cdr import CDRTask
from bre_core.tasks.chemprot import ChemProtTask
from bre_core.tasks.dce import DCETask
from bre_core.tasks.ddi import DDITask
from bre_core.tasks.protocol import CORRECTED, HEADLINE, PROTOCOLS, STUDY, Protocol, get_protocol

TASKS: dict[str, type[Task]] = {"cdr": CDRTask, "chemprot": ChemProtTask, "ddi": DDITask, "dce": DCETask}


def get_task(name: str, protocol: str | Protocol = CORRECTED, targets: str | Protocol | None = None) -> Task:
    """The task of a dataset, reading and matching under `protocol`, writing targets under `targets`."""
    if name not in TASKS:
        raise UnknownNameError("task", name, sorted(TASKS))
    return TASKS[name](protocol, targets)


__all__ = [
    "CORRECTED",
    "HEADLINE",
    "PROTOCOLS",
    "Key",
    "Protocol",
    "STUDY",
    "TASKS",
    "Task",
    "get_protocol",
    "get_task",
]
