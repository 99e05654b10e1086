"""The cost of DOWorkflow's durable pieces: one send with N durable handlers, and one
workflow run of N durable steps.

    .venv/bin/python bench/workflow.py [--repeat 30]

Starts the local runtime on the test harness (tests/harness/wrangler.toml, whose
HarnessWorkflow class has ten no-op durable handlers and a workflow of no-op steps),
and for each N asks the object, over Workers RPC, to measure one operation: rows
written (SQLite's own count, which includes index entries) and time inside the object.
Medians of --repeat runs, each in a fresh (already awake) object. The time inside
the object is coarse: workerd advances its clocks only at I/O, so it moves in whole
milliseconds; the time at the client includes a new HTTP connection, the harness
worker and one Workers RPC hop. Writes bench-results/<stamp>-workflow.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.runtime import (  # noqa: E402 - the project root goes on the path first
    LocalRuntime,
    harness_runtime,
    new_tenant,
)


def measure(runtime: LocalRuntime, what: str, count: int, repeat: int) -> tuple[int, float, float]:
    rows, inside, outside = [], [], []
    for _ in range(repeat):
        tenant = new_tenant()
        runtime.rpc(tenant, "counters", binding="WORKFLOW")  # wake the object first: no cold start
        started = time.perf_counter()
        result = runtime.rpc(tenant, "measure", what, count, binding="WORKFLOW").json()["result"]
        outside.append((time.perf_counter() - started) * 1000)
        rows.append(result["rows_written"])
        inside.append(result["ms"])
    return int(statistics.median(rows)), statistics.median(inside), statistics.median(outside)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-workflow-"))
    runtime = harness_runtime(base / "state", base / "server.log")
    runtime.start()
    lines = [
        "| operation | N | rows written | ms in the object | ms at the client |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    try:
        for what, counts in (("send", (0, 1, 5, 10)), ("steps", (1, 5, 10))):
            for count in counts:
                rows, inside, outside = measure(runtime, what, count, args.repeat)
                label = "send to N durable handlers" if what == "send" else "workflow run of N steps"
                lines.append(f"| {label} | {count} | {rows} | {inside:.0f} | {outside:.2f} |")
                print(lines[-1], flush=True)
    finally:
        runtime.stop()
    write_result("workflow", lines)


if __name__ == "__main__":
    main()
