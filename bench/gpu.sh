#!/usr/bin/env bash
# The GPU benchmark in one script (a few minutes on an H100): real-size T5-base, BART-base and BioGPT built from
# their published configurations (nothing is downloaded), run through bre_core's loading and generation.
# Usage: bench/gpu.sh DATA.jsonl OUT.json   (DATA: `python -m bre_core data export --dataset chemprot --split test`)
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 bench/gpu.py --data "${1:-.benchdata/chemprot-test.jsonl}" --out "${2:-bench-gpu.json}" "${@:3}"
