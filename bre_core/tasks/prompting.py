"""Prompting protocols for decoder-only LLMs, as text: zero-shot and icl-kN (N seeded training demonstrations).

A prompt is the study's source for the passage, preceded by N demonstrations, each the study's source of a training
document followed by its target. How it becomes tokens (a chat template, or the plain text) is for the model's
tokenizer to say: bre_core.models.prompts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bre_core.errors import BreError
from bre_core.schema import Document
from bre_core.tasks.base import Task

ZERO_SHOT = "zero-shot"
DEFAULT_DEMONSTRATION_SEED = 0
# Between two examples of a plain prompt. Targets never hold a newline, so a generation stops at its first one.
PLAIN_SEPARATOR = "\n\n"
PLAIN_STOP = "\n"


@dataclass(frozen=True)
class PromptSetting:
    """zero-shot (k = 0) or icl-kN (N demonstrations from the training split, drawn with `seed`)."""

    name: str
    k: int
    seed: int = DEFAULT_DEMONSTRATION_SEED

    @property
    def in_context(self) -> bool:
        return self.k > 0


def parse_prompt_setting(name: str, seed: int = DEFAULT_DEMONSTRATION_SEED) -> PromptSetting:
    """`zero-shot`, or `icl-k<N>` (N >= 1 demonstrations).

    >>> parse_prompt_setting("icl-k4")
    PromptSetting(name='icl-k4', k=4, seed=0)
    """
    if name == ZERO_SHOT:
        return PromptSetting(ZERO_SHOT, 0, seed)
    match = re.fullmatch(r"icl-k([1-9][0-9]*)", name or "")
    if not match:
        raise BreError(
            f"Unknown prompting setting '{name}'. Use zero-shot (the passage alone) or icl-kN (N demonstrations "
            f"from the training split before it, e.g. icl-k4)."
        )
    return PromptSetting(name, int(match.group(1)), seed)


@dataclass(frozen=True)
class Demonstration:
    """One training document shown to the model: its id, its source and its target in the study's format."""

    id: str
    source: str
    target: str


@dataclass(frozen=True)
class Prompt:
    """What the model is shown for one passage: demonstrations (most useful first), then the passage's source."""

    source: str
    demonstrations: tuple[Demonstration, ...] = ()

    def keeping(self, n: int) -> Prompt:
        """The same prompt with its first `n` demonstrations only (a prompt too long drops them from the end)."""
        return Prompt(self.source, self.demonstrations[: max(0, n)])

    def messages(self) -> list[dict]:
        """Chat turns: each demonstration as a user turn (its source) and an assistant turn (its target), then the
        passage. No system turn: some templates (Gemma's) refuse one, and the study's source holds the instruction."""
        turns = []
        for demonstration in self.demonstrations:
            turns += [
                {"role": "user", "content": demonstration.source},
                {"role": "assistant", "content": demonstration.target},
            ]
        return turns + [{"role": "user", "content": self.source}]

    def plain_text(self) -> str:
        """The plain prompt: 'source target' per demonstration, separated by a blank line, then the passage's source.

        With no demonstration this is the study's source exactly, as the study's decoder-only runs read it.
        """
        shown = [f"{d.source}{d.target}{PLAIN_SEPARATOR}" for d in self.demonstrations]
        return "".join(shown) + self.source


def draw_demonstrations(train: Sequence[Document], k: int, seed: int) -> list[Document]:
    """k training documents drawn with `seed` (a seeded shuffle, the first k), the same for every test passage."""
    if k > len(train):
        raise BreError(
            f"icl-k{k} asks for {k} demonstrations, but the training split has {len(train)} documents; choose a "
            f"smaller k."
        )
    return seeded_first(train, k, seed)


def seeded_first(documents: Sequence[Document], k: int, seed: int) -> list[Document]:
    """The first k documents after a shuffle with `seed`: the study's few-shot sample, and the demonstrations."""
    shuffled = list(documents)
    random.Random(seed).shuffle(shuffled)
    return shuffled[:k]


def demonstrations_for(task: Task, documents: Sequence[Document]) -> tuple[Demonstration, ...]:
    return tuple(Demonstration(d.id, task.source(d), task.target(d)) for d in documents)


def build_prompt(task: Task, document: Document, demonstrations: Sequence[Demonstration] = ()) -> Prompt:
    return Prompt(task.source(document), tuple(demonstrations))


def build_prompt_for_text(task: Task, text: str, demonstrations: Sequence[Demonstration] = ()) -> Prompt:
    return Prompt(task.source_for_text(text), tuple(demonstrations))
