#!/usr/bin/env bash
# Bundles bench/dawnNodeBench.ts (WGSL inlined) into build/dawn-bench/ with the linux-x64 dawn.node,
# so the WGSL generator can be timed on a GPU machine that has only node.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/dawn-bench
rm -rf "$out" && mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
npx vite build --ssr bench/dawnNodeBench.ts --outDir "$out" --emptyOutDir false --logLevel warn
rm -rf "$out/models"  # vite copies public/ (served models) into outDir; not needed here
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
echo '{"type":"module"}' > "$out/package.json"
# To run on the GPU machine (device tool): put into the ignored folder .dawn/ this bundle, the node
# binary (xz), dawn.node (xz), the Vulkan loader/GLVND debs (libvulkan1 libegl1 libglvnd0 libopengl0
# libgl1 libglx0 libgles2) and scripts/gpu-machine/dawn-bench.sh as run.sh; carry .dawn.
ls -la "$out"
