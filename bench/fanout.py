"""Fan-out of 100 targets at concurrency 1 to 6: wall time and the subrequests it uses.

    .venv/bin/python bench/fanout.py [--targets 100] [--repeat 3]

Starts the local runtime on the test harness (tests/harness/wrangler.toml); its
HarnessFanout object calls `tally` with `fan_out` (each call a Workers RPC call, so one
subrequest), timed inside the caller, in two setups:

- cold: `--targets` fresh objects, each woken by its call (plainly, and as a durable
  step that records each target as it finishes);
- warm: `--targets` calls spread over 10 objects woken beforehand, each call waiting
  50 ms in the target (standing in for the target's own I/O), which is where the bound
  on calls in flight shows.

Medians of --repeat runs, each from a fresh caller. workerd's clock moves at I/O, so the
time inside is coarse. The local runtime does not enforce Cloudflare's 6 simultaneous
connections: the bound here is fan_out's own. Writes bench-results/<stamp>-fanout.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.runtime import (  # noqa: E402 - the project root goes on the path first
    LocalRuntime,
    harness_runtime,
    new_tenant,
)


def rpc(runtime: LocalRuntime, name: str, method: str, *params: object) -> httpx.Response:
    body = {"binding": "FANOUT", "name": name, "method": method, "params": list(params)}
    with httpx.Client(base_url=runtime.base_url, timeout=600) as client:  # a cold fan-out takes a while
        return client.post("/_harness/rpc", json=body)


def measure(
    runtime: LocalRuntime, targets: int, concurrency: int, durable: bool, warm: bool, repeat: int
) -> tuple[int, float, int]:
    calls, inside, restarts = [], [], 0
    for _ in range(repeat):
        tenant = new_tenant()
        for _ in range(5):  # wake the caller first. After a fan-out to many fresh objects the
            # local runtime restarts its worker now and then (503 "worker restarted mid-request")
            if rpc(runtime, tenant, "calls").status_code == 200:
                break
            restarts += 1
        params = (targets, concurrency, durable, 10 if warm else 0, 0.05 if warm else 0)
        answer = rpc(runtime, tenant, "measure_fan_out", *params).json()
        result = answer["result"]
        assert result["succeeded"] == targets, answer
        calls.append(result["calls"])
        inside.append(result["ms"])
    return int(statistics.median(calls)), statistics.median(inside), restarts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-fanout-"))
    runtime = harness_runtime(base / "state", base / "server.log", out=ROOT / ".dotdo" / "bench-fanout")
    runtime.start()
    lines = [
        "| targets | setup | concurrency | subrequests | ms in the caller | worker restarts seen |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    runs = [
        ("warm, 50 ms each", False, True, 1),
        ("warm, 50 ms each", False, True, 3),
        ("warm, 50 ms each", False, True, 6),
        ("warm, 50 ms each, durable", True, True, 6),
        ("cold", False, False, 1),
        ("cold", False, False, 6),
        ("cold, durable", True, False, 6),
    ]
    try:
        for label, durable, warm, concurrency in runs:
            calls, inside, restarts = measure(runtime, args.targets, concurrency, durable, warm, args.repeat)
            lines.append(
                f"| {args.targets} | {label} | {concurrency} | {calls} | {inside:.0f} | {restarts} |"
            )
            print(lines[-1], flush=True)
    finally:
        runtime.stop()
    write_result("fanout", lines)


if __name__ == "__main__":
    main()
