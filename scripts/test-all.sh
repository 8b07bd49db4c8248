#!/usr/bin/env bash
# The project's whole test suite: types, trainer (CPU), WebGPU kernels and units (Dawn on
# SwiftShader), and the end-to-end suite in headless Chromium. Needs the system packages that
# scripts/install-system-deps.sh installs and `npm ci --ignore-scripts`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; npm run --silent typecheck
echo "== trainer (CPU)"; npm run --silent test:trainer
echo "== unit + WebGPU kernels (Dawn on SwiftShader)"; npm run --silent test:unit
echo "== end-to-end (headless Chromium, WebGPU on SwiftShader)"; npm run --silent test:e2e
