#!/usr/bin/env bash
# The positional-levers study (docs/generalization.md): every arm x 3 seeds, trained on the
# shared digits-ood dataset, then judged on its test split and the five OOD splits.
#   scripts/levers_study.sh [RUNS_DIR]      (default runs/levers)
# A run is claimed before it starts (RUNS_DIR/ARM-sSEED.claim), so two copies of this script
# share the study: start one per core (the configs train on one thread each). Finished runs
# are skipped; a run whose worker died keeps its claim: delete the .claim to redo it (training
# resumes from its last checkpoint).
set -euo pipefail
runs=${1:-runs/levers}
cadmus=${CADMUS:-.venv/bin/cadmus}
data=$runs/data
mkdir -p "$runs"
if mkdir "$runs/data.claim" 2>/dev/null; then
  [ -f "$data/manifest.json" ] || "$cadmus" data build configs/data/digits-ood.yaml --out "$data" -q
fi
until [ -f "$data/manifest.json" ]; do sleep 5; done
for seed in 1 2 3; do
  for arm in baseline abacus coupling randpos fire; do
    out=$runs/$arm-s$seed
    [ -f "$out/eval/digits-ood/summary.json" ] && continue
    mkdir "$out.claim" 2>/dev/null || continue
    "$cadmus" train "configs/train/levers-$arm.yaml" data.build=null "data.dataset=$data" \
      "seed=$seed" "out_dir=$out"
    "$cadmus" eval "$out" "$data" --split test --split ood_digits_3 --split ood_digits_4 \
      --split ood_digits_6 --split ood_statements_3 --split ood_statements_4_8 --limit 1000 --out "$out/eval/digits-ood"
  done
done
