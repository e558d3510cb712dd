#!/usr/bin/env bash
# System packages Candor builds and runs against (Debian 12): FFmpeg's libraries and CLI, clang for
# the FFmpeg bindings; headless Chromium and a font for the HTML report's rendering test; GNU time
# for `bench scan`'s peak-memory figures; PostgreSQL (the shared manifest store's tests), nginx
# (the TLS reverse-proxy test), wrk (`bench service`'s load), curl and openssl.
# Then the prompt reader's text encoder (scripts/install-text-encoder.sh, models/text-encoder/).
# Idempotent; uses sudo when not root.
set -euo pipefail
packages=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  libswresample-dev libavfilter-dev libavdevice-dev ffmpeg chromium fonts-dejavu-core time
  postgresql nginx wrk curl openssl python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
"$(dirname "$0")/install-text-encoder.sh"
