#!/usr/bin/env bash
# Bundles bench/dawnNodeBench.ts (WGSL inlined) into build/dawn-bench/ with the linux-x64 dawn.node,
# so the WGSL generator can be timed on a GPU machine that has only node.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/dawn-bench
rm -rf "$out" && mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
npx vite build --ssr bench/dawnNodeBench.ts --outDir "$out" --emptyOutDir false --logLevel warn
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
echo '{"type":"module"}' > "$out/package.json"
ls -la "$out"
