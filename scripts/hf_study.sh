#!/usr/bin/env bash
# Issue 15's study (docs/hf.md, "Fine-tuning study"): from-scratch Cadmus models against SmolLM2-135M
# fine-tuned with LoRA and SmolLM2 untuned, on the demo's arithmetic and on negdiv-python (division
# and remainder of negative numbers shown as Python), at one CPU budget: 30 thread-minutes of
# training per arm, turned once into step budgets from throughputs measured on this machine with one
# thread (tiny on negdiv-python 0.31 s/step, the ~5M model 1.65 s/step, SmolLM2 LoRA 1.55 s/step on arith and 6.7 s/step on
# negdiv-python, 8 examples a step). Budgets are steps, so every run is reproducible.
#   scripts/hf_study.sh RUNS_DIR LANE     LANE a: tiny and ~5M from scratch, SmolLM2 untuned
#                                         LANE b: SmolLM2 with LoRA
# One thread per lane: `scripts/hf_study.sh runs/hf a & scripts/hf_study.sh runs/hf b`.
# A lane skips what is finished and resumes an interrupted run. Then
# `python scripts/record_study.py hf` writes docs/results/hf-study.json.
set -euo pipefail
runs=${1:-runs/hf}
lane=${2:-a}
limit=${LIMIT:-300}          # prompts per split (the first ones of each split, the same for every arm)
cadmus=${CADMUS:-.venv/bin/cadmus}
export OMP_NUM_THREADS=1

data() {  # data NAME CONFIG
  [ -f "$runs/$1-data/manifest.json" ] || "$cadmus" data build "$2" --out "$runs/$1-data" -q
}

train_eval() {  # train_eval RUN DATA CONFIG OVERRIDES...
  local run=$runs/$1 dataset=$runs/$2-data config=$3
  shift 3
  [ -f "$run/eval/study/summary.json" ] && return 0
  if [ ! -f "$run/train_done" ]; then
    local resume=()
    [ -e "$run/checkpoints/latest" ] && resume=(--resume)
    "$cadmus" train "${resume[@]}" "$config" threads=1 data.build=null "data.dataset=$dataset" "out_dir=$run" "$@"
    touch "$run/train_done"
  fi
  "$cadmus" eval "$run" "$dataset" --limit "$limit" --out "$run/eval/study"
}

untuned() {  # untuned NAME
  [ -f "$runs/untuned-$1/summary.json" ] && return 0
  "$cadmus" llm eval --hf smollm2 --template raw --limit "$limit" "$runs/$1-data" --out "$runs/untuned-$1"
}

data arith configs/data/arith.yaml
data negdiv configs/data/negdiv-python.yaml
if [ "$lane" = a ]; then
  train_eval tiny-arith arith configs/train/tiny-cpu.yaml threads=2  # the demo: its recipe, budget (12,000 steps), threads
  train_eval tiny-negdiv negdiv configs/train/tiny-cpu.yaml model.block_size=192 stop.max_steps=5800
  train_eval m5-negdiv negdiv configs/train/tiny-cpu.yaml model.block_size=192 \
    model.n_layer=4 model.n_embd=320 model.n_head=5 stop.max_steps=1100
  untuned arith
  untuned negdiv
else
  train_eval lora-arith arith configs/train/smollm2-arith-lora.yaml stop.max_steps=1160 eval.interval=200
  train_eval lora-negdiv negdiv configs/train/smollm2-arith-lora.yaml stop.max_steps=270 eval.interval=50 \
    checkpoint.interval=50
fi
