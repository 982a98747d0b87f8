"""The model card (README.md) of a published checkpoint: where it came from, how it was trained, how it scores."""

from __future__ import annotations

import json

from bre_core.runs import Run
from bre_core.runs.variants import best_validation_f1, run_variant_key
from bre_core.tasks.protocol import PROTOCOLS


def model_card(run: Run) -> str:
    """Front matter the hub reads (base model, library, tags), then provenance, training settings and scores."""
    manifest, key = run.manifest, run_variant_key(run.manifest)
    model, dataset, setting, seed = key
    base = manifest.model
    environment = manifest.get("environment") or {}
    training = manifest.get("training") or {}
    base_id = base.get("hub_id") or base.get("path") or model
    front = {"library_name": "transformers", "tags": ["bre", "relation-extraction", dataset, setting]}
    if base.get("hub_id"):
        front["base_model"] = base["hub_id"]
    lines = ["---", *(f"{k}: {json.dumps(v)}" for k, v in front.items()), "---", ""]
    lines += [
        f"# {model} finetuned on {dataset} ({setting}, seed {seed})",
        "",
        "End-to-end relation extraction as text generation, trained and scored with `bre` (the method of Brokman & "
        "Kavuluru, arXiv:2402.13470). A research checkpoint, not for clinical use.",
        "",
        "## Provenance",
        "",
        "| | |",
        "|---|---|",
        f"| base model | `{base_id}` at revision `{base.get('revision') or 'main (not pinned)'}` |",
        f"| base model metadata | {base.get('params', '?')} parameters, {base.get('architecture', '?')}, "
        f"domain {base.get('domain', '?')}, instruction tuning {base.get('ift', '?')} |",
        f"| dataset | {dataset} (split seed {manifest.get('split_seed')}; test documents {manifest.get('documents')}) |",
        f"| setting, seed | {setting}, {seed} |",
        f"| bre version | {environment.get('bre', '?')} (git commit {environment.get('git_commit') or '?'}) |",
        f"| hardware | {environment.get('hardware', '?')} ({environment.get('device', '?')}, "
        f"{environment.get('dtype', '?')}) |",
        f"| libraries | torch {environment.get('torch', '?')}, transformers {environment.get('transformers', '?')} |",
        f"| run folder | `{run.name}` |",
        "",
        "## Training settings",
        "",
        "| setting | value |",
        "|---|---|",
        *(f"| {name} | {json.dumps(value)} |" for name, value in training.items()),
        "",
        "## Scores",
        "",
        "| split | protocol | micro P | micro R | micro F1 | macro F1 |",
        "|---|---|---|---|---|---|",
    ]
    for protocol in PROTOCOLS:
        block = run.scores.get(protocol)
        if block:
            micro = block.get("micro", {})
            lines.append(
                f"| test | {protocol} | {_f(micro.get('precision'))} | {_f(micro.get('recall'))} | "
                f"{_f(micro.get('f1'))} | {_f(block.get('macro_f1'))} |"
            )
    validation = best_validation_f1(run.metrics)
    if validation is not None:
        selection = training.get("selection_protocol") or "study"
        kept = next(
            (p for p in run.metrics.get("validation_curve", []) if p.get("epoch") == run.metrics.get("best_epoch")), {}
        )
        lines.append(
            f"| validation (epoch {run.metrics.get('best_epoch')}) | {selection} | | | {_f(validation)} | {_f(kept.get('macro_f1'))} |"
        )
        lines += [
            "",
            f"Validation is scored during training under the {selection} protocol only (it selects the kept epoch).",
        ]
    else:
        lines += ["", "No validation split in this setting (few-shot): the last model was kept."]
    lines += ["", f"Decoding: greedy, at most {manifest.get('max_new_tokens')} new tokens.", ""]
    return "\n".join(lines)


def _f(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "–"
