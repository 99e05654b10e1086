"""Squash the framework's migrations into the baseline a new object creates its tables from
(`dotdo/core/baseline.py`, ADR 0040): replay them on CPython's sqlite3, component by
component in the order DOFull lists them, and write what each one changed as the
statements that make it directly.

    .venv/bin/python scripts/squash-schema            # write src/dotdo/core/baseline.py
    .venv/bin/python scripts/squash-schema --check    # exit 1 when it is out of date

Tooling, never run inside a Durable Object (it is not vendored into an app).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotdo.core.migrations import SCHEMA_TABLE, SCHEMA_TABLE_SQL, Component, migrate
from dotdo.core.sql import Sql
from dotdo.testing.sqlite import Storage

__all__ = [
    "BASELINE_PATH",
    "Squashed",
    "as_data",
    "baseline_source",
    "framework_components",
    "main",
    "schema_of",
    "squash",
    "written_baseline",
]

logger = logging.getLogger("dotdo.cli")

BASELINE_PATH = Path(__file__).resolve().parent.parent / "core" / "baseline.py"
"""Where the generated baseline lives: `dotdo/core/baseline.py`."""

_KINDS = ("table", "index", "view", "trigger")
"""sqlite_master's kinds, in the order they are created (an index needs its table)."""


@dataclass(frozen=True)
class Squashed:
    """One component squashed: its `name`, the `version` its history ends at, `source`
    (`module:attribute` where its migrations live, checked at run time) and the
    `statements` that make, on the tables of the components before it, what its
    migrations make."""

    name: str
    version: int
    source: str
    statements: tuple[str, ...]


def _new_database() -> tuple[Sql, sqlite3.Connection]:
    """An empty database as an object sees it (`dotdo.testing.sqlite`): the `Sql` facade and
    the connection under it."""
    storage = Storage()
    return Sql(storage), storage.sql.db


def framework_components() -> list[Component]:
    """The components of DOFull (every framework layer's), in its order."""
    from dotdo.full.durable import DOFull

    return DOFull.migrations(DOFull.__new__(DOFull))


def _catalog(db: sqlite3.Connection) -> dict[tuple[str, str], tuple[str, str]]:
    """`{(kind, name): (table, sql)}` of what the migrations made, in creation order
    (by kind, then sqlite_master's order); SQLite's own and the runtime's objects, the
    automatic indexes and `dotdo_schema` left out."""
    rows = db.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND substr(name, 1, 4) <> '_cf_' AND substr(name, 1, 7) <> 'sqlite_' AND tbl_name <> ? "
        "ORDER BY rowid",
        (SCHEMA_TABLE,),
    ).fetchall()
    ordered = sorted(rows, key=lambda r: _KINDS.index(r[0]))
    return {(str(r[0]), str(r[1])): (str(r[2]), str(r[3])) for r in ordered}


def _rows(db: sqlite3.Connection, table: str) -> list[str]:
    """The rows of `table`, each as the SQL literals of its values (`quote()`), sorted."""
    columns = [str(r[1]) for r in db.execute("SELECT * FROM pragma_table_info(?)", (table,))]
    listed = ", ".join(f'quote("{c}")' for c in columns)
    return sorted(
        "(" + ", ".join(str(v) for v in row) + ")" for row in db.execute(f'SELECT {listed} FROM "{table}"')
    )


def _diff(
    db: sqlite3.Connection,
    before: dict[tuple[str, str], tuple[str, str]],
    after: dict[tuple[str, str], tuple[str, str]],
    rows_before: dict[str, list[str]],
) -> list[str]:
    """The statements that turn the `before` schema (and its rows) into the `after` one."""
    rebuilt = {
        name for (kind, name), entry in before.items() if kind == "table" and after.get((kind, name)) != entry
    }
    statements: list[str] = []
    for kind in reversed(_KINDS):  # dropped: triggers and views first, tables last
        for (found_kind, name), (table, sql) in before.items():
            if found_kind != kind or after.get((kind, name)) == (table, sql):
                continue
            if kind in ("index", "trigger") and table in rebuilt:
                continue  # goes with its table
            statements.append(f'DROP {kind.upper()} "{name}"')
    for (kind, name), (table, sql) in after.items():
        if before.get((kind, name)) != (table, sql) or table in rebuilt:
            statements.append(sql)
    for (kind, name), _ in after.items():
        if kind != "table":
            continue
        rows = _rows(db, name)
        kept = [] if name in rebuilt else rows_before.get(name, [])
        remaining = list(rows)
        for row in kept:
            if row not in remaining:
                raise ValueError(f"{name}: a migration changed or deleted a row an earlier one wrote")
            remaining.remove(row)
        if remaining:
            columns = ", ".join(
                f'"{r[1]}"' for r in db.execute("SELECT * FROM pragma_table_info(?)", (name,))
            )
            statements.append(f'INSERT INTO "{name}" ({columns}) VALUES ' + ", ".join(remaining))
    return statements


def _source(component: Component) -> str:
    """`module:attribute` of a dotdo module that defines the component's migrations (or the
    component): one assigning the name at its top level, not one importing it, so that the
    module is loaded wherever the component is."""
    found: list[str] = []
    for module_name, module in sorted(sys.modules.items()):
        if module is None or not (module_name == "dotdo" or module_name.startswith("dotdo.")):
            continue
        for attribute, value in vars(module).items():
            held = value.migrations if isinstance(value, Component) else value
            if held is component.migrations and _assigns(module, attribute):
                found.append(f"{module_name}:{attribute}")
    if not found:
        raise ValueError(f"{component.name}: its migrations are defined at the top of no dotdo module")
    return min(found)  # a module may define both the tuple and the component holding it


def _assigns(module: Any, attribute: str) -> bool:
    """Whether `module`'s source assigns `attribute` at its top level (`NAME = ...`)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return False
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == attribute for t in targets):
            return True
    return False


def squash(components: Sequence[Component]) -> list[Squashed]:
    """Each component squashed, in order: its migrations replayed after the ones before it
    (as `migrate` replays them on an object that has history), and the difference each
    made written as statements. ValueError where a migration rewrote rows it did not
    create (a baseline cannot hold that)."""
    sql, db = _new_database()
    sql.run(SCHEMA_TABLE_SQL)  # not a new object any more: from here on, every migration replays
    squashed: list[Squashed] = []
    before = _catalog(db)
    for count, component in enumerate(components, start=1):
        rows_before = {name: _rows(db, name) for kind, name in before if kind == "table"}
        migrate(sql, components[:count], 0)
        after = _catalog(db)
        version = component.migrations[-1].version if component.migrations else 0
        statements = tuple(_diff(db, before, after, rows_before))
        squashed.append(Squashed(component.name, version, _source(component), statements))
        before = after
    return squashed


def _literal(text: str) -> str:
    """`text` as a Python string literal the formatter keeps: triple-quoted when it spans
    lines (as the migrations write it), else double-quoted."""
    if "\n" in text and '"""' not in text and "\\" not in text and not text.endswith('"'):
        return f'"""{text}"""'
    return json.dumps(text, ensure_ascii=False)


def baseline_source(squashed: Sequence[Squashed]) -> str:
    """The text of `dotdo/core/baseline.py` holding `squashed`."""
    lines = [
        "# ruff: noqa: E501 - SQL as the migrations left it in sqlite_master, lines and all",
        '"""The framework\'s tables as a new object creates them: each component\'s current schema,',
        "squashed from its migrations (ADR 0040). Generated by `scripts/squash-schema` from the",
        "migrations; do not edit: change a component's migrations and run it again",
        "(`tests/unit/core/test_baseline.py` fails until then).",
        "",
        "`BASELINE` holds one entry a component, in the order DOFull lists them:",
        "`(component, version, migrations, statements)`: the version its history ends at, where its",
        "migrations live (`module:attribute`, compared with the component's at run time) and the",
        "statements that make, on the tables of the entries before it, what its migrations make.",
        '"""',
        "",
        "BASELINE: tuple[tuple[str, int, str, tuple[str, ...]], ...] = (",
    ]
    for entry in squashed:
        lines += ["    (", f"        {json.dumps(entry.name)},", f"        {entry.version},"]
        lines += [f"        {json.dumps(entry.source)},", "        ("]
        lines += [f"            {_literal(statement)}," for statement in entry.statements]
        lines += ["        ),", "    ),"]
    lines.append(")")
    return "\n".join(lines) + "\n"


def schema_of(db: sqlite3.Connection) -> dict[str, Any]:
    """What a database's schema is, to compare two: sqlite_master's entries (kind, name,
    table and SQL with its whitespace collapsed), each table's `PRAGMA table_info` and
    each index's `PRAGMA index_list` entry and `index_info` columns, every table's rows
    but `dotdo_schema`'s times, and `dotdo_schema`'s components and versions."""
    master = sorted(
        (str(r[0]), str(r[1]), str(r[2]), " ".join(str(r[3]).split()) if r[3] is not None else None)
        for r in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
    )
    tables = [name for kind, name, _, _ in master if kind == "table" and not name.startswith("sqlite_")]
    described: dict[str, Any] = {"master": master}
    for table in tables:
        described[f"table_info {table}"] = [tuple(r) for r in db.execute(f'PRAGMA table_info("{table}")')]
        indexes = db.execute(f'PRAGMA index_list("{table}")').fetchall()
        described[f"index_list {table}"] = sorted(tuple(r[1:]) for r in indexes)  # the position aside
        for index in indexes:
            described[f"index_xinfo {index[1]}"] = [
                tuple(r) for r in db.execute(f'PRAGMA index_xinfo("{index[1]}")')
            ]
        if table == SCHEMA_TABLE:
            described["versions"] = sorted(
                tuple(r) for r in db.execute(f"SELECT component, version FROM {SCHEMA_TABLE}")
            )
        else:
            described[f"rows {table}"] = _rows(db, table)
    return described


def written_baseline(path: Path = BASELINE_PATH) -> tuple[Any, ...]:
    """The `BASELINE` a baseline module holds, read from its text (not imported); `()` when
    there is none."""
    if not path.exists():
        return ()
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "BASELINE"
            and node.value is not None
        ):
            value: tuple[Any, ...] = ast.literal_eval(node.value)
            return value
    return ()


def as_data(squashed: Sequence[Squashed]) -> tuple[tuple[str, int, str, tuple[str, ...]], ...]:
    """`squashed` in the baseline's shape: `(component, version, migrations, statements)`."""
    return tuple((s.name, s.version, s.source, s.statements) for s in squashed)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the baseline, formatted by ruff (or, with `--check`, say whether it is out of
    date); the exit status."""
    parser = argparse.ArgumentParser(prog="scripts/squash-schema", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 (writing nothing) when out of date")
    args = parser.parse_args(argv)
    squashed = squash(framework_components())
    if written_baseline() == as_data(squashed):
        return 0
    if args.check:
        logger.error("%s is out of date: run scripts/squash-schema", BASELINE_PATH)
        return 1
    BASELINE_PATH.write_text(baseline_source(squashed))
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(BASELINE_PATH)], check=True)
    logger.info("wrote %s", BASELINE_PATH)
    return 0


if __name__ == "__main__":
    logging.basicConfig(format="%(message)s", level=logging.INFO)
    sys.exit(main())
