"""`python -m bre_core ...`: thin command-line wrappers over the library's functions."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bre_core import cli_commands as handlers
from bre_core.errors import BreError
from bre_core.settings import ENGINES

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
    stats.set_defaults(handler=handlers.data_stats)

    export = data_commands.add_parser("export", help="one JSON line per document: id, text, source, target, relations")
    _add_data_options(export, split=True)
    export.add_argument("--out", default=None, help="write to this file (atomically) instead of standard output")
    export.set_defaults(handler=handlers.data_export)

    download = data_commands.add_parser("download", help="fetch the official releases and verify their checksums")
    download.add_argument(
        "--dataset", action="append", default=None, help="a corpus to fetch (repeatable; default: all four)"
    )
    download.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    download.add_argument("--mirror", default=None, help="base URL serving the release files under their own names")
    download.add_argument("--force", action="store_true", help="download again even when verified files exist")
    download.set_defaults(handler=handlers.data_download)

    score = commands.add_parser("score", help="score generated outputs against a split's gold relations")
    _add_data_options(score, split=True)
    score.add_argument("--predictions", required=True, help='JSON lines {"id": document id, "output": generated text}')
    _add_protocol(score, "the study's scoring rules exactly, or the corrected ones (README: Scoring)")
    score.add_argument("--json", action="store_true", help="print one JSON object")
    score.set_defaults(handler=handlers.score)

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
    evaluate.add_argument(
        "--engine",
        choices=ENGINES,
        default="hf",
        help="decoding engine: hf (default), ctranslate2 (pip install -r requirements-fast.txt; README: Decoding "
        "engines; models it does not support fall back to hf, as the run records) or vllm (CUDA; "
        "requirements-llm.txt)",
    )
    evaluate.add_argument(
        "--compute-type",
        default=None,
        help="weights' type: ctranslate2 float32 (default), int8, or float16/bfloat16 on a GPU; hf: float32, "
        "float16, bfloat16 (default: the device's)",
    )
    evaluate.add_argument("--models", default=None, help="models file (default: $BRE_MODELS, else models.yaml)")
    evaluate.add_argument(
        "--setting",
        default="zero-shot",
        help="zero-shot (default) or icl-kN: N demonstrations from the training split before each passage",
    )
    evaluate.add_argument(
        "--demonstration-seed", type=int, default=0, help="seed drawing the icl-kN demonstrations (default 0)"
    )
    evaluate.set_defaults(handler=handlers.evaluate)

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
    finetune.add_argument(
        "--peft", choices=("lora",), default=None, help="train LoRA adapters instead of every weight (peft)"
    )
    finetune.add_argument("--lora-r", type=int, default=16, help="LoRA rank (default 16)")
    finetune.add_argument("--lora-alpha", type=int, default=32, help="LoRA scaling alpha (default 32)")
    finetune.add_argument("--lora-dropout", type=float, default=0.05, help="LoRA dropout (default 0.05)")
    finetune.add_argument(
        "--target-modules", default=None, help="comma-separated module names to adapt (default: peft's for the model)"
    )
    finetune.add_argument(
        "--quantize", choices=("4bit",), default=None, help="QLoRA: a 4-bit base model (bitsandbytes, CUDA only)"
    )
    finetune.add_argument("--models", default=None, help="models file (default: $BRE_MODELS, else models.yaml)")
    finetune.set_defaults(handler=handlers.finetune)

    grid = commands.add_parser("grid", help="run (or list) an experiment grid such as experiments/paper.yaml")
    grid.add_argument("spec", help="experiment file, e.g. experiments/paper.yaml")
    grid.add_argument("--dry-run", action="store_true", help="list and count the runs, run nothing")
    grid.add_argument("--only", default=None, help="only runs whose name matches this glob pattern")
    grid.add_argument("--print-commands", action="store_true", help="one self-contained command per run")
    grid.add_argument("--out", default=None, help="folder of runs (default: the file's `out`)")
    grid.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    grid.set_defaults(handler=handlers.grid)

    compare = commands.add_parser("compare", help="compare two runs over the same documents")
    compare.add_argument("run_a", help="run folder A")
    compare.add_argument("run_b", help="run folder B")
    compare.add_argument("--samples", type=int, default=1000, help="bootstrap samples (default 1000)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and randomisation test")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.set_defaults(handler=handlers.compare)

    publish = commands.add_parser("publish", help="checkpoints to hub model repositories, runs and app to a Space")
    publish.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (or folders of them) from finetune")
    publish.add_argument("--repo-prefix", required=True, help="USER/PREFIX of the model repositories, e.g. me/bre-")
    where = publish.add_mutually_exclusive_group(required=True)
    where.add_argument("--space", default=None, help="the Space repository to write, USER/NAME")
    where.add_argument("--to", default=None, help="write the Space's files into this folder instead, to push later")
    publish.add_argument("--models", default=None, help="models file (default: $BRE_MODELS, else models.yaml)")
    publish.set_defaults(handler=handlers.publish)
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
