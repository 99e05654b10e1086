"""What a list, the full scan and a read by id cost in SQLite itself, by `things` layout and
plan (issue 14 item 1, the 10,000-thing full scan; ADR 0039).

The shared kit's `list_scan` asks for `{"tier": "platinum"}` (10 matches in 10,000, so every
row is examined). dotdo answers in creation order. Until ADR 0039 `things` was keyed by id
with a type index `things_by_type (type, created_at, id)`: SQLite walked that index and
looked each row up in `things` by id. It is now keyed by `(type, created_at, id)`, with a
unique index of ids: the list reads its type's rows in order from one range of the table.
The bare-Python floor's table has no index and answers in table order, a sequential scan.
This seeds dotdo's own schema (its migrations, on CPython's `sqlite3` behind the runtime's
stand-in), copies it into the layout before (`things` rebuilt keyed by id, the type index),
takes the statements dotdo runs (the full scan's list, the default list, a read by id) and
times each on both, and the full scan with the type index unusable (`+type`: a table scan,
then a sort of the matches) on the layout before, the floor's plan.

    .venv/bin/python bench/scan_plan.py [--things 2000 10000] [--runs 50]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.inprocess import T0  # noqa: E402
from tests.storage import Clock, Storage  # noqa: E402
from tests.unit.storage.test_tiers import Node  # noqa: E402

from dotdo.semantic.query import ThingQuery  # noqa: E402
from dotdo.semantic.store import THING_COLUMNS  # noqa: E402

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


def list_statement(node: Node, params: dict[str, str]) -> tuple[str, tuple[object, ...]]:
    """The SELECT (and its parameters) dotdo's list of `Customer` with these URL parameters runs."""
    runtime_sql = node.storage.sql
    seen: list[tuple[str, tuple[object, ...]]] = []
    run = runtime_sql.exec

    def recording(query: str, *bindings: object) -> object:
        seen.append((query, bindings))
        return run(query, *bindings)

    runtime_sql.exec = recording  # type: ignore[assignment]
    try:
        node.things.list("Customer", ThingQuery.from_params(params))
    finally:
        runtime_sql.exec = run  # type: ignore[method-assign]
    ((statement, params),) = [(query, bindings) for query, bindings in seen if "FROM things" in query]
    return statement, params


def timed(db: Any, statement: str, params: tuple[object, ...], runs: int) -> tuple[float, int]:
    started = time.perf_counter()
    for _ in range(runs):
        rows = db.execute(statement, params).fetchall()
    return (time.perf_counter() - started) / runs * 1e6, len(rows)


def keyed_by_id(node: Node) -> Any:
    """A copy of `node`'s database with `things` as it was before ADR 0039: keyed by id, with
    the type index."""
    db = sqlite3.connect(":memory:")
    node.storage.sql.db.backup(db)
    db.executescript(
        """CREATE TABLE by_id (id TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;
INSERT INTO by_id SELECT id, type, data, created_at, updated_at, deleted_at, version FROM things;
DROP TABLE things;
ALTER TABLE by_id RENAME TO things;
CREATE INDEX things_by_type ON things (type, created_at, id);"""
    )
    return db


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--things", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print("| things | statement | layout, plan | SQLite's plan | rows | us a query |")
    print("| ---: | --- | --- | --- | ---: | ---: |")
    for count in args.things:
        node = seeded(count)
        scan, params = list_statement(node, {"where": '{"tier":"platinum"}', "limit": "20"})
        default, default_params = list_statement(node, {"limit": "20"})
        by_id = f"SELECT json_array({THING_COLUMNS}) AS record FROM things WHERE id = ?"
        some_id = node.storage.sql.db.execute(
            "SELECT id FROM things LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()[0]
        layouts = {
            "before (id key, type index)": keyed_by_id(node),
            "now (list-order key)": node.storage.sql.db,
        }
        runs: list[tuple[str, str, Any, str, tuple[object, ...]]] = []
        for layout, db in layouts.items():
            runs.append(("full scan", layout, db, scan, params))
        runs.append(("full scan", "before, +type: the floor's plan", layouts["before (id key, type index)"],
                     scan.replace("type = ?", "+type = ?", 1), params))  # fmt: skip
        for layout, db in layouts.items():
            runs.append(("default list, limit 20", layout, db, default, default_params))
        for layout, db in layouts.items():
            runs.append(("get by id", layout, db, by_id, (some_id,)))
        for statement_name, layout, db, text, bound in runs:
            plan = "; ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {text}", bound))
            us, rows = timed(db, text, bound, args.runs if statement_name == "full scan" else args.runs * 20)
            print(f"| {count} | {statement_name} | {layout} | {plan} | {rows} | {us:,.1f} |")


if __name__ == "__main__":
    main()
