"""The workflow layer's tables, created by the `workflow` migrations.

schedules               cron schedules (schedule_store.py)
dotdo_outbox            events on their way to their durable handlers (bus_store.py)
dotdo_deliveries        retried and dead deliveries to durable handlers (bus_store.py)
dotdo_scheduled_sends   delayed sends (bus_store.py)
action_log              durable steps (run_store.py)
dotdo_workflow_runs     workflow runs (run_store.py)
"""

from __future__ import annotations

from dotdo.core.migrations import Migration, without_rowid

__all__ = ["WORKFLOW_MIGRATIONS"]

WORKFLOW_MIGRATIONS = (
    Migration(
        1,
        (
            # One row per (handler, cron): the document's `schedules` keyed by cron alone
            # would let two handlers on one cron overwrite each other.
            """CREATE TABLE IF NOT EXISTS schedules (
  id TEXT PRIMARY KEY,
  cron TEXT NOT NULL,
  tz TEXT,
  handler TEXT NOT NULL,
  source TEXT NOT NULL,
  next_at INTEGER NOT NULL,
  last_fired_at INTEGER,
  registered_at INTEGER NOT NULL
)""",
            "CREATE INDEX IF NOT EXISTS schedules_due ON schedules (next_at)",
            """CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  handler TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL
)""",
            "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at)",
            """CREATE TABLE IF NOT EXISTS scheduled_sends (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  subject TEXT,
  object TEXT,
  due_at INTEGER NOT NULL
)""",
            "CREATE INDEX IF NOT EXISTS scheduled_sends_due ON scheduled_sends (due_at)",
            """CREATE TABLE IF NOT EXISTS action_log (
  step_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  result TEXT,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  run_id TEXT,
  updated_at INTEGER NOT NULL
)""",
            """CREATE TABLE IF NOT EXISTS workflow_runs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  input TEXT NOT NULL,
  status TEXT NOT NULL,
  result TEXT,
  error TEXT,
  next_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
)""",
            "CREATE INDEX IF NOT EXISTS workflow_runs_due ON workflow_runs (status, next_at)",
        ),
    ),
    # The action a step ran (its qualified name), checked when the step is replayed;
    # rows recorded before this keep NULL and are accepted as they are.
    Migration(2, ("ALTER TABLE action_log ADD COLUMN name TEXT",)),
    # The plumbing tables take the framework's `dotdo_` prefix, out of the application's
    # way; renamed in place, so the rows written before stay. The seed's own tables
    # (`schedules`, `action_log`) keep their names.
    Migration(
        3,
        (
            "ALTER TABLE deliveries RENAME TO dotdo_deliveries",
            "ALTER TABLE scheduled_sends RENAME TO dotdo_scheduled_sends",
            "ALTER TABLE workflow_runs RENAME TO dotdo_workflow_runs",
            "DROP INDEX IF EXISTS deliveries_due",
            "CREATE INDEX IF NOT EXISTS dotdo_deliveries_due ON dotdo_deliveries (status, next_at)",
            "DROP INDEX IF EXISTS scheduled_sends_due",
            "CREATE INDEX IF NOT EXISTS dotdo_scheduled_sends_due ON dotdo_scheduled_sends (due_at)",
            "DROP INDEX IF EXISTS workflow_runs_due",
            "CREATE INDEX IF NOT EXISTS dotdo_workflow_runs_due ON dotdo_workflow_runs (status, next_at)",
        ),
    ),
    # Fewer rows per operation (ADR 0020): every table one b-tree keyed by its id; the
    # timer indexes hold only what can still come due (SQLite counts an entry going in,
    # not one going out, so a run that ends or a delivery that dies costs no index row);
    # `schedules` drops its index, a few rows read whole cost less than a row per firing;
    # and an event's first delivery is one `dotdo_outbox` row listing the handlers still
    # to run, where a delivery row per handler was written and deleted.
    Migration(
        4,
        (
            without_rowid(
                "dotdo_workflow_runs",
                """id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  input TEXT NOT NULL,
  status TEXT NOT NULL,
  result TEXT,
  error TEXT,
  next_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL""",
                (
                    "CREATE INDEX IF NOT EXISTS dotdo_workflow_runs_due ON dotdo_workflow_runs (next_at) "
                    "WHERE status IN ('running', 'waiting')",
                ),
            ),
            without_rowid(
                "action_log",
                """step_id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  result TEXT,
  error TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  run_id TEXT,
  updated_at INTEGER NOT NULL,
  name TEXT""",
            ),
            "DROP INDEX IF EXISTS schedules_due",
            without_rowid(
                "schedules",
                """id TEXT PRIMARY KEY,
  cron TEXT NOT NULL,
  tz TEXT,
  handler TEXT NOT NULL,
  source TEXT NOT NULL,
  next_at INTEGER NOT NULL,
  last_fired_at INTEGER,
  registered_at INTEGER NOT NULL""",
            ),
            without_rowid(
                "dotdo_deliveries",
                """id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  handler TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_at INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL""",
                (
                    "CREATE INDEX IF NOT EXISTS dotdo_deliveries_due ON dotdo_deliveries (next_at) "
                    "WHERE status = 'pending'",
                ),
            ),
            without_rowid(
                "dotdo_scheduled_sends",
                """id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  subject TEXT,
  object TEXT,
  due_at INTEGER NOT NULL""",
                ("CREATE INDEX IF NOT EXISTS dotdo_scheduled_sends_due ON dotdo_scheduled_sends (due_at)",),
            ),
            # Short-lived (written with the event, gone once its handlers ran): no index,
            # the alarm's lookup reads the few rows there are.
            """CREATE TABLE IF NOT EXISTS dotdo_outbox (
  event_id TEXT PRIMARY KEY,
  handlers TEXT NOT NULL,
  next_at INTEGER NOT NULL
) WITHOUT ROWID""",
        ),
    ),
    # A schedule's firing is at least once: marked (with its lease) before the handler runs
    # and cleared after it, so a firing the object died in, or whose handler failed, runs
    # again at `firing_until`; `last_error` is the last failed attempt's error.
    Migration(
        5,
        (
            "ALTER TABLE schedules ADD COLUMN firing_at INTEGER",
            "ALTER TABLE schedules ADD COLUMN firing_attempts INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE schedules ADD COLUMN firing_until INTEGER",
            "ALTER TABLE schedules ADD COLUMN last_error TEXT",
        ),
    ),
)
