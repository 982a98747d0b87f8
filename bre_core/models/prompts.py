"""Prompts as token ids: the tokenizer's chat template when it has one, else the plain study prompt; fitted to the
context by dropping demonstrations (never the passage), with a record of what was done."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bre_core.schema import Document
from bre_core.tasks import Task
from bre_core.tasks.prompting import PLAIN_STOP, Demonstration, Prompt, PromptSetting, build_prompt

log = logging.getLogger(__name__)
CHAT, PLAIN = "chat-template", "plain"
_MARK = "\u2063BRE\u2063"  # an answer no template rewrites, to find what a template writes after an answer


def prompt_format(tokenizer, architecture: str) -> str:
    """chat-template for a decoder-only model whose tokenizer has one; plain for every other model."""
    return CHAT if architecture == "causal" and getattr(tokenizer, "chat_template", None) else PLAIN


def encode_prompt(tokenizer, prompt: Prompt, format: str) -> list[int]:
    """The prompt's token ids: the chat turns rendered by the template (which writes its own special tokens, so none
    are added again), or the plain text with the tokenizer's special tokens, as the study's runs encode a source."""
    if format == CHAT:
        text = tokenizer.apply_chat_template(prompt.messages(), tokenize=False, add_generation_prompt=True)
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return tokenizer(prompt.plain_text(), add_special_tokens=True)["input_ids"]


def chat_training_ids(tokenizer, source: str, target: str) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids) of one chat exchange: the answer is what the template writes after the generation
    prompt (the target and the end-of-turn tokens), the part the loss is on."""
    prompt = encode_prompt(tokenizer, Prompt(source), CHAT)
    turns = Prompt(source).messages() + [{"role": "assistant", "content": target}]
    full = tokenizer(tokenizer.apply_chat_template(turns, tokenize=False), add_special_tokens=False)["input_ids"]
    if full[: len(prompt)] != prompt:  # a template that renders the last user turn differently once answered
        answer = tokenizer(target, add_special_tokens=False)["input_ids"] + end_of_turn_ids(tokenizer)
        return prompt, answer or [tokenizer.eos_token_id]
    return prompt, full[len(prompt) :]


def end_of_turn_ids(tokenizer) -> list[int]:
    """The special token a chat template writes right after an answer (</s>, <|eot_id|>, <end_of_turn>): where a
    generation in that template ends. Empty when the tokenizer has no template or writes no special token there."""
    if not getattr(tokenizer, "chat_template", None):
        return []
    turns = [{"role": "user", "content": "x"}, {"role": "assistant", "content": _MARK}]
    try:
        text = tokenizer.apply_chat_template(turns, tokenize=False)
    except Exception:  # noqa: BLE001 - a template that refuses this exchange: no stop token known from it
        return []
    after = text.split(_MARK, 1)[-1] if _MARK in text else ""
    ids = tokenizer(after, add_special_tokens=False)["input_ids"] if after.strip() else []
    special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    return [ids[0]] if ids and ids[0] in special else []


@dataclass(frozen=True)
class RenderedPrompt:
    """One prompt's token ids and what fitting it to the context did."""

    ids: list[int]
    demonstrations: int  # shown
    dropped: int  # demonstrations left out so that the passage fits
    passage_cut: bool = False  # the passage alone was longer than the model reads: cut at the end (the study's)


def fit_prompt(tokenizer, prompt: Prompt, format: str, limit: int) -> RenderedPrompt:
    """The prompt with as many of its demonstrations as fit in `limit` tokens, dropped from the last one.

    A passage that does not fit even alone is cut at its end, as the study truncates every source."""
    for kept in range(len(prompt.demonstrations), -1, -1):
        ids = encode_prompt(tokenizer, prompt.keeping(kept), format)
        if len(ids) <= limit:
            return RenderedPrompt(ids, kept, len(prompt.demonstrations) - kept)
    alone = prompt.keeping(0)
    if format == PLAIN:  # as generation truncates a source: by the tokenizer, keeping its special tokens
        ids = tokenizer(alone.plain_text(), add_special_tokens=True, truncation=True, max_length=limit)["input_ids"]
        return RenderedPrompt(ids, 0, len(prompt.demonstrations), passage_cut=True)
    source = alone.source
    while len(ids) > limit and source:
        source = source[: int(len(source) * limit / len(ids)) - 1]  # cut in proportion, then check again
        ids = encode_prompt(tokenizer, Prompt(source), format)
    return RenderedPrompt(ids, 0, len(prompt.demonstrations), passage_cut=True)


@dataclass
class PromptPlan:
    """A run's prompting: the setting, its demonstrations, and what rendering did to each passage (for the record)."""

    task: Task
    setting: PromptSetting
    demonstrations: tuple[Demonstration, ...] = ()
    shortened: dict[str, dict] = field(default_factory=dict)
    format: str | None = None

    def render(self, loaded, documents: Sequence[Document], limit: int) -> list[list[int]]:
        """The token ids of each document's prompt, fitted to `limit` tokens."""
        self.format = prompt_format(loaded.tokenizer, loaded.spec.architecture)
        rendered = []
        for document in documents:
            prompt = build_prompt(self.task, document, self.demonstrations)
            fitted = fit_prompt(loaded.tokenizer, prompt, self.format, limit)
            if fitted.dropped or fitted.passage_cut:
                self.shortened[document.id] = {
                    "demonstrations": fitted.demonstrations,
                    "dropped": fitted.dropped,
                    "passage_cut": fitted.passage_cut,
                }
            rendered.append(fitted.ids)
        if self.shortened:
            log.warning(
                "%d prompts did not fit in %d tokens: demonstrations dropped (passages kept whole where they fit "
                "alone); see the manifest's prompt.shortened",
                len(self.shortened),
                limit,
            )
        return rendered

    def stop_strings(self) -> tuple[str, ...]:
        """A plain prompt with demonstrations goes on with the next example: the first newline ends the answer."""
        return (PLAIN_STOP,) if self.format == PLAIN and self.setting.in_context else ()

    def record(self, loaded) -> dict:
        """The manifest's `prompt` block: which format, which template, which demonstrations, what was shortened."""
        template = getattr(loaded.tokenizer, "chat_template", None) if self.format == CHAT else None
        return {
            "setting": self.setting.name,
            "format": self.format or prompt_format(loaded.tokenizer, loaded.spec.architecture),
            "chat_template_sha256": hashlib.sha256(template.encode()).hexdigest() if template else None,
            "demonstrations": self.setting.k,
            "demonstration_seed": self.setting.seed if self.setting.in_context else None,
            "demonstration_ids": [d.id for d in self.demonstrations],
            "stop_strings": list(self.stop_strings()),
            "end_of_turn_ids": end_of_turn_ids(loaded.tokenizer) if self.format == CHAT else [],
            "shortened": dict(self.shortened),
        }
