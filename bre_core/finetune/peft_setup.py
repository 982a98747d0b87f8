"""Parameter-efficient finetuning: LoRA adapters on the model (peft), and QLoRA's 4-bit base (bitsandbytes, CUDA)."""

from __future__ import annotations

import logging
from dataclasses import asdict

from bre_core.errors import BreError
from bre_core.settings import LoraSettings

log = logging.getLogger(__name__)
INSTALL_4BIT = "pip install -r requirements-llm.txt (bitsandbytes, on a machine with an NVIDIA GPU)"


def peft_record(peft: LoraSettings) -> dict:
    """The LoRA settings as the manifest and the adapter folder record them."""
    record = asdict(peft)
    record["target_modules"] = list(peft.target_modules) if peft.target_modules else None
    return {"method": peft.method, **record}


def check_quantization(peft: LoraSettings | None, device: str | None) -> None:
    """QLoRA needs a CUDA GPU and bitsandbytes: a BreError saying so, before any model is loaded."""
    if peft is None or peft.quantize is None:
        return
    if peft.quantize != "4bit":
        raise BreError(f"Unknown --quantize '{peft.quantize}'; the one supported is 4bit (QLoRA).")
    import torch

    if not torch.cuda.is_available() or (device or "").startswith("cpu"):
        raise BreError(
            "--quantize 4bit (QLoRA) trains on a 4-bit base model with bitsandbytes, which needs a CUDA GPU; this "
            "machine has none" + (" (or --device cpu was given)" if device else "") + ". Drop --quantize to train "
            "LoRA adapters on the full-precision model, or run this on a GPU machine."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise BreError(f"--quantize 4bit needs bitsandbytes, which is not installed ({exc}): {INSTALL_4BIT}.") from exc


def load_quantized(spec):
    """`spec` loaded with 4-bit NF4 weights and bf16 compute (QLoRA), on the GPU, for training adapters on it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    from bre_core.models.loading import LoadedModel, _locate, neutralize_generation_config, prepare_tokenizer

    source, options, _ = _locate(spec)
    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16,
        bnb_4bit_use_double_quant=True,
    )
    tokenizer = AutoTokenizer.from_pretrained(source, **options)
    model = AutoModelForCausalLM.from_pretrained(
        source, quantization_config=quantization, dtype=torch.bfloat16, device_map={"": 0}, **options
    )
    prepare_tokenizer(tokenizer, spec)  # left padding and a pad token, as for any decoder-only model
    loaded = LoadedModel(model, tokenizer, spec, torch.device("cuda", 0), torch.bfloat16, model.generation_config)
    neutralize_generation_config(loaded)
    return loaded


def add_lora(model, peft: LoraSettings, seq2seq: bool, gradient_checkpointing: bool = False):
    """The model with LoRA adapters added and only they trainable; a 4-bit model is prepared for training first."""
    from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

    if peft.quantize:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    elif gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed activations need an input that requires grad
    config = LoraConfig(
        r=peft.r,
        lora_alpha=peft.alpha,
        lora_dropout=peft.dropout,
        target_modules=list(peft.target_modules) if peft.target_modules else None,
        task_type=TaskType.SEQ_2_SEQ_LM if seq2seq else TaskType.CAUSAL_LM,
    )
    try:
        adapted = get_peft_model(model, config)
    except ValueError as exc:  # peft does not know the architecture's modules, or a name given matches none
        names = sorted({name.split(".")[-1] for name, _ in model.named_modules() if name})
        raise BreError(
            f"LoRA could not be added ({exc}). Pass --target-modules with names of the model's layers, e.g. "
            f"some of: {', '.join(names[:30])}"
        ) from exc
    trainable, total = adapted.get_nb_trainable_parameters()
    log.info("LoRA r=%d: %d of %d parameters trainable (%.2f%%)", peft.r, trainable, total, 100 * trainable / total)
    return adapted
