"""What declared indexes cost one object (issue of the index bound): for a number of
indexes on `things` (nouns of 16 each, short paths), the rows a create of a noun with no
index of its own writes once checkpointed, and whether the checkpoint's upsert still runs.

    .venv/bin/python bench/index_cost.py [--counts 0,16,64,128,256,512,1024]

Starts the local runtime on the test harness (tests/harness/wrangler.toml) and, for each
count, a fresh object of the default class (DOFull): registers the nouns (`POST /nouns`),
creates one thing of an unregistered noun, checkpoints it (`POST /storage/flush`) and reads
SQLite's own count of rows written by the flush (`GET /stats`, index entries included, as
Cloudflare bills them). Counts, not timings: valid on a busy machine. Run it on a checkout
without the index bound (each object past it is refused otherwise).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from tests.runtime import harness_runtime  # noqa: E402 - the project root goes on the path first

PER_NOUN = 16


def measure(runtime: object, indexes: int) -> str:
    """One line of the table for `indexes` indexes on one fresh object."""
    with runtime.client() as c:  # type: ignore[attr-defined]
        for n in range(0, indexes, PER_NOUN):
            paths = [f"p{i}" for i in range(min(PER_NOUN, indexes - n))]
            answer = c.post("/nouns", json={"name": f"Noun{n // PER_NOUN}", "indexes": paths})
            if answer.status_code != 200 and answer.status_code != 201:
                return f"| {indexes} | register: {answer.status_code} {answer.text[:80]} | | |"
        before = c.get("/stats").json()["rows_written"]
        created = c.post("/Plain", json={"$id": "t1", "p0": 1})
        flushed = c.post("/storage/flush")
        after = c.get("/stats").json()["rows_written"] if flushed.status_code < 500 else None
        query = c.post("/query", json={"sql": "SELECT count(*) AS n FROM things"})
        written = "" if after is None else str(after - before)
        return (
            f"| {indexes} | {created.status_code} | {flushed.status_code} {flushed.text[:60]} "
            f"| {written} | {query.status_code} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="0,16,64,128,256,512,1024")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = harness_runtime(Path(tmp) / "state", Path(tmp) / "server.log", out=Path(tmp) / "host")
        runtime.start()
        try:
            print("| indexes | create | flush | rows written (create + flush) | /query |")
            print("|---|---|---|---|---|")
            for count in (int(c) for c in args.counts.split(",")):
                print(measure(runtime, count), flush=True)
        finally:
            runtime.stop()


if __name__ == "__main__":
    main()
