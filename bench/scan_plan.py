"""What the full-scan list costs in SQLite itself, by plan (issue 14 item 1, the 10,000-thing
full scan).

The shared kit's `list_scan` asks for `{"tier": "platinum"}` (10 matches in 10,000, so every
row is examined). dotdo answers in creation order and SQLite serves that by walking the type
index `things_by_type (type, created_at, id)`, looking each row up in `things` by id; the
bare-Python floor's table has no index and answers in table order, a sequential scan. This
seeds dotdo's own schema (its migrations, on CPython's `sqlite3` behind the runtime's
stand-in), takes the statement dotdo's list runs, and times it beside the same statement with
the type index unusable (`+type`: a table scan, then a sort of the matches), the floor's plan.

    .venv/bin/python bench/scan_plan.py [--things 2000 10000] [--runs 50]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.inprocess import T0  # noqa: E402
from tests.storage import Clock, Storage  # noqa: E402
from tests.unit.storage.test_tiers import Node  # noqa: E402

from dotdo.semantic.query import ThingQuery  # noqa: E402

TIERS = ("bronze", "silver", "gold")


def seeded(count: int) -> Node:
    node = Node(Storage(), Clock(T0), tiered=False)
    rng = random.Random(count)
    for start in range(0, count, 500):
        node.things.create_many(
            "Customer",
            [
                {
                    "name": f"Customer {i}",
                    "email": f"c{i}@example.com",
                    "age": rng.randint(18, 80),
                    "tier": "platinum" if i % 1000 == 0 else rng.choice(TIERS),
                    "city": "Springfield",
                }
                for i in range(start, min(count, start + 500))
            ],
        )
    return node


def list_statement(node: Node) -> tuple[str, tuple[object, ...]]:
    """The SELECT (and its parameters) dotdo's list of `{"tier": "platinum"}`, limit 20, runs."""
    runtime_sql = node.storage.sql
    seen: list[tuple[str, tuple[object, ...]]] = []
    run = runtime_sql.exec

    def recording(query: str, *bindings: object) -> object:
        seen.append((query, bindings))
        return run(query, *bindings)

    runtime_sql.exec = recording  # type: ignore[assignment]
    try:
        node.things.list("Customer", ThingQuery.from_params({"where": '{"tier":"platinum"}', "limit": "20"}))
    finally:
        runtime_sql.exec = run  # type: ignore[method-assign]
    ((statement, params),) = [(query, bindings) for query, bindings in seen if query.startswith("SELECT")]
    return statement, params


def timed(node: Node, statement: str, params: tuple[object, ...], runs: int) -> tuple[float, int]:
    db = node.storage.sql.db
    started = time.perf_counter()
    for _ in range(runs):
        rows = db.execute(statement, params).fetchall()
    return (time.perf_counter() - started) / runs * 1000, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--things", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print("| things | plan | SQLite's plan | matches | ms a query |")
    print("| ---: | --- | --- | ---: | ---: |")
    for count in args.things:
        node = seeded(count)
        statement, params = list_statement(node)
        plans = {
            "dotdo's (type index walk)": statement,
            "table scan (+type)": statement.replace("type = ?", "+type = ?", 1),
        }
        for name, text in plans.items():
            plan = "; ".join(
                row[3] for row in node.storage.sql.db.execute(f"EXPLAIN QUERY PLAN {text}", params)
            )
            ms, matches = timed(node, text, params, args.runs)
            print(f"| {count} | {name} | {plan} | {matches} | {ms:.2f} |")


if __name__ == "__main__":
    main()
