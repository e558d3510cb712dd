#!/usr/bin/env bash
# First run on a fresh Debian 12 machine: install system packages, build Candor, generate a clip
# with the default model (watermarked and signed as AI-generated), then verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --bin candor
candor=target/debug/candor
mkdir -p out
export CANDOR_STORE="$PWD/out/manifests.db"
rm -f out/first-clip.mp4
"$candor" generate "a crimson ball drifting to the right across a clear sky" -o out/first-clip.mp4 --seed 1
echo
echo "Verifying with the public test identity's root as trust anchor (for this demo only):"
"$candor" verify out/first-clip.mp4 --trust keys/dev/root.pem
