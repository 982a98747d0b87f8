"""Tiny T5, BART, GPT-2 and BioGPT checkpoints built offline in seconds: random weights, a tokenizer trained here."""

from __future__ import annotations

from pathlib import Path

from bre_core.config import ModelSpec

SENTENCES = [
    "Cisplatin induced nephrotoxicity in rats treated for ovarian cancer.",
    "Metformin reduced the risk of lactic acidosis in diabetic patients.",
    "Tamoxifen is an antagonist of the estrogen receptor alpha.",
    "Aspirin and clopidogrel were used in combination after stenting.",
    "The combination of gemcitabine and cisplatin improved survival.",
    "Haloperidol caused tardive dyskinesia in elderly patients.",
    "Warfarin interacts with fluconazole and increases bleeding risk.",
    "Ketoconazole inhibits the metabolism of cyclosporine by CYP3A4.",
    "Lithium toxicity was observed together with renal failure.",
    "Caffeine is a substrate of cytochrome P450 1A2.",
    "Dexamethasone upregulates the expression of glutamine synthetase.",
    "Imatinib downregulates BCR-ABL kinase activity in leukemia cells.",
    "No chemical-induced diseases are established.",
    "No drug-gene relationships are established.",
    "No drug-drug interactions are established.",
    "No drug combinations are established.",
    "Find all instances of relations between chemicals and diseases in the following passage:",
    "Find all instances of drug-drug relations in the following passage:",
    "The relation between cisplatin and nephrotoxicity exists.",
    "Cocaine induced myocardial infarction and seizures in young adults.",
]
FAMILIES = ("t5", "bart", "gpt2", "biogpt")
ARCHITECTURE = {"t5": "seq2seq", "bart": "seq2seq", "gpt2": "causal", "biogpt": "causal"}
PAD, EOS, BOS, UNK = 0, 1, 2, 3
CONTEXT = 128  # positions of the tiny decoder-only models, small enough to test truncation cheaply


def tokenizer_for(family: str, texts: list[str] | None = None, vocab_size: int = 180):
    """A BPE tokenizer trained on `texts` (default SENTENCES), with the special-token layout of the family's real one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<s>", "<unk>"], show_progress=False
    )
    backend.train_from_iterator(texts or SENTENCES, trainer)
    # T5 appends </s>; BART wraps in <s> ... </s>; BioGPT starts with </s>; GPT-2 adds nothing.
    templates = {"t5": "$A </s>", "bart": "<s> $A </s>", "biogpt": "</s> $A"}
    if family in templates:
        special = [("</s>", EOS), ("<s>", BOS)]
        backend.post_processor = processors.TemplateProcessing(single=templates[family], special_tokens=special)
    pad = None if family == "gpt2" else "<pad>"  # GPT-2 ships without a pad token: the loader must add one
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=pad, eos_token="</s>", bos_token="<s>", unk_token="<unk>"
    )


def model_for(family: str, vocab_size: int, seed: int = 0):
    """A 2-layer model of `family` with random weights; wide enough (std 1) that outputs differ between inputs."""
    model = _architecture_for(family, vocab_size, seed)
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:  # the library's std 0.02 makes every input decode to the same tokens
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
        if family == "bart":
            # Some outputs then end early (after 1 to 20 tokens) and others run to the budget.
            model.final_logits_bias[0, EOS] = 12.0
    return model


def _architecture_for(family: str, vocab_size: int, seed: int):
    import torch
    from transformers import (
        BartConfig,
        BartForConditionalGeneration,
        BioGptConfig,
        BioGptForCausalLM,
        GPT2Config,
        GPT2LMHeadModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    ids = {"pad_token_id": PAD, "eos_token_id": EOS, "bos_token_id": BOS}
    torch.manual_seed(seed)
    if family == "t5":
        config = T5Config(
            vocab_size=vocab_size,
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            decoder_start_token_id=PAD,
            **ids,
        )
        return T5ForConditionalGeneration(config)
    if family == "bart":
        config = BartConfig(
            vocab_size=vocab_size,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=64,
            decoder_ffn_dim=64,
            max_position_embeddings=1024,
            decoder_start_token_id=EOS,
            **ids,
        )
        model = BartForConditionalGeneration(config)
        # What facebook/bart-* ship, and what our greedy decoding must ignore.
        model.generation_config.update(
            num_beams=4,
            no_repeat_ngram_size=3,
            min_length=20,
            early_stopping=True,
            forced_bos_token_id=BOS,
            forced_eos_token_id=EOS,
            length_penalty=2.0,
        )
        return model
    if family == "gpt2":
        config = GPT2Config(
            vocab_size=vocab_size,
            n_positions=CONTEXT,
            n_embd=32,
            n_layer=2,
            n_head=4,
            bos_token_id=BOS,
            eos_token_id=EOS,
        )
        return GPT2LMHeadModel(config)
    if family == "biogpt":
        config = BioGptConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=64,
            max_position_embeddings=CONTEXT,
            **ids,
        )
        return BioGptForCausalLM(config)
    raise ValueError(f"no tiny model for family '{family}'; known: {', '.join(FAMILIES)}")


def build_tiny_model(family: str, folder: Path | str, seed: int = 0) -> ModelSpec:
    """Write a tiny checkpoint of `family` into `folder` (save_pretrained) and return a local-path spec for it."""
    folder = Path(folder)
    tokenizer = tokenizer_for(family)
    model = model_for(family, len(tokenizer), seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return ModelSpec(
        name=f"tiny-{family}",
        path=str(folder),
        architecture=ARCHITECTURE[family],
        params="tiny",
        domain="biomedical" if family == "biogpt" else "general",
        ift="none",
        family=family,
    )


def build_trainable_model(family: str, folder: Path | str, texts: list[str], seed: int = 0) -> ModelSpec:
    """A tiny model with the library's own initialisation (so that it trains) and a tokenizer trained on `texts`."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    tokenizer = tokenizer_for(family, texts, vocab_size=800)
    torch.manual_seed(seed)
    if family == "t5":
        config = T5Config(
            vocab_size=len(tokenizer),
            d_model=64,
            d_kv=16,
            d_ff=128,
            num_layers=2,
            num_heads=4,
            pad_token_id=PAD,
            eos_token_id=EOS,
            decoder_start_token_id=PAD,
        )
        model = T5ForConditionalGeneration(config)
    elif family == "gpt2":
        config = GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=1024,
            n_embd=64,
            n_layer=2,
            n_head=4,
            bos_token_id=BOS,
            eos_token_id=EOS,
        )
        model = GPT2LMHeadModel(config)
    else:
        raise ValueError(f"no trainable tiny model for family '{family}'; known: t5, gpt2")
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return ModelSpec(name=f"tiny-{family}", path=str(folder), architecture=ARCHITECTURE[family], family=family)
