"""Rows written per logical operation on the direct path, against the rows before this
release's cuts and the minimum one row per fact would cost.

    .venv/bin/python bench/rows_written.py

Starts the local runtime on the test harness (tests/harness/wrangler.toml) and runs each
operation of `tests/rows.py` once, as one HTTP request to a fresh `HarnessRows` object
(a DOWorkflow whose handlers, workflow and schedule write nothing themselves), reading
SQLite's own count (`rowsWritten` of every statement the request ran, index entries
included, as Cloudflare bills them) and how often the runtime's alarm was set or deleted.
These are counts, not timings: valid on a busy machine. "before" is the same measurement
at commit b646820 (the tables as they were before ADR 0020). Writes
bench-results/<stamp>-rows-written.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.rows import OPERATIONS, count_operations  # noqa: E402 - the project root goes on the path first
from tests.runtime import harness_runtime  # noqa: E402

BEFORE = {
    "state set, new key": 2,
    "state set, overwrite": 1,
    "state set, same value": 1,
    "state delete": 1,
    "thing create": 7,
    "thing update": 6,
    "thing soft delete": 6,
    "thing hard delete": 5,
    "action with an object": 10,
    "action without an object": 8,
    "send, 0 durable handlers": 4,
    "send, 1 durable handler": 8,
    "send, 3 durable handlers": 16,
    "workflow run, 1 step": 9,
    "workflow run, 3 steps": 13,
    "workflow run, 10 steps": 27,
    "schedule firing": 2,
}

# One row per fact, no index entries: what no layout can write less than.
MINIMUM = {
    "state set, new key": (1, "the value"),
    "state set, overwrite": (1, "the new value"),
    "state set, same value": (0, "nothing changed"),
    "state delete": (1, "the key's removal"),
    "thing create": (2, "the thing, its event"),
    "thing update": (2, "the new version, its event"),
    "thing soft delete": (2, "the deleted mark, its event"),
    "thing hard delete": (2, "the removal, its event"),
    "action with an object": (3, "the event, the edge, the audit entry"),
    "action without an object": (2, "the event, the audit entry"),
    "send, 0 durable handlers": (1, "the event"),
    "send, 1 durable handler": (3, "the event; the pending delivery written with it and removed"),
    "send, 3 durable handlers": (5, "the same, plus each handler but the last recorded as done"),
    "workflow run, 1 step": (3, "the run (its input), each step's result, the run's end"),
    "workflow run, 3 steps": (5, "the same"),
    "workflow run, 10 steps": (12, "the same"),
    "schedule firing": (1, "its next time"),
}


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-rows-"))
    runtime = harness_runtime(base / "state", base / "server.log")
    runtime.start()
    try:
        counts = count_operations(runtime)
    finally:
        runtime.stop()
    lines = [
        "| operation | rows before | rows now | minimum | the minimum is | alarm writes now |",
        "| --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for name in OPERATIONS:
        minimum, why = MINIMUM[name]
        count = counts[name]
        lines.append(f"| {name} | {BEFORE[name]} | {count.rows} | {minimum} | {why} | {count.alarm_writes} |")
        print(lines[-1], flush=True)
    write_result("rows-written", lines)


if __name__ == "__main__":
    main()
