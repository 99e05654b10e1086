"""Semantic search latency against the number of things: DOFull's exact cosine search over
float32 vectors kept in the object's SQLite.

    .venv/bin/python bench/embedding_search.py [--sizes 1000 10000] [--repeat 20]

Starts the local runtime on the test harness (tests/harness/wrangler.toml, whose HarnessAi
class opts `Customer` in to search on `name` and `notes`) with its offline AI binding
(WordLlama, 256 dimensions, served from the host side). For each size, a fresh object gets
that many customers (500 a request; each write embeds its thing, one binding call per
thing), then `GET /search/Customer?q=...&limit=10` is timed at the client --repeat times
with varied queries. The query's own embedding (one binding call) is inside each search.
Writes bench-results/<stamp>-embedding_search.md.
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
from tests.runtime import harness_runtime, new_tenant  # noqa: E402 - the project root goes on the path first

WORDS = [
    "bread",
    "bakery",
    "pastry",
    "engine",
    "garage",
    "brakes",
    "software",
    "python",
    "invoice",
    "shipping",
    "garden",
    "roses",
    "violin",
    "concert",
    "football",
    "stadium",
    "coffee",
    "roaster",
    "wine",
    "cellar",
    "bicycle",
    "repair",
    "dentist",
    "clinic",
    "lawyer",
    "contract",
    "plumber",
    "pipes",
    "painter",
    "canvas",
    "tailor",
    "suits",
    "florist",
    "tulips",
    "chess",
    "club",
]
QUERIES = ("fresh croissants", "car repair", "legal advice", "music lessons", "coffee beans")


def notes(index: int) -> str:
    # Deterministic, varied texts: three words picked by the index (no randomness).
    return " ".join(WORDS[(index * step) % len(WORDS)] for step in (1, 7, 13))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-search-"))
    runtime = harness_runtime(base / "state", base / "server.log")
    runtime.start()
    lines = [
        "| things | load + embed, things/s | search p50 ms | search p90 ms | top score (median) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    try:
        for size in args.sizes:
            with runtime.client(new_tenant(), prefix="/_ai") as c:
                c.timeout = 600
                started = time.perf_counter()
                for first in range(0, size, 500):
                    batch = [
                        {"$id": f"c{i}", "name": f"Customer {i}", "notes": notes(i)}
                        for i in range(first, min(size, first + 500))
                    ]
                    response = c.post("/Customer", json=batch)
                    response.raise_for_status()
                load_rate = size / (time.perf_counter() - started)
                timings, scores = [], []
                for n in range(args.repeat):
                    query = QUERIES[n % len(QUERIES)]
                    started = time.perf_counter()
                    response = c.get("/search/Customer", params={"q": query, "limit": 10})
                    timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    items = response.json()["items"]
                    assert len(items) == 10, items
                    scores.append(items[0]["score"])
            row = (
                f"| {size} | {load_rate:.0f} | {statistics.median(timings):.0f} | "
                f"{percentile(timings, 0.9):.0f} | {statistics.median(scores):.2f} |"
            )
            print(row, flush=True)
            lines.append(row)
    finally:
        runtime.stop()
    write_result("embedding_search", lines)


if __name__ == "__main__":
    main()
