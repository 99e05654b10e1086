"""A new object on the runtime's SQLite creates its tables from the squashed baseline (ADR
0040) and ends with the schema replaying every migration gives (replayed here under
CPython): whole, cut short by a class that drops components, and followed by an app's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dotdo import DOSemantic, DOWorkflow
from dotdo.core.migrations import SCHEMA_TABLE_SQL, Component, Migration, migrate
from dotdo.core.sql import Sql
from tests.runtime import LocalRuntime, new_tenant
from tests.storage import Storage

Rows = list[dict[str, Any]]

NOTES = Component(  # tests/harness/harness_semantic.py's, as HarnessSemantic lists it
    "harness_notes",
    (
        Migration(1, ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",)),
        Migration(2, ("INSERT INTO notes (body) VALUES ('written once, by version 2')",)),
    ),
)

# Everything but the runtime's own objects (Cloudflare's `_cf_*`, the local runtime's
# `__miniflare_*`) and the indexes of declared nouns (`things_<Noun>_<path>`, made after the
# migrations); SQL with its whitespace collapsed.
_OURS = (
    "substr({0}, 1, 4) <> '_cf_' AND substr({0}, 1, 12) <> '__miniflare_' AND {0} NOT GLOB 'things_[A-Z]*'"
)
_MASTER = (
    f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE {_OURS.format('name')} ORDER BY type, name"
)
_COLUMNS = (
    'SELECT m.name AS tbl, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk '
    "FROM sqlite_master m, pragma_table_info(m.name) p "
    f"WHERE m.type = 'table' AND {_OURS.format('m.name')} ORDER BY tbl, p.cid"
)
_INDEXES = (
    'SELECT m.name AS tbl, l.name, l."unique", l.origin, l.partial, x.seqno, x.cid, x.name AS col, x."desc" '
    "FROM sqlite_master m, pragma_index_list(m.name) l, pragma_index_xinfo(l.name) x "
    f"WHERE m.type = 'table' AND {_OURS.format('m.name')} AND {_OURS.format('l.name')} "
    "ORDER BY tbl, l.name, x.seqno"
)
_VERSIONS = "SELECT component, version FROM dotdo_schema ORDER BY component"


def described(run: Callable[[str], Rows]) -> dict[str, Any]:
    master = [
        {**row, "sql": " ".join(str(row["sql"]).split()) if row["sql"] is not None else None}
        for row in run(_MASTER)
    ]
    return {"master": master, "columns": run(_COLUMNS), "indexes": run(_INDEXES), "versions": run(_VERSIONS)}


def replayed(components: list[Component]) -> dict[str, Any]:
    sql = Sql(Storage())
    sql.run(SCHEMA_TABLE_SQL)  # not a new object: every migration replays
    migrate(sql, components, 1)
    return described(lambda query: [dict(row) for row in sql.exec(query)])


def components_of(cls: type[DOSemantic]) -> list[Component]:
    return cls.migrations(cls.__new__(cls))


CLASSES = {
    # DOWorkflow's components, each from the baseline.
    "STRICT": components_of(DOWorkflow),
    # DOWorkflow's without `storage` and `archive`: the baseline up to `graph`, then replayed.
    "ROWS": [c for c in components_of(DOWorkflow) if c.name not in ("storage", "archive")],
    # DOSemantic's from the baseline, then the app's own replayed.
    "SEMANTIC": [*components_of(DOSemantic), NOTES],
}


@pytest.mark.parametrize("binding", CLASSES)
def test_a_new_object_has_the_schema_its_migrations_replay_to(runtime: LocalRuntime, binding: str) -> None:
    tenant = new_tenant()

    def run(query: str) -> Rows:
        answer = runtime.rpc(tenant, "raw_rows", query, binding=binding).json()
        assert "result" in answer, answer
        rows: Rows = answer["result"]
        return rows

    assert described(run) == replayed(CLASSES[binding])
