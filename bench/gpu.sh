#!/usr/bin/env bash
# The GPU benchmarks in one script (a few minutes on an H100), nothing downloaded:
#  1. inference: real-size T5-base, BART-base and BioGPT built from their published configurations, through
#     bre_core's loading and generation (docs/s by batch size, ms per token, peak memory, side by side);
#  2. training: T5-base, this project's finetuning set-up against the study's (micro-batch 1 x accumulation 32).
# Usage: bench/gpu.sh EXPORT.jsonl DATA_DIR OUT_DIR [options for bench/gpu.py]
#   EXPORT.jsonl: `python -m bre_core data export --dataset chemprot --split test --out EXPORT.jsonl`
#   DATA_DIR: a data folder holding at least chemprot/original/chemprot_training/
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
out="${3:-bench-gpu}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if [ "${SKIP_INFERENCE:-0}" != 1 ]; then
  python3 bench/gpu.py --data "${1:-.benchdata/chemprot-test.jsonl}" --out "$out/inference.json" "${@:4}"
fi
python3 bench/train.py --json --documents 256 --data-dir "${2:-.benchdata/data}" | tee "$out/train.json"
