#!/usr/bin/env bash
# First run on a fresh Debian 12 machine: install system packages, build Candor, then make a test
# clip, sign it with the public test identity and verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cargo build --bin candor
candor=target/debug/candor
mkdir -p out
rm -f out/first-clip.mp4 out/first-clip-signed.mp4
ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360:rate=30:duration=2 \
  -c:v libx264 -pix_fmt yuv420p -movflags +faststart out/first-clip.mp4
"$candor" probe out/first-clip.mp4
"$candor" sign out/first-clip.mp4 -o out/first-clip-signed.mp4 --source-type digitalCapture
echo
echo "Verifying with the public test identity's root as trust anchor (for this demo only):"
"$candor" verify out/first-clip-signed.mp4 --trust keys/dev/root.pem
echo "Without a trust anchor, the same file is intact but its signer is not trusted:"
"$candor" verify out/first-clip-signed.mp4
