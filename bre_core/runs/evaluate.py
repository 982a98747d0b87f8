"""Evaluate a model on a corpus split into a resumable run folder (side_by_side.py runs two on the same inputs)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bre_core.beyond_exact import analyse_document, metrics_blocks
from bre_core.config import ModelsFile, ModelSpec, resolve_model
from bre_core.datasets import STUDY_SPLIT, load_documents, split_seed_used
from bre_core.errors import BreError, RunError
from bre_core.grounding import Passage
from bre_core.runs.environment import environment
from bre_core.runs.folder import (
    PENDING,
    append_partial,
    finalize_run,
    is_complete,
    metrics_json,
    read_partial,
    read_run,
    run_name,
)
from bre_core.runs.records import PredictionRecord, judged_json
from bre_core.runs.run import Run
from bre_core.schema import Document
from bre_core.scoring import judge, score
from bre_core.settings import DecodingSettings
from bre_core.tasks import CORRECTED, HEADLINE, PROTOCOLS, Task, get_task
from bre_core.tasks.prompting import (
    DEFAULT_DEMONSTRATION_SEED,
    ZERO_SHOT,
    demonstrations_for,
    draw_demonstrations,
    parse_prompt_setting,
)

log = logging.getLogger(__name__)


def documents_hash(task: Task, documents: Sequence[Document]) -> str:
    """A content hash of the inputs and gold, so runs over different data are never compared as the same.

    It hashes the corrected protocol's view (as before protocols existed), so old and new runs still pair.
    """
    task = get_task(task.name)
    digest = hashlib.sha256()
    for document in documents:
        digest.update(json.dumps(task.example(document), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def evaluate(
    model: str | ModelSpec,
    dataset: str,
    split: str,
    out: str | Path,
    *,
    decoding: DecodingSettings = DecodingSettings(),
    data_dir=None,
    limit: int | None = None,
    split_seed: int | str = STUDY_SPLIT,
    models_file: ModelsFile | None = None,
    loaded=None,
    device=None,
    chunk_size: int | None = None,
    progress: bool = True,
    setting: str = ZERO_SHOT,
    demonstration_seed: int = DEFAULT_DEMONSTRATION_SEED,
) -> Run:
    """Generate, parse and score `model` on a split; write the run folder under `out` and return it.

    `setting` is zero-shot, or icl-kN: N demonstrations drawn from the training split with `demonstration_seed`
    before each passage (tasks/prompting.py). `decoding.engine` is hf (transformers), ctranslate2 or vllm
    (bre_core.models.engines).
    A complete run with the same settings is returned as it is. An interrupted one resumes: the documents
    it finished (predictions.partial.jsonl) are kept, the others generated.
    """
    from bre_core.models import default_max_new_tokens, load_with_engine, require_engine
    from bre_core.models.prompts import PromptPlan

    prompting = parse_prompt_setting(setting, demonstration_seed)
    spec = model if isinstance(model, ModelSpec) else resolve_model(model, models_file)
    require_engine(decoding.engine, device)  # an engine that cannot run here says so before any work
    task = get_task(dataset)
    documents = load_documents(dataset, split, data_dir, split_seed=split_seed)
    if limit is not None:
        if limit < 1:
            raise BreError(f"--limit must be at least 1, got {limit}")
        documents = documents[:limit]
    shown = ()
    if prompting.in_context:
        train = load_documents(dataset, "train", data_dir, split_seed=split_seed)
        shown = demonstrations_for(task, draw_demonstrations(train, prompting.k, prompting.seed))
    max_new_tokens = decoding.max_new_tokens or default_max_new_tokens(spec)
    setting = prompting.name if limit is None else f"{prompting.name}-first{limit}"
    folder = Path(out) / run_name(Path(spec.name).name, dataset, split, setting)
    identity = {
        "model": spec.model_dump(),
        "dataset": dataset,
        "split": split,
        "split_seed": split_seed_used(dataset, split_seed),
        "documents": len(documents),
        "data_hash": documents_hash(task, documents),
        "task_version": task.version,
        "max_new_tokens": max_new_tokens,
        "setting": setting,
    }
    if prompting.in_context:  # zero-shot runs keep the identity they had before prompting settings existed
        identity["demonstrations"] = {"seed": prompting.seed, "ids": [d.id for d in shown]}
    if decoding.engine != "hf":  # runs written before engines existed keep their identity
        identity["engine"] = {"engine": decoding.engine, "compute_type": decoding.compute_type}
    finished = finished_run(folder, identity)
    if finished is not None:
        return finished
    return run_documents(
        folder,
        identity,
        task,
        documents,
        lambda: loaded or load_with_engine(spec, decoding.engine, decoding.compute_type, device),
        decoding=dataclasses.replace(decoding, max_new_tokens=max_new_tokens),
        chunk_size=chunk_size,
        progress=progress,
        description=f"{spec.name} on {dataset} {split}",
        prompts=PromptPlan(task, prompting, shown),
    )


def run_documents(
    folder: Path,
    identity: dict,
    task: Task,
    documents: Sequence[Document],
    load,
    *,
    decoding: DecodingSettings,
    chunk_size: int | None = None,
    progress: bool = True,
    description: str = "generating",
    extra_manifest: dict | None = None,
    extra_metrics: dict | None = None,
    prompts=None,
) -> Run:
    """Generate for `documents` into the run folder `folder` (resuming what it holds), score, and finalise it.

    `identity` is what the run computes (a resume must compute the same); `decoding` has its output budget
    resolved (an int); `load()` gives the LoadedModel,
    called before the folder is made so that a model that cannot load leaves nothing behind.
    """
    from tqdm.auto import tqdm

    from bre_core.models import engine_record, generate_encoded
    from bre_core.models.generation import source_token_limit
    from bre_core.models.prompts import PromptPlan

    prompts = prompts or PromptPlan(task, parse_prompt_setting(ZERO_SHOT))
    started = time.perf_counter()
    loaded = load()
    load_seconds = time.perf_counter() - started
    claim_folder(folder, identity)

    done = {record.id: record for record in read_partial(folder)}
    todo = [d for d in documents if d.id not in done]
    if done:
        log.info(
            "resuming %s: %d of %d documents already done", folder.name, len(documents) - len(todo), len(documents)
        )
    batch_size, max_new_tokens = decoding.batch_for(loaded.device.type), decoding.max_new_tokens
    chunk_size = chunk_size or max(64, batch_size * 4)
    limit = source_token_limit(loaded, max_new_tokens)
    generation_started = time.perf_counter()
    with tqdm(
        total=len(documents), initial=len(documents) - len(todo), disable=not progress, desc=description, unit="doc"
    ) as bar:
        for start in range(0, len(todo), chunk_size):
            chunk = todo[start : start + chunk_size]
            encoded = prompts.render(loaded, chunk, limit)
            generations = generate_encoded(
                loaded, encoded, max_new_tokens, batch_size, stop_strings=prompts.stop_strings()
            )
            records = [prediction_record(task, d, g) for d, g in zip(chunk, generations)]
            append_partial(folder, records)  # durable before the next chunk: a kill loses one chunk at most
            done.update((r.id, r) for r in records)
            bar.update(len(chunk))
    generation_seconds = time.perf_counter() - generation_started

    records = [done[d.id] for d in documents]
    scores = score_records(task.name, documents, records)
    manifest = {
        **identity,
        **(extra_manifest or {}),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "decoding": {
            "strategy": "greedy",
            "num_beams": 1,
            "max_new_tokens": max_new_tokens,
            "batch_size": batch_size,
            **engine_record(loaded),  # which engine and compute type produced the run (and why, after a fallback)
        },
        "prompt": prompts.record(loaded),
        "environment": environment(loaded),
        "timings": {
            "load_seconds": round(load_seconds, 3),
            "generation_seconds": round(generation_seconds, 3),
            "documents_generated": len(todo),
            "resumed_documents": len(documents) - len(todo),
            "docs_per_s": round(len(todo) / generation_seconds, 3) if todo and generation_seconds else None,
            "output_tokens": sum(r.output_tokens for r in records),
        },
    }
    extra = {**analysis_metrics(task.name, documents, records), **(extra_metrics or {})}
    finalize_run(folder, manifest, metrics_json(scores, extra), records)
    (folder / PENDING).unlink(missing_ok=True)
    log.info(
        "%s: micro-F1 %.4f (%s protocol; %.4f corrected) over %d documents -> %s",
        loaded.spec.name,
        scores[HEADLINE]["micro"]["f1"],
        HEADLINE,
        scores[CORRECTED.name]["micro"]["f1"],
        len(documents),
        folder,
    )
    return read_run(folder)


def finished_run(folder: Path, identity: dict) -> Run | None:
    """The complete run in `folder` when it computed `identity`; None when there is none; else a RunError."""
    if not is_complete(folder):
        return None
    run = read_run(folder)
    if {k: run.manifest.get(k) for k in identity} != identity:
        raise RunError(f"{folder} holds a complete run with other settings or data; choose another --out or delete it.")
    log.info("%s is complete already; nothing to do", folder)
    return run


def claim_folder(folder: Path, identity: dict) -> None:
    """Record what this run computes; a resume with other settings would mix two runs, so it is refused."""
    pending = folder / PENDING
    for leftover in folder.glob(".*.tmp"):  # an atomic write cut short by a kill: never renamed into place
        leftover.unlink(missing_ok=True)
    if pending.is_file():
        try:
            previous = json.loads(pending.read_text(encoding="utf-8"))
        except ValueError:
            previous = None
        if previous == identity:
            return
        raise RunError(
            f"{folder} holds an interrupted run with other settings or data; rerun it with the same "
            f"options to resume, or delete the folder."
        )
    from bre_core.atomic import write_text_atomic

    write_text_atomic(pending, json.dumps(identity, indent=2) + "\n")


def prediction_record(
    task: Task, document: Document | None, generation, record_id: str | None = None
) -> PredictionRecord:
    """A generation, parsed and (when there is a document; not for free text) judged under every protocol.

    The record is seen under the headline protocol; `record.under(name)` gives the others.
    """
    judgements, analysis = {}, {}
    passage = Passage(document.text) if document is not None else None
    for name in PROTOCOLS:
        reader = get_task(task.name, name)
        parse = reader.parse(generation.text)
        verdict = judge(reader, document, parse) if document is not None else None
        judgements[name] = judged_json(parse.relations, parse.unreadable, parse.unknown_labels, verdict)
        if document is not None:
            analysis[name] = analyse_document(reader, document, parse, passage)
    return PredictionRecord.from_json(
        {
            "id": document.id if document is not None else record_id,
            "output": generation.text,
            "input_tokens": generation.input_tokens,
            "output_tokens": generation.output_tokens,
            "seconds": round(generation.seconds, 4),
            **judgements[CORRECTED.name],
            **{name: block for name, block in judgements.items() if name != CORRECTED.name},
            **({"analysis": analysis} if analysis else {}),
        }
    )


def score_records(task_name: str, documents: Sequence[Document], records: Sequence[PredictionRecord]) -> dict:
    """metrics.json's blocks: the records scored under every protocol, {protocol: Score.to_dict()}."""
    blocks = {}
    for name in PROTOCOLS:
        task = get_task(task_name, name)
        viewed = [record.under(name) for record in records]
        blocks[name] = score(task, documents, {r.id: r.parse_result() for r in viewed}).to_dict()
    return blocks


def record_analysis(task_name: str, document: Document, record: PredictionRecord, protocol: str) -> dict | None:
    """A record's analysis under `protocol`: as stored, else computed from its reading and the document; None
    when the record was not read under that protocol (a run written before protocols)."""
    stored = record.analysis.get(protocol)
    viewed = record.under(protocol)
    if viewed is None:
        return None
    if stored is not None and len(stored["relation_classes"]) == len(viewed.relations):
        return stored
    return analyse_document(get_task(task_name, protocol), document, viewed.parse_result())


def analysis_metrics(task_name: str, documents: Sequence[Document], records: Sequence[PredictionRecord]) -> dict:
    """metrics.json's "grounding", "relaxed" and "taxonomy" keys, {protocol: block}, from the records."""
    by_protocol = {}
    for name in PROTOCOLS:
        analyses = [record_analysis(task_name, d, r, name) for d, r in zip(documents, records)]
        if all(a is not None for a in analyses):
            by_protocol[name] = analyses
    return metrics_blocks(by_protocol)


__all__ = [
    "analysis_metrics",
    "claim_folder",
    "documents_hash",
    "evaluate",
    "finished_run",
    "prediction_record",
    "record_analysis",
    "run_documents",
]
