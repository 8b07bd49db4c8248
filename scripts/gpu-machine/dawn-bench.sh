#!/usr/bin/env bash
# Runs on the GPU machine: WGSL generator through Dawn on the NVIDIA Vulkan driver + PyTorch reference.
set -u
cd "$(dirname "$0")"  # run from the carried .dawn/ folder (node.xz, dawn.node.xz, dawn-bench/, Vulkan loader debs)
for f in *.deb; do dpkg -x "$f" /; done; ldconfig
xz -dc node.xz > /tmp/node && chmod +x /tmp/node
rm -rf /tmp/db && cp -r dawn-bench /tmp/db && xz -dc dawn.node.xz > /tmp/db/node_modules/webgpu/dist/linux-x64/dawn.node
cd ..
python3 -m trainer.generator.random_weights --schedule bench/release-standin.json --out /tmp/gen > /dev/null
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
ls /usr/local/nvidia/share/vulkan/icd.d/ /etc/vulkan/icd.d /usr/share/vulkan/icd.d 2>&1 | head
timeout 240 /tmp/node /tmp/db/dawnNodeBench.js /tmp/gen 50 5 test/fixtures/hyperconv > "$OUT/dawn.json" 2> "$OUT/dawn.log"; echo "dawn rc=$?"
tail -5 "$OUT/dawn.log"
python3 -m trainer.bench.generator_torch --schedule bench/release-standin.json --runs 50 --warmup 5 --out "$OUT/torch.json"
