#!/usr/bin/env bash
# Runs Schemathesis (from PyPI, in .venv-tools/) against a `candor serve` started here on the built
# binary (target/debug/candor), with an admin token: every documented operation, every check.
# Fails on any 5xx, schema violation or undocumented answer.
#   scripts/schemathesis.sh [max examples per operation, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-30}"
venv=.venv-tools
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
bin="${CARGO_TARGET_DIR:-target}/debug/candor"
[ -x "$bin" ] || cargo build -q
work=$(mktemp -d)
cp tests/data/verify/store-clips.db "$work/store.db"
token=$($bin serve token create --store "$work/store.db" --scope admin --rate 100000000 --name schemathesis 2>/dev/null | tail -1)
CANDOR_LOG=warn $bin serve --listen 127.0.0.1:0 --jobs 2 --store "$work/store.db" --max-upload-mib 8 > "$work/out" 2> "$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q listening "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(grep -o 'http://[0-9.:]*' "$work/out")
"$venv/bin/schemathesis" --config-file tests/schemathesis.toml run "$base/openapi.json" \
  -H "Authorization: Bearer $token" --checks all -n "$examples" --seed 2026 --no-color
curl -fsS "$base/healthz" > /dev/null && echo "schemathesis: the service is still up"
