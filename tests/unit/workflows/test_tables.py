"""Workflow migration 3 renames the plumbing tables in place: rows written under the old
names are there under the new ones."""

from __future__ import annotations

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from tests.storage import Storage


def test_the_plumbing_tables_take_the_prefix_and_keep_their_rows() -> None:
    sql = Sql(Storage())
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:2])], 1) == {"workflow": 2}
    sql.run(
        "INSERT INTO deliveries (id, event_id, handler, status, attempts, next_at, created_at) "
        "VALUES ('d1', 'e1', 'welcome', 'dead', 5, NULL, 1)"
    )
    sql.run("INSERT INTO scheduled_sends (id, type, data, due_at) VALUES ('s1', 'Order.reminded', '{}', 9)")
    sql.run(
        "INSERT INTO workflow_runs (id, name, input, status, next_at, created_at, updated_at) "
        "VALUES ('r1', 'checkout', 'null', 'waiting', 7, 1, 1)"
    )
    sql.run("INSERT INTO schedules (id, cron, handler, source, next_at, registered_at) "
            "VALUES ('c1', '0 * * * *', 'hourly', 'class', 3, 1)")  # fmt: skip
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:3])], 2) == {"workflow": 3}
    assert migrate(sql, [("workflow", WORKFLOW_MIGRATIONS[:3])], 3) == {"workflow": 3}  # once
    assert sql.exec("SELECT id, status, attempts FROM dotdo_deliveries") == [
        {"id": "d1", "status": "dead", "attempts": 5}
    ]
    assert sql.exec("SELECT id, due_at FROM dotdo_scheduled_sends") == [{"id": "s1", "due_at": 9}]
    assert sql.exec("SELECT id, status, next_at FROM dotdo_workflow_runs") == [
        {"id": "r1", "status": "waiting", "next_at": 7}
    ]
    tables = {r["name"] for r in sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"deliveries", "scheduled_sends", "workflow_runs"}.isdisjoint(tables)
    assert {"schedules", "action_log", "dotdo_deliveries"} <= tables  # the seed's names stay
    indexes = {r["name"] for r in sql.exec("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"dotdo_deliveries_due", "dotdo_scheduled_sends_due", "dotdo_workflow_runs_due"} <= indexes
