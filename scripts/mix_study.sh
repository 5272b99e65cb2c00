#!/usr/bin/env bash
# The mix on the CPU (docs/training.md, "The mix on the CPU"): one model trained at most 60 minutes
# on the complete and output formats of twelve families (configs/train/mix-cpu.yaml), then judged
# on test and the two OOD splits, per family and format.
#   scripts/mix_study.sh [RUNS_DIR]      (default runs/mix; a finished run is skipped)
# The config trains on one thread, so another one-thread job fits beside it on this machine.
set -euo pipefail
runs=${1:-runs/mix}
cadmus=${CADMUS:-.venv/bin/cadmus}
data=$runs/data out=$runs/cpu
[ -f "$data/manifest.json" ] || "$cadmus" data build configs/data/mix-cpu.yaml --out "$data" -q
if [ ! -f "$out/eval/mix/summary.json" ]; then
  "$cadmus" train configs/train/mix-cpu.yaml data.build=null "data.dataset=$data" "out_dir=$out"
  "$cadmus" eval "$out" "$data" --split test --split ood_names --split ood_renamed --out "$out/eval/mix"
fi
