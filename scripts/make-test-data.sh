#!/usr/bin/env bash
# Remakes the Candor clips and manifest stores in tests/data/verify with the default model and
# the public test identity (keys/dev). Run after a change to what a clip carries (the watermark
# scheme, the generation assertion); then update the verify goldens:
#   CANDOR_UPDATE_GOLDEN=1 cargo test --test verify_json_golden
# Usage: scripts/make-test-data.sh   (CANDOR=path/to/candor to use another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
candor=${CANDOR:-target/release/candor}
[ -x "$candor" ] || cargo build --release --bin candor
out=tests/data/verify
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen() { # prompt seed content-id store output
  "$candor" generate "$1" --seed "$2" --content-id "$3" --identity keys/dev --store "$4" -o "$5" --force >/dev/null
}
rm -f "$out"/store.db "$out"/store-clips.db
# The signed clip, its manifest in store.db; clip2 and clip3 with it in store-clips.db.
gen "a red circle moving right over the sky" 1 00000000c0ffee01 "$out/store.db" "$out/clip.mp4"
cp "$out/store.db" "$out/store-clips.db"
gen "a blue square moving left over the grass" 3 4670b4cd82f9032e "$out/store-clips.db" "$out/clip2.mp4"
gen "a green triangle moving up over the sand" 5 0f7affbc4b2677d7 "$out/store-clips.db" "$out/clip3.mp4"
# Stripped: the same stream re-muxed (ffmpeg drops the C2PA box); re-encoded: H.264 CRF 28.
ffmpeg -v error -y -i "$out/clip.mp4" -c copy -map_metadata -1 "$out/stripped.mp4"
ffmpeg -v error -y -i "$out/clip.mp4" -c:v libx264 -crf 28 -pix_fmt yuv420p -map_metadata -1 "$out/reencoded.mp4"

residual() { # clip out: the clip minus a Gaussian blur of it, lossless
  ffmpeg -v error -y -i "$1" -filter_complex \
    "[0]format=yuv444p,split[a][b];[b]gblur=sigma=4[blur];[a][blur]blend=all_mode=grainextract" \
    -c:v libx264 -qp 0 -pix_fmt yuv444p "$2"
}
apply() { # host residual strength out: host + strength x residual, x264 CRF 18
  ffmpeg -v error -y -i "$1" -i "$2" -filter_complex \
    "[1]lutyuv=y=(val-128)*$3+128:u=(val-128)*$3+128:v=(val-128)*$3+128[r];[0]format=yuv444p[h];[r][h]scale2ref[r2][h2];[h2][r2]blend=all_mode=grainmerge:shortest=1,format=yuv420p" \
    -c:v libx264 -crf 18 "$4"
}
# Copied: clip.mp4's residual on footage Candor did not make.
ffmpeg -v error -y -f lavfi -i mandelbrot=size=128x128:rate=8 -t 2 -pix_fmt yuv420p "$tmp/host-a.mp4"
residual "$out/clip.mp4" "$tmp/r-clip.mkv"
apply "$tmp/host-a.mp4" "$tmp/r-clip.mkv" 1 "$out/copied.mp4"
# Forged: the mean residual of 14 clips that share one template variant (an attacker who sorted
# public clips by variant), strengthened, on a pan over a still.
inputs=()
i=0
for id in $(cargo run -q --release -p candor-eval --example variant_ids -- keys/dev 0 14); do
  gen "a yellow star moving down over the night" $((100 + i)) "$id" "$tmp/attacker.db" "$tmp/a-$i.mp4"
  residual "$tmp/a-$i.mp4" "$tmp/r-$i.mkv"
  inputs+=(-i "$tmp/r-$i.mkv")
  i=$((i + 1))
done
ffmpeg -v error -y "${inputs[@]}" -filter_complex "mix=inputs=$i:duration=shortest" -c:v libx264 -qp 0 -pix_fmt yuv444p "$tmp/mean.mkv"
ffmpeg -v error -y -f lavfi -i testsrc2=size=512x512:rate=1 -frames:v 1 "$tmp/still.png"
ffmpeg -v error -y -loop 1 -i "$tmp/still.png" -vf "zoompan=z=1.4:x='iw/4+on*2':y='ih/4':d=16:s=128x128:fps=8" \
  -frames:v 16 -pix_fmt yuv420p "$tmp/host-b.mp4"
apply "$tmp/host-b.mp4" "$tmp/mean.mkv" "${FORGED_STRENGTH:-2}" "$out/forged.mp4"
ffmpeg -v error -i "$tmp/host-b.mp4" -i "$out/forged.mp4" -lavfi psnr -f null - 2>&1 | grep -o "average:[0-9.]*" || true
echo "remade $(ls "$out" | wc -l) files in $out"
