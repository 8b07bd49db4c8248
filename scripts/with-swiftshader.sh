#!/usr/bin/env bash
# Runs a command with Dawn (the `webgpu` npm package) pointed at Chromium's SwiftShader Vulkan
# driver, so WebGPU kernels run on machines without a GPU (CI). On a machine with a real Vulkan
# driver set DND_NATIVE_VULKAN=1 to keep the system's driver instead.
set -euo pipefail
if [ "${DND_NATIVE_VULKAN:-0}" != 1 ]; then
  if [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
    echo "SwiftShader not found: install Debian's chromium package (apt-get install chromium)" >&2
    exit 1
  fi
  export LD_LIBRARY_PATH="/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
exec "$@"
