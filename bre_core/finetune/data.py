"""Training data: the study's settings (full, k-shot samples), examples as token ids, and dynamic padding."""

from __future__ import annotations

from collections.abc import Sequence

from bre_core.errors import BreError
from bre_core.models.prompts import chat_training_ids
from bre_core.schema import Document
from bre_core.settings import SEQ2SEQ_MAX_TOKENS
from bre_core.tasks import Task
from bre_core.tasks.prompting import seeded_first

IGNORE = -100  # label positions the loss skips


def few_shot_sample(documents: Sequence[Document], k: int, seed: int) -> list[Document]:
    """The first k training documents after a shuffle with data seed `seed` (the study's few-shot protocol)."""
    if k > len(documents):
        raise BreError(f"k={k} is larger than the training set ({len(documents)} documents); choose a smaller k.")
    return seeded_first(documents, k, seed)


def encode(tokenizer, task: Task, document: Document, seq2seq: bool, max_tokens: int | None) -> dict:
    """One training example as token ids.

    Encoder-decoder: source -> input_ids, target -> labels (both truncated at 512 tokens). Decoder-only: source
    then target then EOS in one sequence, with the source positions masked out of the loss, so that the model
    learns to write the target after the prompt and is not trained to reproduce the prompt.
    """
    source, target = task.source(document), task.target(document)
    if seq2seq:
        input_ids = tokenizer(source, truncation=True, max_length=SEQ2SEQ_MAX_TOKENS)["input_ids"]
        labels = tokenizer(text_target=target, truncation=True, max_length=SEQ2SEQ_MAX_TOKENS)["input_ids"]
        return {"input_ids": input_ids, "labels": labels, "length": len(input_ids)}
    # The prompt is tokenised exactly as generation tokenises it, so that training and inference agree: in the
    # tokenizer's chat template when it has one (the answer then ends with the template's end of turn).
    if getattr(tokenizer, "chat_template", None):
        prompt, answer = chat_training_ids(tokenizer, source, target)
    else:
        prompt = tokenizer(source, add_special_tokens=True)["input_ids"]
        answer = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    if max_tokens is not None and len(prompt) + len(answer) > max_tokens:
        # Keep the whole answer when it fits: it is what the loss is on; cut the passage instead.
        prompt = prompt[: max(1, max_tokens - len(answer))]
        answer = answer[: max_tokens - len(prompt)]
    return {
        "input_ids": prompt + answer,
        "labels": [IGNORE] * len(prompt) + answer,
        "length": len(prompt) + len(answer),
    }


class Collator:
    """Pads a batch to its longest member (dynamic padding): pad id for inputs, IGNORE for labels."""

    def __init__(self, pad_token_id: int, seq2seq: bool):
        self.pad, self.seq2seq = pad_token_id, seq2seq

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        width = max(len(e["input_ids"]) for e in examples)
        input_ids = torch.full((len(examples), width), self.pad, dtype=torch.long)
        attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
        label_width = max(len(e["labels"]) for e in examples) if self.seq2seq else width
        labels = torch.full((len(examples), label_width), IGNORE, dtype=torch.long)
        for row, example in enumerate(examples):
            n = len(example["input_ids"])
            input_ids[row, :n] = torch.tensor(example["input_ids"])
            attention_mask[row, :n] = 1
            labels[row, : len(example["labels"])] = torch.tensor(example["labels"])
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
