#!/usr/bin/env bash
# Load benchmark of `candor serve` with wrk (a real load generator over real loopback HTTP).
# Baselines measured in the same run: GET /healthz (the HTTP stack's floor, with one store
# round trip) for the resolution endpoints, and `candor verify` on the command line for
# POST /v1/verify. Prints requests/s, latency and the ratios; docs/BENCHMARKS.md records them.
#   scripts/bench-service.sh [--postgres URL] [--seconds N] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10; connections=16; pg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) pg="$2"; shift 2;;
    --seconds) seconds="$2"; shift 2;;
    --connections) connections="$2"; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 2; }
cargo build -q   # the dev profile (deps at opt-level 2), as the tests run it
bin="${CARGO_TARGET_DIR:-target}/debug/candor"
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
clip=tests/data/verify/stripped.mp4

run_store() { # $1 = store location, $2 = label
  local store="$1" label="$2"
  if [ "${store#postgres}" = "$store" ]; then cp tests/data/verify/store-clips.db "$store"; fi
  local token; token=$($bin serve token create --store "$store" --scope fetch:manifests,verify --rate 100000000 2>/dev/null | tail -1)
  $bin store list --store "$store" --json > "$work/records.json"
  local hexv label_urn value
  hexv=$(python3 -c "import json;print(json.load(open('$work/records.json'))[0]['binding_hex'])")
  label_urn=$(python3 -c "import json,urllib.parse;print(urllib.parse.quote(json.load(open('$work/records.json'))[0]['manifest_label'],safe=''))")
  value=$(python3 -c "import base64;print(base64.b64encode(bytes.fromhex('$hexv')).decode())")
  CANDOR_LOG=warn $bin serve --listen 127.0.0.1:0 --jobs 2 --store "$store" > "$work/serve.out" 2>"$work/serve.log" &
  local spid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  local base; base=$(grep -o 'http://[0-9.:]*' "$work/serve.out")
  cat > "$work/binding.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"alg":"org.candor.latent-watermark.v1","value":"$value"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  cat > "$work/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
  rps() { awk '/Requests\/sec/ {print $2}'; }
  errs() { awk '/Non-2xx|Socket errors/ {printf "%s ", $0} END {print ""}'; }
  p99() { awk '/ 99%/ {print $2}'; }
  local out
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$base/healthz"); h_rps=$(echo "$out" | rps); h_p99=$(echo "$out" | p99)
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/binding.lua" "$base/v1/matches/byBinding"); b_rps=$(echo "$out" | rps); b_p99=$(echo "$out" | p99); b_err=$(echo "$out" | errs)
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/auth.lua" "$base/v1/manifests/$label_urn"); m_rps=$(echo "$out" | rps); m_p99=$(echo "$out" | p99)
  printf '%-10s healthz %8s req/s (p99 %s) | byBinding %8s req/s (p99 %s, %.2fx healthz) | manifests %8s req/s (p99 %s, %.2fx healthz)\n' \
    "$label" "$h_rps" "$h_p99" "$b_rps" "$b_p99" "$(python3 -c "print($b_rps/$h_rps)")" "$m_rps" "$m_p99" "$(python3 -c "print($m_rps/$h_rps)")"
  echo "${label}: errors under load (byBinding): ${b_err:-none}"
  # /v1/verify against the CLI on the same clip (three each, medians).
  local cli=() http=()
  for _ in 1 2 3; do
    s=$(date +%s.%N); $bin verify "$clip" --json --store "$store" >/dev/null || true; e=$(date +%s.%N); cli+=("$(python3 -c "print($e-$s)")")
    s=$(date +%s.%N); curl -sS -o /dev/null -H "Authorization: Bearer $token" --data-binary @"$clip" "$base/v1/verify?filename=clip.mp4"; e=$(date +%s.%N); http+=("$(python3 -c "print($e-$s)")")
  done
  python3 - "$label" "${cli[@]}" "${http[@]}" <<'PY'
import statistics, sys
label, vals = sys.argv[1], [float(v) for v in sys.argv[2:]]
cli, http = statistics.median(vals[:3]), statistics.median(vals[3:])
print(f"{label:<10} POST /v1/verify {http:.2f} s vs candor verify CLI {cli:.2f} s (model load included) = {http/cli:.2f}x")
PY
  # Throughput: the same files through `candor verify --jobs 2` and through the service
  # (--jobs 2; four uploads in flight, as a platform has many), end to end.
  local files=(tests/data/verify/clip.mp4 tests/data/verify/clip2.mp4 tests/data/verify/clip3.mp4 \
    tests/data/verify/stripped.mp4 tests/data/verify/reencoded.mp4 tests/data/verify/copied.mp4 \
    tests/data/verify/forged.mp4 "$work/real.mp4")
  [ -f "$work/real.mp4" ] || ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=256x256:rate=8:duration=2 -c:v libx264 -pix_fmt yuv420p "$work/real.mp4"
  local rounds=6 list=()
  for _ in $(seq 1 $rounds); do list+=("${files[@]}"); done
  s=$(date +%s.%N); $bin verify "${list[@]}" --json --jobs 2 --store "$store" > "$work/cli.jsonl" || true; e=$(date +%s.%N)
  cli_s=$(python3 -c "print($e-$s)")
  s=$(date +%s.%N)
  printf '%s\n' "${list[@]}" | xargs -P 4 -I{} curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $token" --data-binary @{} "$base/v1/verify?filename=f.mp4" > "$work/codes.txt"
  e=$(date +%s.%N); svc_s=$(python3 -c "print($e-$s)")
  local bad; bad=$(grep -vc '^200$' "$work/codes.txt" || true)
  local hwm; hwm=$(awk '/VmHWM/ {print $2/1024 " MiB"}' "/proc/$spid/status" 2>/dev/null || echo "?")
  python3 - "$label" "${#list[@]}" "$cli_s" "$svc_s" "$bad" "$hwm" <<'PY'
import sys
label, n, cli, svc, bad, hwm = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
print(f"{label:<10} throughput, {n} files: candor verify --jobs 2 {cli:.1f} s ({n/cli:.2f} files/s); service --jobs 2 {svc:.1f} s ({n/svc:.2f} files/s) = {cli/svc:.2f}x of the CLI; non-200 answers: {bad}; service peak RSS {hwm}")
PY
  kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true
}

echo "wrk: 2 threads, $connections connections, ${seconds} s per endpoint; $(nproc) cores"
run_store "$work/store.db" sqlite
if [ -n "$pg" ]; then
  psql "$pg" -qc "DROP SCHEMA IF EXISTS bench_service CASCADE; CREATE SCHEMA bench_service" >/dev/null
  sep='?'; case "$pg" in *\?*) sep='&';; esac
  pgstore="${pg}${sep}options=-csearch_path%3Dbench_service"
  # The same records as the SQLite store, copied through the CLI-free path: generate one clip.
  $bin generate "a red circle moving left over the sky" -o "$work/pg-clip.mp4" --seed 3 --store "$pgstore" >/dev/null
  clip="$work/pg-clip.mp4"
  run_store "$pgstore" postgres
fi
