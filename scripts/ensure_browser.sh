#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright cannot download browsers here). Install it once.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "[browser] chromium is missing; install it with: sudo apt-get install chromium fonts-noto-cjk" >&2
  exit 1
fi
echo "[browser] installing Debian's chromium (one time)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
