"""`python -m bre_core ...`: thin command-line wrappers over the library's functions."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from bre_core.errors import BreError

_DATA_DIR_HELP = "folder holding the corpora (default: $BRE_DATA_DIR, else ./data)"


def _add_data_options(parser: argparse.ArgumentParser, *, split: bool) -> None:
    parser.add_argument("--dataset", required=True, help="cdr, chemprot, ddi or dce")
    if split:
        parser.add_argument("--split", required=True, help="train, validation or test")
    parser.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    parser.add_argument("--split-seed", type=int, default=42,
                        help="seed of the validation split of DDI and DCE (default 42)")
    parser.add_argument("--source", choices=("files", "hub"), default="files",
                        help="read the official files in the data folder (default) or the Hugging Face hub")


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
    download.add_argument("--dataset", action="append", default=None,
                          help="a corpus to fetch (repeatable; default: all four)")
    download.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    download.add_argument("--mirror", default=None, help="base URL serving the release files under their own names")
    download.add_argument("--force", action="store_true", help="download again even when verified files exist")
    download.set_defaults(handler=_data_download)

    score = commands.add_parser("score", help="score generated outputs against a split's gold relations")
    _add_data_options(score, split=True)
    score.add_argument("--predictions", required=True, help='JSON lines {"id": document id, "output": generated text}')
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.set_defaults(handler=_score)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # what long commands did, with counts
    try:
        return args.handler(args) or 0
    except BreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `... | head`: the reader left; stop quietly
        sys.stdout = open(os.devnull, "w")
        return 0


# --- handlers -------------------------------------------------------------------------------------

def _data_stats(args) -> int:
    from bre_core.stats import dataset_stats

    stats = dataset_stats(args.dataset, args.data_dir, source=args.source, split_seed=args.split_seed)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{stats['dataset']}: documents, distinct relations as scored, annotations, format ceiling")
    print(f"{'split':<11} {'documents':>9} {'relations':>9} {'annotated':>9} {'ceiling F1':>10}  by label")
    for split, row in stats["splits"].items():
        labels = ", ".join(f"{label} {count}" for label, count in row["by_label"].items())
        print(f"{split:<11} {row['documents']:>9} {row['relations']:>9} {row['annotated']:>9} "
              f"{row['ceiling_f1']:>10.4f}  {labels}")
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
    result = score_outputs(get_task(args.dataset), documents, outputs)
    if args.json:
        print(json.dumps({"dataset": args.dataset, "split": args.split, **result.to_dict()}, indent=2))
        return 0
    micro = result.micro
    print(f"{args.dataset} {args.split}: {result.documents} documents, {result.missing} without a prediction, "
          f"{result.parse_failures} parse failures ({result.unreadable} unreadable, {result.unknown_labels} unknown labels)")
    print(f"micro  P {micro.precision:.4f}  R {micro.recall:.4f}  F1 {micro.f1:.4f}  (TP {micro.tp}, FP {micro.fp}, FN {micro.fn})")
    print(f"macro  F1 {result.macro_f1:.4f}")
    for label, prf in result.per_class.items():
        print(f"  {label:<10} P {prf.precision:.4f}  R {prf.recall:.4f}  F1 {prf.f1:.4f}  (TP {prf.tp}, FP {prf.fp}, FN {prf.fn})")
    return 0
