#!/usr/bin/env bash
# Contact sheet for the model card: one row of 16 frames per prompt (held-out colour-shape pairs
# first), written as a PNG. Usage: scripts/contact-sheet.sh OUT.png [MODEL_DIR]
set -euo pipefail
out=${1:?usage: contact-sheet.sh OUT.png [MODEL_DIR]}
model=${2:-models/candor-shapes-v3}
candor=${CANDOR:-target/debug/candor}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompts=(
  "a purple star moving right over the sky"
  "a green triangle moving left over the sunset"
  "an orange circle moving up on a gray background"
  "a cyan square moving down over the grass"
  "a red circle moving right over the night"
  "a yellow square bouncing on a sand background"
  "a blue diamond growing over the sky"
  "a white star moving left over the night"
)
rows=()
for i in "${!prompts[@]}"; do
  CANDOR_STORE="$tmp/store.db" "$candor" generate "${prompts[$i]}" -o "$tmp/$i.mp4" --model "$model" --seed "$i" >/dev/null 2>&1
  ffmpeg -hide_banner -loglevel error -y -i "$tmp/$i.mp4" -vf "scale=64:64:flags=area,tile=16x1" -frames:v 1 "$tmp/row$i.png"
  rows+=(-i "$tmp/row$i.png")
done
ffmpeg -hide_banner -loglevel error -y "${rows[@]}" -filter_complex "vstack=inputs=${#prompts[@]}" "$out"
printf '%s\n' "${prompts[@]}"
