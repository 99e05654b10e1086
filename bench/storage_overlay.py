"""What a query's overlay of dirty things costs in CPU (ADR 0030), in-process.

    .venv/bin/python bench/storage_overlay.py          # --things 1000 --repeat 200

DOStorage's tiers over CPython's `sqlite3` (`tests/storage.py`, the runtime's
conversions), `things` holding `--things` Items with a declared index on `g`. For each
number of dirty Items (updated after a checkpoint, not checkpointed), times a list page
(`where g`, limit 20, with its count) and a count of every Item, over the overlay, against
the same queries once those Items are checkpointed (what the direct path runs). CPU
time per query at the client, median of `--repeat`; compare within one run only (CPython
here, Pyodide in workerd is slower, both sides alike).

Writes bench-results/<stamp>-storage-overlay.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.inprocess import T0  # noqa: E402
from tests.storage import Clock, Storage  # noqa: E402

from dotdo.core.migrations import migrate  # noqa: E402
from dotdo.core.sql import Sql  # noqa: E402
from dotdo.semantic.graph import GRAPH_TABLES  # noqa: E402
from dotdo.semantic.query import ThingQuery  # noqa: E402
from dotdo.semantic.registry import index_statement  # noqa: E402
from dotdo.semantic.store import THING_TABLES  # noqa: E402
from dotdo.semantic.things import Things  # noqa: E402
from dotdo.storage.events import TieredEventLog  # noqa: E402
from dotdo.storage.log import STORAGE_TABLES  # noqa: E402
from dotdo.storage.tiers import TieredThingStore, TierOptions  # noqa: E402


class _Events:
    def __init__(self, log: TieredEventLog) -> None:
        self._log = log

    def emit(self, event_type: str, data: Any = None, subject: Any = None, object: Any = None) -> str:
        return self._log.record(event_type, subject, data, object)


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    """The median CPU time of `run`, in ms."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def measure(things: int, dirty: int, repeat: int) -> tuple[float, float, float, float, int]:
    """(page over the overlay, page direct, count over the overlay, count direct) in ms, and
    the overlay's bytes."""
    clock = Clock(T0)
    sql = Sql(Storage())
    migrate(sql, [THING_TABLES, GRAPH_TABLES, STORAGE_TABLES], clock())
    sql.run(index_statement("Item", "g"))
    tiers = TieredThingStore(sql, clock, TierOptions(max_dirty=10**6, cache_size=10**6, log_slots=4096))
    counter = iter(range(10**9))
    service = Things(tiers, _Events(TieredEventLog(tiers, clock, lambda: f"{next(counter):026d}")), clock)
    for start in range(0, things, 500):  # create_many's bound
        chunk = range(start, min(start + 500, things))
        service.create_many("Item", [{"$id": f"i{n:05d}", "g": n % 20, "n": n} for n in chunk])
    tiers.flush()
    for n in range(dirty):
        service.update("Item", f"i{n * (things // max(dirty, 1)):05d}", {"n": -n})
    page = ThingQuery.build(where={"g": 3}, limit=20, with_total=True)
    every = ThingQuery.build()
    overlay = tiers.queries("Item")
    size = overlay.size if overlay else 0
    timed = [
        median_ms(lambda: service.list("Item", page), repeat),
        median_ms(lambda: service.count("Item", every), repeat),
    ]
    tiers.flush()
    direct = [
        median_ms(lambda: service.list("Item", page), repeat),
        median_ms(lambda: service.count("Item", every), repeat),
    ]
    return timed[0], direct[0], timed[1], direct[1], size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--things", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    lines = [
        f"{args.things} Items in `things`; CPU ms per query (median of {args.repeat}), CPython sqlite3.",
        "",
        "| dirty Items | overlay bytes | list page, overlay | list page, checkpointed "
        "| count, overlay | count, checkpointed |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for dirty in (1, 50, 200, 1000):
        if dirty > args.things:
            continue
        page, page_direct, count, count_direct, size = measure(args.things, dirty, args.repeat)
        lines.append(
            f"| {dirty} | {size} | {page:.3f} | {page_direct:.3f} | {count:.3f} | {count_direct:.3f} |"
        )
        print(lines[-1], flush=True)
    print("\n".join(lines))
    write_result("storage-overlay", lines)


if __name__ == "__main__":
    main()
