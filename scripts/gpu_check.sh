#!/usr/bin/env bash
# The GPU check from a fresh clone, sized for at most 8 minutes on one H100/H200:
# set-up, the CUDA tests, the 85m preset trained on a scaled mix, a judged test
# sample, the 280m preset's throughput and what its recipe would cost.
#
#   bash scripts/gpu_check.sh [--out DIR] [--steps N] ...   (options of scripts/gpu_check.py)
#
# Set-up: a GPU machine's own Python usually holds a CUDA build of PyTorch. The
# check uses that Python when it sees a GPU through it (CADMUS_PYTHON overrides),
# installs Cadmus into it without dependencies (its C VM is built on the way) and
# says which of Cadmus's dependencies are missing. Elsewhere it falls back to
# `make install` (the CPU build of PyTorch: then pass --cpu).
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${CADMUS_PYTHON:-python3}"
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    "$PY" -m pip install -q --no-deps --no-build-isolation -e . \
        || echo "gpu_check: pip install -e . failed; running from src/ on the reference VM" >&2
    missing=$("$PY" - <<'PYEOF'
import importlib.util
need = ["numpy", "pyarrow", "yaml", "pydantic", "tqdm", "matplotlib", "safetensors", "pandas", "pytest"]
print(" ".join(n for n in need if importlib.util.find_spec(n) is None))
PYEOF
)
    if [ -n "$missing" ]; then
        echo "gpu_check: missing Python packages: $missing (carry them as wheels, see docs/training.md)" >&2
        exit 2
    fi
    export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
else
    make install
    PY=.venv/bin/python
fi
exec "$PY" scripts/gpu_check.py "$@"
