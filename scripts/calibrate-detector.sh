#!/usr/bin/env bash
# Calibrates the detector's channel weights for a model and writes them into its config.json:
# generates clips (seeds no benchmark uses), re-encodes each the two hardest ways the robustness
# benchmark tries (its attacks h264-crf40 and half-size-crf30, read from the one attack catalogue
# through `candor bench robustness --list`), and measures per latent channel how well the
# watermark's signs survive. Usage: scripts/calibrate-detector.sh [MODEL_DIR] [CLIPS]
set -euo pipefail
model=${1:-models/candor-shapes-v3}
clips=${2:-12}
candor=${CANDOR:-target/debug/candor}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
colours=(red green blue yellow purple orange cyan white)
shapes=(circle square triangle star)
motions=("moving left" "moving right" "moving up" "moving down" "bouncing" "growing")
backgrounds=("over the sky" "over the grass" "over the night" "over the sunset")
# ffmpeg arguments of a catalogue attack: the words between "-i IN" and "OUT.ext".
attack_args() {
  "$candor" bench robustness --list | awk -v name="$1" '$1 == name { for (i = 5; i < NF; i++) printf "%s\n", $i }'
}
mapfile -t crf40 < <(attack_args h264-crf40)
mapfile -t half30 < <(attack_args half-size-crf30)
if [ "${#crf40[@]}" -eq 0 ] || [ "${#half30[@]}" -eq 0 ]; then
  echo "attacks h264-crf40 / half-size-crf30 not in the catalogue" >&2
  exit 2
fi
pairs=()
for ((i = 0; i < clips; i++)); do
  prompt="a ${colours[i % 8]} ${shapes[(i / 2) % 4]} ${motions[i % 6]} ${backgrounds[(i / 3) % 4]}"
  CANDOR_STORE="$tmp/store.db" "$candor" generate "$prompt" -o "$tmp/$i.mp4" --model "$model" \
    --identity keys/dev --seed $((90000 + i)) >/dev/null 2>&1
  ffmpeg -hide_banner -loglevel error -y -i "$tmp/$i.mp4" "${crf40[@]}" "$tmp/$i.crf40.mp4"
  ffmpeg -hide_banner -loglevel error -y -i "$tmp/$i.mp4" "${half30[@]}" "$tmp/$i.half30.mp4"
  pairs+=("$tmp/$i.mp4" "$tmp/$i.crf40.mp4" "$tmp/$i.mp4" "$tmp/$i.half30.mp4")
done
cargo run --quiet -p candor-verify --example calibrate_detector -- "$model" keys/dev --write "${pairs[@]}"
