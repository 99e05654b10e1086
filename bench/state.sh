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
KIT="$(cd "${1:-../shared/bench}" && pwd)"; PORT="${BENCH_PORT:-8787}"; TMP="$(mktemp -d)"
source bench/lib.sh
stamp="$(date -u +%Y%m%dT%H%M%SZ)"; out="$OUT_DIR/$stamp-state.jsonl"

for system in rawjs python; do
  for i in $(seq 1 "${COLD_RUNS:-3}"); do
    t0=$(now_ms); bench_start "$system" "$TMP/cold-$system-$i"
    bench_wait "cold$i" || { echo "$system did not start; log: $BENCH_TMP" >&2; exit 1; }
    echo "{\"system\":\"$system\",\"scenario\":\"cold_start\",\"run\":$i,\"ms\":$(( $(now_ms) - t0 ))}" | tee -a "$out"
    bench_stop "$system" "$TMP/cold-$system-$i"
  done
  bench_start "$system" "$TMP/load-$system"; bench_wait probe
  read_host="r$stamp.bench.local"
  python3 - "$PORT" "$read_host" <<'PY'
import http.client, json, sys
port, host = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(1000):
    conn.request("PUT", f"/state/k-{i:04d}", json.dumps({"n": i, "payload": "x" * 64}), {"Host": host})
    assert conn.getresponse().read() and True
PY
  BENCH_LAUNCHER=devserver "$KIT/load.sh" --system "$system" --api rest --url "http://127.0.0.1:$PORT" \
    --no-seed --read-host "$read_host" --scenarios "state_put state_get" \
    --duration "${DURATION:-10s}" --conns "${CONNS:-1 8 32}" --out "$out"
  bench_stop "$system" "$TMP/load-$system"
done
python3 "$KIT/report.py" "$out" | tee "$OUT_DIR/$stamp-state.md"
