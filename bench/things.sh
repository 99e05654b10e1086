#!/usr/bin/env bash
# DOSemantic things over HTTP (create / get / list-where) against the plain-JavaScript
# floor, in one run, with the shared load kit (../shared/bench) on the same dev stack.
#
#   bench/things.sh [KIT_DIR]       KIT_DIR defaults to ../shared/bench
#   DURATION=10s CONNS="1 8" SCENARIOS="create get list list_scan" bench/things.sh
#
# For each system: start it on an empty state dir, let the kit seed 10,000
# customers through the server's own API, then drive each scenario with wrk.
# The floor serves /things/Customer, dotdo serves /Customer (BENCH_THINGS). The
# kit's run.sh probes /things/Probe, which dotdo does not serve, so readiness is
# checked here. Results: bench-results/<stamp>-things.{jsonl,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT="$(cd "${1:-../shared/bench}" && pwd)"; PORT="${BENCH_PORT:-8787}"; TMP="$(mktemp -d)"
source bench/lib.sh
stamp="$(date -u +%Y%m%dT%H%M%SZ)"; out="$OUT_DIR/$stamp-things.jsonl"

for system in rawjs python; do
  things=/things/Customer; [ "$system" = python ] && things=/Customer
  bench_start "$system" "$TMP/load-$system"
  bench_wait probe || { echo "$system did not start; log: $BENCH_TMP" >&2; exit 1; }
  BENCH_THINGS="$things" BENCH_LAUNCHER=devserver "$KIT/load.sh" --system "$system" --api rest \
    --url "http://127.0.0.1:$PORT" --scenarios "${SCENARIOS:-create get list list_scan}" \
    --duration "${DURATION:-10s}" --conns "${CONNS:-1 8}" --out "$out"
  bench_stop "$system" "$TMP/load-$system"
done
python3 "$KIT/report.py" "$out" | tee "$OUT_DIR/$stamp-things.md"
