-- One of the kit's wrk scenarios (BENCH_SCRIPT: create, state_put, ...) with every request's
-- path under BENCH_PREFIX (e.g. "/_direct", the test harness's route to HarnessDirect), so the
-- same requests reach the classes of one runtime in turn (bench/create_path.py).
local prefix = os.getenv("BENCH_PREFIX") or ""
dofile((os.getenv("BENCH_DIR") or ".") .. "/lua/" .. os.getenv("BENCH_SCRIPT") .. ".lua")
if prefix ~= "" then
  local inner = request
  request = function()
    local raw = inner()
    -- wrk.format gives "METHOD /path HTTP/1.1\r\n...": the path's first slash gets the prefix
    return (string.gsub(raw, "^(%u+) /", "%1 " .. prefix .. "/", 1))
  end
end
