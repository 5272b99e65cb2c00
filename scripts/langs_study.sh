#!/usr/bin/env bash
# The languages experiment (docs/languages.md): models trained on N = 1, 10 and 200 generated
# languages, then judged per tier on seen languages (test), unseen generated languages
# (heldout_gen) and Python (real_python).
#   scripts/langs_study.sh [RUNS_DIR [N ...]]   (default runs/langs, N = 1 10 200; finished runs
#                                               are skipped)
# The configs train on one thread each, so two copies fit this machine, e.g.
#   scripts/langs_study.sh runs/langs 10 & scripts/langs_study.sh runs/langs 200
set -euo pipefail
runs=${1:-runs/langs}
shift || true
sizes=${*:-1 10 200}
cadmus=${CADMUS:-.venv/bin/cadmus}
for n in $sizes; do
  data=$runs/data-n$n out=$runs/n$n
  [ -f "$data/manifest.json" ] || "$cadmus" data build "configs/data/langs-n$n.yaml" --out "$data" -q
  if [ ! -f "$out/eval/langs/summary.json" ]; then
    "$cadmus" train "configs/train/langs-n$n.yaml" data.build=null "data.dataset=$data" "out_dir=$out"
    "$cadmus" eval "$out" "$data" --split test --split heldout_gen --split real_python --out "$out/eval/langs"
  fi
done
