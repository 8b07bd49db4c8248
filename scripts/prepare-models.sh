#!/usr/bin/env bash
# Builds what the app serves under public/models/base/ from the committed release in models/base/:
#   - model_lora.onnx (fp32, the app's one session for base and adapters) and onnx/model.onnx (no LoRA
#     inputs; transformers.js's file naming, for the decode benchmark's comparison) and encoder.onnx
#     (the prompt-condition encoder: final-norm hidden states, trainer/generator/conditions.py), exported by
#     trainer/export/onnx_model.py into build/onnx/;
#   - the tokenizer and config files of models/base/.
# Idempotent and fast when up to date: the export is skipped when build/onnx/export.json records the
# sha256 of the current models/base/model.safetensors and config.json, and files are copied only when
# they differ. Run by `npm start` / `npm run build` (prestart/prebuild) and by the e2e global setup.
#
#   bash scripts/prepare-models.sh            # as above
#   PREPARE_MODELS_FORCE=1 bash scripts/...   # re-export even when up to date
set -euo pipefail
cd "$(dirname "$0")/.."

SRC=models/base
ONNX=build/onnx
DEST=public/models/base
PYTHON=${PYTHON:-/usr/bin/python3}

if [[ ! -f "$SRC/model.safetensors" || ! -f "$SRC/config.json" ]]; then
  echo "prepare-models: $SRC/model.safetensors or $SRC/config.json is missing; nothing to serve." >&2
  exit 1
fi

sha() { sha256sum "$1" | cut -d' ' -f1; }

up_to_date() {
  [[ -f "$ONNX/export.json" && -f "$ONNX/model.onnx" && -f "$ONNX/model_lora.onnx" && -f "$ONNX/encoder.onnx" ]] || return 1
  local want_model want_config
  want_model=$(sha "$SRC/model.safetensors")
  want_config=$(sha "$SRC/config.json")
  grep -q "\"model_safetensors_sha256\": \"$want_model\"" "$ONNX/export.json" &&
    grep -q "\"config_sha256\": \"$want_config\"" "$ONNX/export.json"
}

if [[ "${PREPARE_MODELS_FORCE:-0}" != "1" ]] && up_to_date; then
  echo "prepare-models: $ONNX is up to date with $SRC"
else
  if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "prepare-models: $PYTHON with torch is needed to export $SRC to ONNX (trainer/export/onnx_model.py)." >&2
    exit 1
  fi
  echo "prepare-models: exporting $SRC to $ONNX (fp32) ..."
  "$PYTHON" -m trainer.export.onnx_model --model "$SRC" --out "$ONNX"
fi

mkdir -p "$DEST/onnx"
rm -f "$DEST/model.onnx"
copy() { # copy $1 to ${2:-$DEST} unless an identical file is there
  local target="${2:-$DEST}/$(basename "$1")"
  if [[ ! -f "$target" ]] || ! cmp -s "$1" "$target"; then
    cp "$1" "$target.tmp" && mv "$target.tmp" "$target"
    echo "prepare-models: $target"
  fi
}
copy "$ONNX/model.onnx" "$DEST/onnx"
copy "$ONNX/model_lora.onnx"
copy "$ONNX/encoder.onnx"
copy "$ONNX/export.json"
for f in config.json generation_config.json tokenizer.json tokenizer_config.json special_tokens_map.json; do
  [[ -f "$SRC/$f" ]] && copy "$SRC/$f"
done
# sha256 of the release weights, for the generator manifest's base hash check (DESIGN §4)
model_sha=$(sha "$SRC/model.safetensors")
printf '{\n  "model_safetensors_sha256": "%s"\n}\n' "$model_sha" > "$DEST/base.json.tmp"
if ! cmp -s "$DEST/base.json.tmp" "$DEST/base.json" 2>/dev/null; then mv "$DEST/base.json.tmp" "$DEST/base.json"; else rm "$DEST/base.json.tmp"; fi

# The release parameter generator (models/generator/, trainer/evaluate/reconstruction_pipeline.py): served as committed.
GEN_SRC=models/generator
GEN_DEST=public/models/generator
if [[ -f "$GEN_SRC/generator.json" && -f "$GEN_SRC/generator.safetensors" ]]; then
  mkdir -p "$GEN_DEST"
  copy "$GEN_SRC/generator.json" "$GEN_DEST"
  copy "$GEN_SRC/generator.safetensors" "$GEN_DEST"
else
  echo "prepare-models: no $GEN_SRC/generator.{json,safetensors}; the app runs without the Generate step." >&2
fi
