#!/usr/bin/env bash
# Debian packages the tests need: Chromium (WebGPU through SwiftShader, also used by Dawn in
# Node) and the trainer's CPU test stack. Run as root on Debian/Ubuntu.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  chromium fonts-dejavu-core \
  python3 python3-torch python3-numpy python3-pytest xz-utils
