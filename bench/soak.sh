#!/usr/bin/env bash
# Sustained load on the local runtime: GET /state/:key at 8 connections in
# SLICES back-to-back wrk runs of SLICE_SECONDS each, sampling open files and
# memory of the server's processes after each, to show that neither grows and
# throughput does not fall. The inspector leak of plain `wrangler dev` shows up
# here as a climbing open-file count and then a hang.
#
#   bench/soak.sh [SLICES=5] [SLICE_SECONDS=40]
set -euo pipefail
cd "$(dirname "$0")/.."
slices="${1:-5}"; seconds="${2:-40}"; port="${BENCH_PORT:-8797}"
state="$(mktemp -d)"; log="$state/server.log"
setsid ./scripts/dev --port "$port" --persist-to "$state/data" --no-watch --log-level warn \
  --var RATE_LIMIT_REQUESTS=off >"$log" 2>&1 &  # one load generator: past any caller's budget
pgid=$!
trap 'kill -KILL -- "-$pgid" 2>/dev/null || true' EXIT
host="soak.localhost"
until curl -s -o /dev/null -m 5 -H "Host: $host" "http://127.0.0.1:$port/health"; do sleep 0.2; done
python3 - "$port" "$host" <<'PY'
import http.client, json, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for i in range(1000):
    conn.request("PUT", f"/state/k-{i:04d}", json.dumps({"n": i}), {"Host": sys.argv[2]})
    conn.getresponse().read()
PY
sample() {  # open files and RSS (MB) summed over the server's process group
  local pids fds=0 rss=0
  pids="$(ps -eo pid=,pgid= | awk -v g="$pgid" '$2==g {print $1}')"
  for p in $pids; do
    fds=$(( fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l) ))
    rss=$(( rss + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) ))
  done
  echo "fds=$fds rss_mb=$(( rss / 1024 ))"
}
cat >"$state/get.lua" <<'LUA'
request = function()
  return wrk.format("GET", string.format("/state/k-%04d", math.random(0, 999)))
end
LUA
echo "before: $(sample)"
for s in $(seq 1 "$slices"); do
  result="$(wrk -t2 -c8 -d"${seconds}s" --timeout 10s -H "Host: $host" -s "$state/get.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|requests in|Latency|Non-2xx|Socket errors" | tr -s ' ' | tr '\n' ';')"
  echo "slice $s/$slices: $result $(sample)"
done
