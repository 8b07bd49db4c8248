#!/usr/bin/env bash
# Runs on the GPU machine (docs/zero-shot.md): one call of the end-to-end zero-shot run.
#   bash scripts/gpu-machine/zero-shot.sh <config> <stages> <commit> [extra args: --time-limit S, --deadline S ...]
# Reads the staged rows from .zoo-data/ (python -m trainer zoo-data, here), writes the packed
# results to $OUT/<stages>.tar.gz and the whole log to $OUT/<stages>.log; prints the call's
# timings (and the throughput comparison, once measured) last.
set -uo pipefail
cfg=$1; stages=$2; commit=$3; shift 3
tag=${stages//,/-}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
python3 -c 'import torch, sys; print("torch", torch.__version__, "python", sys.version.split()[0])'
python3 -m trainer zero-shot --config "$cfg" --datasets .zoo-data --stages "$stages" --commit "$commit" \
  --pack "$OUT/$tag.tar.gz" "$@" 2>&1 | tee "$OUT/$tag.log" | grep -v -E '\] \[(controls|generated)\] '
rc=${PIPESTATUS[0]}
run_dir=$(python3 -c "import sys, json; from trainer.config import load_config, merge, resolve; c = load_config(sys.argv[1]); c = merge(load_config(resolve(c['extends'])), c) if 'extends' in c else c; print(resolve(c['run_dir']))" "$cfg")
for f in "$run_dir"/results/call-*.json "$run_dir"/results/throughput.json; do [ -f "$f" ] && { echo "== $f"; head -c 3000 "$f"; echo; }; done
echo "rc=$rc"
