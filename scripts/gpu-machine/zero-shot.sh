#!/usr/bin/env bash
# Runs on the GPU machine (docs/zero-shot.md): one call of the end-to-end zero-shot run.
#   bash scripts/gpu-machine/zero-shot.sh <config> <stages> [--unpack FILE] [extra args]
# Reads the staged rows from .zoo-data/ (python -m trainer zoo-data, here), writes the packed
# results to $OUT/<stages>.tar.gz and the whole log to $OUT/<stages>.log.
set -uo pipefail
cfg=$1; stages=$2; shift 2
tag=${stages//,/-}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
python3 -c 'import torch, sys; print("torch", torch.__version__, "python", sys.version.split()[0])'
python3 -m trainer zero-shot --config "$cfg" --datasets .zoo-data --stages "$stages" \
  --commit "$(git rev-parse HEAD 2>/dev/null || echo unknown)" --pack "$OUT/$tag.tar.gz" "$@" 2>&1 | tee "$OUT/$tag.log"
echo "rc=${PIPESTATUS[0]}"
