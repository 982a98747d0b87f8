"""What each command does and prints: read the parsed arguments, call one library function, print its result."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def data_stats(args) -> int:
    from bre_core.stats import dataset_stats

    stats = dataset_stats(args.dataset, args.data_dir, source=args.source, split_seed=args.split_seed)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{stats['dataset']}: documents, distinct relations as scored, annotations, format ceiling (micro-F1)")
    print(f"{'split':<11} {'documents':>9} {'relations':>9} {'annotated':>9} {'study':>7} {'corrected':>9}  by label")
    for split, row in stats["splits"].items():
        labels = ", ".join(f"{label} {count}" for label, count in row["by_label"].items())
        ceiling = row["ceiling"]
        print(
            f"{split:<11} {row['documents']:>9} {row['relations']:>9} {row['annotated']:>9} "
            f"{ceiling['study']['f1']:>7.4f} {ceiling['corrected']['f1']:>9.4f}  {labels}"
        )
    print("ceiling = gold -> target (as `data export` writes it) -> parser -> score, under each protocol;")
    own = ", ".join(f"{split} {row['ceiling']['study_targets']['f1']:.4f}" for split, row in stats["splits"].items())
    print(f"with the study's own targets (CDR: max() names), under the study protocol: {own}")
    return 0


def data_export(args) -> int:
    from bre_core.atomic import write_text_atomic
    from bre_core.datasets import load_documents
    from bre_core.tasks import get_task

    documents = load_documents(args.dataset, args.split, args.data_dir, source=args.source, split_seed=args.split_seed)
    task = get_task(args.dataset)
    lines = (json.dumps(task.example(document), ensure_ascii=False) + "\n" for document in documents)
    if args.out:
        write_text_atomic(args.out, lines)
        print(f"wrote {len(documents)} documents to {args.out}", file=sys.stderr)
    else:
        sys.stdout.writelines(lines)
    return 0


def data_download(args) -> int:
    from bre_core.datasets.download import download_datasets
    from bre_core.datasets.files import resolve_data_dir

    paths = download_datasets(args.dataset or [], resolve_data_dir(args.data_dir), mirror=args.mirror, force=args.force)
    for path in paths:
        print(path)
    return 0


def score(args) -> int:
    from bre_core.datasets import load_documents
    from bre_core.runs import read_predictions
    from bre_core.scoring import score_outputs
    from bre_core.tasks import get_task

    documents = load_documents(args.dataset, args.split, args.data_dir, source=args.source, split_seed=args.split_seed)
    outputs = read_predictions(Path(args.predictions), [document.id for document in documents])
    from bre_core.beyond_exact import analyse_outputs

    task = get_task(args.dataset, args.protocol)
    result = score_outputs(task, documents, outputs)
    beyond = analyse_outputs(task, documents, {doc_id: task.parse(text) for doc_id, text in outputs.items()})
    if args.json:
        head = {"dataset": args.dataset, "split": args.split, "protocol": args.protocol}
        print(json.dumps({**head, **result.to_dict(), **beyond}, indent=2))
        return 0
    micro = result.micro
    print(
        f"{args.dataset} {args.split} ({args.protocol} protocol): {result.documents} documents, "
        f"{result.missing} without a prediction, "
        f"{result.parse_failures} parse failures ({result.unreadable} unreadable, {result.unknown_labels} unknown labels)"
    )
    print(
        f"micro  P {micro.precision:.4f}  R {micro.recall:.4f}  F1 {micro.f1:.4f}  (TP {micro.tp}, FP {micro.fp}, FN {micro.fn})"
    )
    print(f"macro  F1 {result.macro_f1:.4f}")
    for label, prf in result.per_class.items():
        print(
            f"  {label:<10} P {prf.precision:.4f}  R {prf.recall:.4f}  F1 {prf.f1:.4f}  (TP {prf.tp}, FP {prf.fp}, FN {prf.fn})"
        )
    _print_beyond_exact(beyond)
    return 0


def _print_beyond_exact(beyond: dict) -> None:
    """The relaxed score, the grounding of predicted entities and the error classes (an extra view: not the headline)."""
    from bre_core.taxonomy import TITLES

    relaxed, grounding, taxonomy = beyond["relaxed"], beyond["grounding"], beyond["taxonomy"]
    print(
        f"relaxed P {relaxed['precision']:.4f}  R {relaxed['recall']:.4f}  F1 {relaxed['f1']:.4f}  "
        f"({relaxed['tp']} of {relaxed['predicted']} predictions match, {relaxed['gold_found']} of {relaxed['gold']} "
        "gold found; an extra score, not the protocol's)"
    )
    levels = ", ".join(f"{level} {n}" for level, n in grounding["by_level"].items())
    print(
        f"hallucination rate {grounding['hallucination_rate']:.4f} ({grounding['by_level']['absent']} of "
        f"{grounding['entities']} predicted entities absent from the passage; {levels})"
    )
    for side, title in (("false_positives", "false positives"), ("false_negatives", "false negatives")):
        counts = ", ".join(f"{TITLES[name]} {n}" for name, n in taxonomy[side].items())
        print(f"{title} by class: {counts}")


def _model_spec(args):
    """--model resolved against --models before torch is imported: an unknown model is reported at once."""
    from bre_core.config import load_models_file, resolve_model

    return resolve_model(args.model, load_models_file(args.models))


def evaluate(args) -> int:
    spec = _model_spec(args)

    from bre_core.runs import evaluate
    from bre_core.settings import DecodingSettings

    run = evaluate(
        spec,
        args.dataset,
        args.split,
        args.out,
        decoding=DecodingSettings(args.max_new_tokens, args.batch_size, args.engine, args.compute_type),
        data_dir=args.data_dir,
        limit=args.limit,
        split_seed=args.split_seed,
        device=args.device,
        setting=args.setting,
        demonstration_seed=args.demonstration_seed,
    )
    print(f"{run.path}: {run.metrics['documents']} documents")
    prompt = run.manifest.get("prompt") or {}
    if prompt.get("shortened"):
        print(f"  {len(prompt['shortened'])} prompts shortened to fit the context (manifest.json: prompt.shortened)")
    _print_scores(run)
    return 0


def _print_scores(run, what: str = "") -> None:
    """One line per protocol the run was scored with, the headline first."""
    for name in sorted(run.protocols, key=lambda p: p != run.protocol):
        metrics = run.under(name).metrics
        micro = metrics["micro"]
        print(
            f"  {what}{name:<9} micro P {micro['precision']:.4f} R {micro['recall']:.4f} F1 {micro['f1']:.4f} "
            f"(TP {micro['tp']}, FP {micro['fp']}, FN {micro['fn']}), macro F1 {metrics['macro_f1']:.4f}, "
            f"{metrics['parse_failures']} parse failures"
        )


def compare(args) -> int:
    from bre_core.runs import compare_under_protocols, read_run

    report = compare_under_protocols(read_run(args.run_a), read_run(args.run_b), samples=args.samples, seed=args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for note in report["notes"]:
        print(f"note: {note}")
    for name, protocol_report in report["by_protocol"].items():
        print(f"--- {name} protocol")
        _print_comparison(protocol_report)
    return 0


def _print_comparison(report: dict) -> None:
    a, b, agreement = report["a"], report["b"], report["agreement"]
    low, high = report["ci95"]
    print(f"{report['dataset']} {report['split']}, {agreement['documents']} documents")
    print(f"A {a['model']}: micro-F1 {a['micro_f1']:.4f} (P {a['precision']:.4f}, R {a['recall']:.4f})")
    print(f"B {b['model']}: micro-F1 {b['micro_f1']:.4f} (P {b['precision']:.4f}, R {b['recall']:.4f})")
    print(
        f"B - A: {report['difference_b_minus_a']:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}] "
        f"(paired bootstrap, {report['bootstrap_samples']} samples), p = {report['p_value']:.4f} (randomisation)"
    )
    print(
        f"documents: same relations {agreement['same_relations']}, A more correct {agreement['a_more_correct']}, "
        f"B more correct {agreement['b_more_correct']}"
    )
    print(
        f"gold relations: found by both {agreement['gold_found_by_both']}, only A {agreement['gold_found_only_by_a']}, "
        f"only B {agreement['gold_found_only_by_b']}, missed by both {agreement['gold_missed_by_both']}"
    )
    hallucination = report.get("hallucination_rate") or {"unavailable": "not computed"}
    if "unavailable" in hallucination:
        print(f"hallucination rate: {hallucination['unavailable']}")
    else:
        low, high = hallucination["ci95"]
        print(
            f"hallucination rate: A {hallucination['a']:.4f}, B {hallucination['b']:.4f}, "
            f"B - A {hallucination['difference_b_minus_a']:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}] (paired bootstrap)"
        )


def finetune(args) -> int:
    spec = _model_spec(args)

    from bre_core.finetune import finetune
    from bre_core.settings import LoraSettings, TrainingSettings

    peft = None
    if args.peft or args.quantize:
        modules = tuple(m.strip() for m in args.target_modules.split(",") if m.strip()) if args.target_modules else None
        peft = LoraSettings(args.lora_r, args.lora_alpha, args.lora_dropout, modules, args.quantize)

    training = TrainingSettings(
        setting=args.setting,
        seed=args.seed,
        epochs=args.epochs,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        effective_batch=args.effective_batch,
        micro_batch=args.micro_batch,
        gradient_checkpointing=args.gradient_checkpointing,
        eval_from_epoch=args.eval_from_epoch,
        deepspeed=args.deepspeed,
        targets=args.targets,
        peft=peft,
    )
    run = finetune(
        spec, args.dataset, args.out, training, data_dir=args.data_dir, split_seed=args.split_seed, device=args.device
    )
    if run is None:  # a non-main process of a distributed run: the main one reports
        return 0
    print(f"{run.path}: checkpoint in {run.path / 'checkpoint'}")
    _print_scores(run, "test ")
    return 0


def grid(args) -> int:
    from bre_core.experiments import plan_grid, run_grid

    runs = plan_grid(args.spec, out=args.out, data_dir=args.data_dir, only=args.only)
    if args.print_commands:
        todo = [run for run in runs if run.status() != "done"]
        for run in todo:
            print(run.command)
        print(
            f"# {len(todo)} commands from {args.spec} ({len(runs) - len(todo)} runs complete already)", file=sys.stderr
        )
        return 0
    if args.dry_run:
        return _grid_dry_run(runs, args.spec)
    try:
        result = run_grid(runs, report=lambda line: print(line, flush=True))
    except KeyboardInterrupt as interrupt:
        _grid_summary(interrupt.grid_result)
        raise
    _grid_summary(result)
    return 1 if result.failed else 0


def _grid_dry_run(runs, spec: str) -> int:
    from bre_core.experiments import format_number, grid_counts

    counts = grid_counts(runs)
    print(f"{'status':<8} {'kind':<9} {'model':<17} {'dataset':<9} {'setting':<9} {'seed':>4} {'epochs':>6}  run")
    for run, status in zip(runs, counts.statuses):
        seed = "" if run.seed is None else str(run.seed)
        epochs = "" if run.epochs is None else format_number(run.epochs)
        print(
            f"{status:<8} {run.kind:<9} {run.model:<17} {run.dataset:<9} {run.setting:<9} {seed:>4} {epochs:>6}  "
            f"{run.name}"
        )
    by_setting = ", ".join(f"{setting} {n}" for setting, n in counts.finetune_by_setting.items())
    status = Counter(counts.statuses)
    print(f"{spec}: {len(runs)} runs in {', '.join(counts.folders)}")
    print(f"finetuning runs: {sum(counts.finetune_by_setting.values())}" + (f" ({by_setting})" if by_setting else ""))
    by_prompt = ", ".join(f"{setting} {n}" for setting, n in counts.evaluate_by_setting.items())
    in_context = set(counts.evaluate_by_setting) - {"zero-shot"}  # a zero-shot-only grid reads as it always did
    print(f"evaluation runs: {counts.evaluations}" + (f" ({by_prompt})" if in_context else ""))
    print(f"done {status['done']}, partial {status['partial']}, pending {status['pending']}")
    return 0


def _grid_summary(result) -> None:
    head = "grid interrupted" if result.interrupted else "grid finished"
    print(
        f"{head}: {len(result.done)} done, {len(result.failed)} failed, {result.skipped} skipped (complete already)",
        flush=True,
    )
    for name, why in result.failed:
        print(f"  failed: {name} ({why})", flush=True)


def publish(args) -> int:
    from bre_core.config import load_models_file
    from bre_core.publish import publish as publish_runs

    result = publish_runs(
        args.runs, args.repo_prefix, load_models_file(args.models), space=args.space, to=args.to, log=print
    )
    uploaded = sum(p.uploaded for p in result.published)
    print(
        f"{len(result.published)} checkpoint(s) on the hub ({uploaded} uploaded, "
        f"{len(result.published) - uploaded} unchanged); Space: {result.space}"
    )
    if result.failed:
        for path, why in result.failed:
            print(f"not published: {path}: {why}", file=sys.stderr)
        print(
            "the Space lists only what was published; run the same command again to publish the rest", file=sys.stderr
        )
        return 2
    return 0
