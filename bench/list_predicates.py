"""What a list's SQL statement costs per row, dotdo's against the bare-Python floor's, under
CPython's SQLite (issue 14, item 2): the statements only, no runtime.

    .venv/bin/python bench/list_predicates.py [--things 10000] [--repeat 50]

Builds one in-memory `things` table as DOSemantic makes it (WITHOUT ROWID, the type index),
fills it with customers shaped as the shared kit's seed (a `tier` of "platinum" on 1 in
1,000, an `age` from 18 to 80), and times dotdo's list statement (its where clause from
`compile_where`, its creation order, `limit + 1` rows) against the floor's (one
`json_extract` per condition, no order) for the kit's two list scenarios. The numbers are
CPython's SQLite, not workerd's: compare the rows of one run with each other.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from dotdo.semantic.query import ThingQuery  # noqa: E402 - after the path is set

COLUMNS = "id, type, data, created_at, updated_at, deleted_at, version"
SCENARIOS: dict[str, tuple[dict[str, Any], str, object]] = {
    "list where, limit 20": ({"age": {"$gt": 30}}, "json_extract(data, '$.age') > ?", 30),
    "list, full scan": ({"tier": "platinum"}, "json_extract(data, '$.tier') = ?", "platinum"),
}


def table(things: int) -> sqlite3.Connection:
    rng = random.Random(1)
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE things (id TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, "
        "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER, "
        "version INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX things_by_type ON things (type, created_at, id)")
    for i in range(things):
        tier = "platinum" if i % 1000 == 7 else rng.choice(["free", "pro", "enterprise"])
        data = {"name": f"c{i}", "email": f"c{i}@example.com", "age": rng.randint(18, 80), "tier": tier}
        db.execute(
            "INSERT INTO things VALUES (?, 'Customer', ?, ?, ?, NULL, 1)",
            (f"c-{i:05d}", json.dumps(data), 1_700_000_000_000 + i, 1_700_000_000_000 + i),
        )
    return db


Params = tuple[object, ...] | dict[str, object]


def timed(db: sqlite3.Connection, sql: str, params: Params, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        db.execute(sql, params).fetchall()
    return (time.perf_counter() - started) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--things", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    db = table(args.things)
    print(f"SQLite {sqlite3.sqlite_version}, {args.things} things, mean of {args.repeat}\n")
    print("| scenario | dotdo ms | floor ms | dotdo's where |")
    print("| --- | ---: | ---: | --- |")
    for name, (where, floor_where, value) in SCENARIOS.items():
        query = ThingQuery.build(where=where, limit=20)
        dotdo_sql = (
            f"SELECT {COLUMNS} FROM things WHERE type = :type AND deleted_at IS NULL AND {query.where.sql} "
            f"ORDER BY {query.order_sql()} LIMIT 21"
        )
        named: dict[str, object] = {"type": "Customer", "ops": query.where.params[0]}
        dotdo = timed(db, dotdo_sql, named, args.repeat)
        floor_sql = (
            "SELECT id, type, data, created_at, updated_at FROM things "
            f"WHERE type = ? AND deleted_at IS NULL AND {floor_where} LIMIT 20"
        )
        floor = timed(db, floor_sql, ("Customer", value), args.repeat)
        print(f"| {name} | {dotdo:.2f} | {floor:.2f} | `{query.where.sql}` |")


if __name__ == "__main__":
    main()
