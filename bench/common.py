"""What the benchmarks share: offline set-up, the corpora they read, a BPE tokenizer, the plain generate loop."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any Hugging Face import: nothing is downloaded
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURE_DATA = ROOT / "tests" / "fixtures" / "data"


def data_dir(given: str | Path | None = None) -> Path:
    """The given corpora folder, else the real corpora when at hand, else the fixture corpora."""
    if given:
        return Path(given)
    return SHARED_DATA if SHARED_DATA.is_dir() else FIXTURE_DATA


def chemprot_documents(split: str, count: int, folder: str | Path | None = None):
    """`count` ChemProt documents of `split` (repeated when the split has fewer) and the folder they came from."""
    from bre_core.datasets import load_documents

    folder = data_dir(folder)
    documents = load_documents("chemprot", split, folder)
    while len(documents) < count:
        documents = documents + documents
    return documents[:count], folder


def bpe_tokenizer(texts: list[str], family: str = "t5", vocab_size: int = 8000):
    """A BPE tokenizer trained on `texts` with the special tokens and template of the family's real one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<s>"] if family == "t5" else ["<s>", "<pad>", "</s>", "<unk>"]
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.train_from_iterator(
        texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False)
    )
    eos, bos = specials.index("</s>"), specials.index("<s>")
    template = {"t5": "$A </s>", "bart": "<s> $A </s>", "biogpt": "</s> $A"}[family]
    backend.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[("</s>", eos), ("<s>", bos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", bos_token="<s>", unk_token="<unk>"
    )


def naive_generate(loaded, sources: list[str], new_tokens: int) -> list[str]:
    """What a user writes first: one generate call per document, the checkpoint's generation defaults."""
    import torch

    outputs = []
    for source in sources:
        inputs = loaded.tokenizer(source, return_tensors="pt", truncation=True, max_length=512).to(loaded.device)
        with torch.no_grad():
            ids = loaded.model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
        outputs.append(loaded.tokenizer.decode(ids[0], skip_special_tokens=True))
    return outputs
