"""Finetuning with the study's protocol (full data and few-shot) on transformers' Trainer and accelerate."""

from bre_core.finetune.run import finetune

__all__ = ["finetune"]
