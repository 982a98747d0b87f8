"""`python -m bre_core ...`: thin command-line wrappers over the library's functions."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from bre_core.errors import BreError

PROTOCOL_NAMES = ("study", "corrected")  # bre_core.tasks.PROTOCOLS, named here so that --help imports nothing

_DATA_DIR_HELP = "folder holding the corpora (default: $BRE_DATA_DIR, else ./data)"


def _add_data_options(parser: argparse.ArgumentParser, *, split: bool, hub: bool = True) -> None:
    """--dataset, --split, --data-dir, --split-seed and (where the command can read the hub) --source."""
    parser.add_argument("--dataset", required=True, help="cdr, chemprot, ddi or dce")
    if split:
        parser.add_argument("--split", required=True, help="train, validation or test")
    parser.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    _add_split_seed(parser)
    if hub:
        parser.add_argument(
            "--source",
            choices=("files", "hub"),
            default="files",
            help="read the official files in the data folder (default) or the Hugging Face hub",
        )


def _add_split_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--split-seed",
        default="study",
        help="validation split of DDI and DCE: 'study' (the study's own documents, default) or a seed N",
    )


def _add_protocol(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--protocol", choices=tuple(PROTOCOL_NAMES), default="study", help=f"{what} (default: study)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bre_core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="corpora: statistics, export, download")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    stats = data_commands.add_parser("stats", help="documents, relations, labels and format ceiling per split")
    _add_data_options(stats, split=False)
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(handler=_data_stats)

    export = data_commands.add_parser("export", help="one JSON line per document: id, text, source, target, relations")
    _add_data_options(export, split=True)
    export.add_argument("--out", default=None, help="write to this file (atomically) instead of standard output")
    export.set_defaults(handler=_data_export)

    download = data_commands.add_parser("download", help="fetch the official releases and verify their checksums")
    download.add_argument(
        "--dataset", action="append", default=None, help="a corpus to fetch (repeatable; default: all four)"
    )
    download.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    download.add_argument("--mirror", default=None, help="base URL serving the release files under their own names")
    download.add_argument("--force", action="store_true", help="download again even when verified files exist")
    download.set_defaults(handler=_data_download)

    score = commands.add_parser("score", help="score generated outputs against a split's gold relations")
    _add_data_options(score, split=True)
    score.add_argument("--predictions", required=True, help='JSON lines {"id": document id, "output": generated text}')
    _add_protocol(score, "the study's scoring rules exactly, or the corrected ones (README: Scoring)")
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.set_defaults(handler=_score)

    evaluate = commands.add_parser("evaluate", help="generate with a model on a split and write a run folder")
    evaluate.add_argument("--model", required=True, help="a models.yaml name, or the folder of a saved model")
    _add_data_options(evaluate, split=True, hub=False)  # it records the files' content hash
    evaluate.add_argument("--out", required=True, help="folder of runs; the run goes in a sub-folder named after it")
    evaluate.add_argument("--limit", type=int, default=None, help="only the first N documents")
    evaluate.add_argument(
        "--batch-size", type=int, default=None, help="sources generated together (default: 64 on a GPU, 16 on a CPU)"
    )
    evaluate.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="output budget (default: the study's, 512 encoder-decoder / 1024 decoder-only)",
    )
    evaluate.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    evaluate.add_argument("--models", default=None, help="models file (default: $BRE_MODELS, else models.yaml)")
    evaluate.set_defaults(handler=_evaluate)

    finetune = commands.add_parser("finetune", help="finetune a model with the study's protocol, then test it")
    finetune.add_argument("--model", required=True, help="a models.yaml name, or the folder of a saved model")
    finetune.add_argument("--dataset", required=True, help="cdr, chemprot, ddi or dce")
    finetune.add_argument("--setting", required=True, help="full, k16 or k64 (few-shot: k training documents)")
    finetune.add_argument("--seed", type=int, default=None, help="seed (default: 42 for full, 0 for few-shot)")
    finetune.add_argument("--epochs", type=float, default=None, help="default: the study's for the model and setting")
    finetune.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    finetune.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    _add_split_seed(finetune)
    finetune.add_argument(
        "--targets",
        choices=tuple(PROTOCOL_NAMES),
        default="study",
        help="training targets as the study wrote them (default) or corrected (README: Scoring)",
    )
    finetune.add_argument("--out", required=True, help="folder of runs; this run goes in a sub-folder named after it")
    finetune.add_argument("--learning-rate", type=float, default=5e-5)
    finetune.add_argument("--effective-batch", type=int, default=32, help="documents per optimizer step")
    finetune.add_argument(
        "--micro-batch", type=int, default=None, help="documents per forward pass (default: by device)"
    )
    finetune.add_argument("--gradient-checkpointing", action="store_true")
    finetune.add_argument("--eval-from-epoch", type=int, default=10, help="validate each epoch after this one (full)")
    finetune.add_argument("--deepspeed", default=None, help="DeepSpeed config, e.g. configs/deepspeed_zero3.json")
    finetune.add_argument("--device", default=None, help="cpu, cuda ... (default: as accelerate decides)")
    finetune.add_argument("--models", default=None, help="models file (default: $BRE_MODELS, else models.yaml)")
    finetune.set_defaults(handler=_finetune)

    grid = commands.add_parser("grid", help="run (or list) an experiment grid such as experiments/paper.yaml")
    grid.add_argument("spec", help="experiment file, e.g. experiments/paper.yaml")
    grid.add_argument("--dry-run", action="store_true", help="list and count the runs, run nothing")
    grid.add_argument("--only", default=None, help="only runs whose name matches this glob pattern")
    grid.add_argument("--print-commands", action="store_true", help="one self-contained command per run")
    grid.add_argument("--out", default=None, help="folder of runs (default: the file's `out`)")
    grid.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    grid.set_defaults(handler=_grid)

    compare = commands.add_parser("compare", help="compare two runs over the same documents")
    compare.add_argument("run_a", help="run folder A")
    compare.add_argument("run_b", help="run folder B")
    compare.add_argument("--samples", type=int, default=1000, help="bootstrap samples (default 1000)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and randomisation test")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.set_defaults(handler=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # what long commands did, with counts
    try:
        _check_names(args)
        return args.handler(args) or 0
    except BreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `... | head`: the reader left; stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (stays open until the process exits)
        return 0


def _check_names(args) -> None:
    """Dataset and split names are checked before a handler imports torch: a typo is reported at once, as such."""
    from bre_core.datasets import check_dataset, check_split

    if isinstance(getattr(args, "dataset", None), str):  # `data download` takes a list and checks it itself
        check_dataset(args.dataset)
    if getattr(args, "split", None) is not None:
        check_split(args.split)
    if getattr(args, "split_seed", None) is not None:
        from bre_core.datasets.splits import check_split_seed

        args.split_seed = check_split_seed(args.split_seed)


# --- handlers -------------------------------------------------------------------------------------


def _data_stats(args) -> int:
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


def _data_export(args) -> int:
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


def _data_download(args) -> int:
    from bre_core.datasets.download import download_datasets
    from bre_core.datasets.files import resolve_data_dir

    paths = download_datasets(args.dataset or [], resolve_data_dir(args.data_dir), mirror=args.mirror, force=args.force)
    for path in paths:
        print(path)
    return 0


def _score(args) -> int:
    from bre_core.datasets import load_documents
    from bre_core.results import read_predictions
    from bre_core.scoring import score_outputs
    from bre_core.tasks import get_task

    documents = load_documents(args.dataset, args.split, args.data_dir, source=args.source, split_seed=args.split_seed)
    outputs = read_predictions(Path(args.predictions), [document.id for document in documents])
    result = score_outputs(get_task(args.dataset, args.protocol), documents, outputs)
    if args.json:
        print(
            json.dumps(
                {"dataset": args.dataset, "split": args.split, "protocol": args.protocol, **result.to_dict()}, indent=2
            )
        )
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
    return 0


def _model_spec(args):
    """--model resolved against --models before torch is imported: an unknown model is reported at once."""
    from bre_core.config import load_models_file, resolve_model

    return resolve_model(args.model, load_models_file(args.models))


def _evaluate(args) -> int:
    spec = _model_spec(args)

    from bre_core.runner import evaluate
    from bre_core.settings import DecodingSettings

    run = evaluate(
        spec,
        args.dataset,
        args.split,
        args.out,
        decoding=DecodingSettings(args.max_new_tokens, args.batch_size),
        data_dir=args.data_dir,
        limit=args.limit,
        split_seed=args.split_seed,
        device=args.device,
    )
    print(f"{run.path}: {run.metrics['documents']} documents")
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


def _compare(args) -> int:
    from bre_core.results import read_run
    from bre_core.run_sets import compare_under_protocols

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


def _finetune(args) -> int:
    spec = _model_spec(args)

    from bre_core.finetune import finetune
    from bre_core.settings import TrainingSettings

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
    )
    run = finetune(
        spec, args.dataset, args.out, training, data_dir=args.data_dir, split_seed=args.split_seed, device=args.device
    )
    if run is None:  # a non-main process of a distributed run: the main one reports
        return 0
    print(f"{run.path}: checkpoint in {run.path / 'checkpoint'}")
    _print_scores(run, "test ")
    return 0


def _grid(args) -> int:
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
    print(f"evaluation runs: {counts.evaluations}")
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
