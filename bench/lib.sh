# Helpers shared by bench/state.sh and bench/things.sh. Source it from the project root.
# Needs: KIT (the shared load kit), PORT, TMP.
export BENCH_DIR="$KIT" WRANGLER="$PWD/node_modules/.bin/wrangler" WRANGLER_SEND_METRICS=false
OUT_DIR="${BENCH_OUT:-$PWD/bench-results}"; mkdir -p "$OUT_DIR"; export BENCH_OUT="$OUT_DIR"
now_ms() { date +%s%3N; }

# The kit's lib.sh runs each server in its own process group (start_system/stop_system).
source "$KIT/lib.sh"
# Load generators are one caller sending far past a caller's budget: measure the framework, not the limiter.
export BENCH_CMD="./scripts/dev --port \$PORT --persist-to \$STATE --no-watch --log-level warn --var RATE_LIMIT_REQUESTS=off --var RATE_LIMIT_MESSAGES=off" BENCH_CWD="$PWD"

bench_start() {  # $1 rawjs|python, $2 state dir
  if [ "$1" = python ]; then start_system custom "$PORT" "$2"; else start_system rawjs "$PORT" "$2"; fi
}

bench_stop() {  # $1 system, $2 its state dir: every process group serving that state dir
  if [ "$1" = python ]; then stop_system custom; else stop_system rawjs; fi
  for pgid in $(ps -eo pgid=,args= | grep -F -- "$2" | grep -v grep | awk '{print $1}' | sort -u); do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  sleep 1
}

bench_wait() {  # $1 tenant: until GET /state/probe reaches the object (its 404 counts)
  local deadline=$(( $(now_ms) + 120000 )) code
  while [ "$(now_ms)" -lt "$deadline" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Host: $1.bench.local" "http://127.0.0.1:$PORT/state/probe" || true)
    case "$code" in 200|404) return 0 ;; esac
    sleep 0.05
  done
  return 1
}
