#!/usr/bin/env bash
# DOCore state get/put throughput and latency against the plain-JavaScript floor,
# in one run, with the shared load kit (../shared/bench) on the same dev stack.
#
#   bench/state.sh [KIT_DIR]        KIT_DIR defaults to ../shared/bench
#   DURATION=10s CONNS="1 8 32" COLD_RUNS=3 bench/state.sh
#
# For each system: start it on an empty state dir, time process start -> first
# answer from the object, seed 1,000 keys through PUT /state/:key, then drive
# state_put and state_get with wrk at each connection count. The kit's own
# run.sh probes and seeds /things routes, which DOCore does not serve, so this
# script does those two steps itself. Results: bench-results/<stamp>-state.{jsonl,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
kit="$(cd "${1:-../shared/bench}" && pwd)"
export BENCH_DIR="$kit" WRANGLER="$PWD/node_modules/.bin/wrangler" WRANGLER_SEND_METRICS=false
out_dir="${BENCH_OUT:-$PWD/bench-results}"; mkdir -p "$out_dir"; export BENCH_OUT="$out_dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"; out="$out_dir/$stamp-state.jsonl"
port="${BENCH_PORT:-8787}"; tmp="$(mktemp -d)"
now_ms() { date +%s%3N; }

# lib.sh's start_system/stop_system run each server in its own process group.
source "$kit/lib.sh"
export BENCH_CMD="./scripts/dev --port \$PORT --persist-to \$STATE --no-watch --log-level warn" BENCH_CWD="$PWD"
start() { if [ "$1" = python ]; then start_system custom "$port" "$2"; else start_system rawjs "$port" "$2"; fi; }
stop() {  # $1 system, $2 its state dir: every process group serving that state dir
  if [ "$1" = python ]; then stop_system custom; else stop_system rawjs; fi
  for pgid in $(ps -eo pgid=,args= | grep -F -- "$2" | grep -v grep | awk '{print $1}' | sort -u); do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  sleep 1
}
wait_state() {  # until GET /state/probe reaches the object (404 from the object counts)
  local deadline=$(( $(now_ms) + 120000 )) code
  while [ "$(now_ms)" -lt "$deadline" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Host: $1.bench.local" "http://127.0.0.1:$port/state/probe" || true)
    case "$code" in 200|404) return 0 ;; esac
    sleep 0.05
  done
  return 1
}

for system in rawjs python; do
  for i in $(seq 1 "${COLD_RUNS:-3}"); do
    t0=$(now_ms); start "$system" "$tmp/cold-$system-$i"
    wait_state "cold$i" || { echo "$system did not start; log: $BENCH_TMP" >&2; exit 1; }
    echo "{\"system\":\"$system\",\"scenario\":\"cold_start\",\"run\":$i,\"ms\":$(( $(now_ms) - t0 ))}" | tee -a "$out"
    stop "$system" "$tmp/cold-$system-$i"
  done
  start "$system" "$tmp/load-$system"; wait_state probe
  read_host="r$stamp.bench.local"
  python3 - "$port" "$read_host" <<'PY'
import http.client, json, sys
port, host = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(1000):
    conn.request("PUT", f"/state/k-{i:04d}", json.dumps({"n": i, "payload": "x" * 64}), {"Host": host})
    assert conn.getresponse().read() and True
PY
  BENCH_LAUNCHER=devserver "$kit/load.sh" --system "$system" --api rest --url "http://127.0.0.1:$port" \
    --no-seed --read-host "$read_host" --scenarios "state_put state_get" \
    --duration "${DURATION:-10s}" --conns "${CONNS:-1 8 32}" --out "$out"
  stop "$system" "$tmp/load-$system"
done
python3 "$kit/report.py" "$out" | tee "$out_dir/$stamp-state.md"
