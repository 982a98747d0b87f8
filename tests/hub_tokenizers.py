"""Tokenizer files in the real formats, trained in a second on a few sentences: spiece.model, byte-level BPE, fastBPE."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

from tiny_models import SENTENCES

T5_EXTRA_IDS = 100  # T5's <extra_id_N> sentinels, added by the tokenizer on top of spiece.model


def spiece_model(vocab_size: int = 160) -> bytes:
    """A SentencePiece unigram model with T5's ids (pad 0, eos 1, unk 2, no bos), as spiece.model holds it."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        character_coverage=1.0,
        minloglevel=2,  # quiet
    )
    return model.getvalue()


def t5_special_tokens() -> dict:
    extra = [f"<extra_id_{i}>" for i in range(T5_EXTRA_IDS)]
    return {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "additional_special_tokens": extra}


def byte_level_bpe(first: list[str], last: list[str], vocab_size: int = 300) -> tuple[bytes, bytes]:
    """vocab.json and merges.txt of a GPT-2-style byte-level BPE: `first` special tokens at ids 0.., `last` at the
    end (GPT-2's <|endoftext|> is its last id, BART's <mask> too)."""
    from tokenizers import ByteLevelBPETokenizer

    tokenizer = ByteLevelBPETokenizer()
    tokenizer.train_from_iterator(SENTENCES, vocab_size=vocab_size, special_tokens=first, show_progress=False)
    learned = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    tokens = [token for token, _ in learned if token not in last] + list(last)
    vocab = {token: i for i, token in enumerate(tokens)}
    merges = json.loads(tokenizer._tokenizer.to_str())["model"]["merges"]
    lines = ["#version: 0.2"] + [" ".join(m) if isinstance(m, list) else m for m in merges]
    return json.dumps(vocab, ensure_ascii=False).encode(), ("\n".join(lines) + "\n").encode()


BIOGPT_SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def fastbpe(merges: int = 150) -> tuple[bytes, bytes]:
    """vocab.json and merges.txt as microsoft/biogpt ships them: Moses-tokenized words, `</w>` word ends, merges as
    fastBPE writes them (`a b count`), learned here the way fastBPE learns them (most frequent pair first)."""
    from sacremoses import MosesTokenizer

    moses = MosesTokenizer(lang="en")
    words = Counter(
        word
        for sentence in SENTENCES
        for word in moses.tokenize(sentence, aggressive_dash_splits=True, return_str=False, escape=True)
    )
    split = {word: tuple(word[:-1]) + (word[-1] + "</w>",) for word in words}
    learned: list[tuple[str, str, int]] = []
    for _ in range(merges):
        pairs = Counter()
        for word, symbols in split.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += words[word]
        if not pairs:
            break
        (a, b), count = min(pairs.items(), key=lambda item: (-item[1], item[0]))  # ties: alphabetical, as a rule
        learned.append((a, b, count))
        split = {word: _merge(symbols, a, b) for word, symbols in split.items()}
    symbols = {c for word in words for c in word} | {c + "</w>" for word in words for c in word}
    symbols |= {a + b for a, b, _ in learned}
    vocab = {token: i for i, token in enumerate([*BIOGPT_SPECIALS, *sorted(symbols)])}
    lines = [f"{a} {b} {count}" for a, b, count in learned]
    return json.dumps(vocab, ensure_ascii=False).encode(), ("\n".join(lines) + "\n").encode()


def _merge(symbols: tuple[str, ...], a: str, b: str) -> tuple[str, ...]:
    merged, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
            merged.append(a + b)
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return tuple(merged)


def converted_tokenizer_json(files: dict[str, bytes], config: dict, folder: Path) -> bytes:
    """tokenizer.json as transformers converts the slow files (how the hub's tokenizer.json files were made)."""
    from transformers import AutoTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    out = folder / "converted"
    tokenizer.save_pretrained(str(out))
    return (out / "tokenizer.json").read_bytes()
