"""The `graph` component's tables (`events`, `dotdo_relationships`, `dotdo_actions`), their
migrations and the columns a page of events or actions reads, read by `semantic/graph.py`."""

from __future__ import annotations

from dotdo.core.migrations import Component, Migration, without_rowid
from dotdo.core.page_rows import PageColumns

__all__ = ["ACTION_COLUMNS", "ACTION_PAGE", "EVENT_COLUMNS", "EVENT_PAGE", "GRAPH_TABLES"]

EVENT_COLUMNS = "id, type, data, timestamp, subject, object"
"""An event as `events` holds it."""
EVENT_PAGE = PageColumns(
    tuple(EVENT_COLUMNS.split(", ")),
    key="id",
    by_key=f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?))",
    measured=("id", "type", "data", "subject", "object"),
)
"""A page of events (`Sql.page`): `EVENT_COLUMNS`; the larger ones read by id."""
ACTION_COLUMNS = "id, verb, subject_type, subject_id, object_type, object_id, data, event_id, created_at"
"""An audit entry as `dotdo_actions` holds it."""
ACTION_PAGE = PageColumns(
    tuple(ACTION_COLUMNS.split(", ")),
    key="id",
    by_key=f"SELECT {ACTION_COLUMNS} FROM dotdo_actions WHERE id IN (SELECT value FROM json_each(?))",
    measured=("verb", "subject_id", "object_id", "data"),
)
"""A page of audit entries (`Sql.page`): `ACTION_COLUMNS`; the larger ones read by id."""

GRAPH_TABLES = Component(
    "graph",
    (
        Migration(
            1,
            (
                """CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  subject TEXT,
  object TEXT
)""",
                "CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id)",
                "CREATE INDEX IF NOT EXISTS events_by_subject ON events (subject, id)",
                """CREATE TABLE IF NOT EXISTS relationships (
  from_id TEXT NOT NULL,
  from_type TEXT NOT NULL,
  verb TEXT NOT NULL,
  to_id TEXT NOT NULL,
  to_type TEXT NOT NULL,
  data TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, verb, to_id)
) WITHOUT ROWID""",
                "CREATE INDEX IF NOT EXISTS relationships_backward ON relationships (to_id, verb, from_id)",
                """CREATE TABLE IF NOT EXISTS actions (
  id TEXT PRIMARY KEY,
  verb TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  data TEXT,
  event_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
)""",
                "CREATE INDEX IF NOT EXISTS actions_by_subject ON actions (subject_id, id)",
                "CREATE INDEX IF NOT EXISTS actions_by_object ON actions (object_id, id)",
            ),
        ),
        # Plumbing carries the dotdo_ prefix, hidden from the read-only query (ADR 0013);
        # `events` is one of the document's tables and keeps its name. SQLite cannot rename
        # an index, so each is dropped and built again under the prefix.
        Migration(
            2,
            (
                "ALTER TABLE relationships RENAME TO dotdo_relationships",
                "DROP INDEX relationships_backward",
                "CREATE INDEX dotdo_relationships_backward ON dotdo_relationships (to_id, verb, from_id)",
                "ALTER TABLE actions RENAME TO dotdo_actions",
                "DROP INDEX actions_by_subject",
                "DROP INDEX actions_by_object",
                "CREATE INDEX dotdo_actions_by_subject ON dotdo_actions (subject_id, id)",
                "CREATE INDEX dotdo_actions_by_object ON dotdo_actions (object_id, id)",
            ),
        ),
        # One b-tree keyed by id for events and actions (an insert no longer writes an index
        # of ids too), and no index entry for what has no subject or no object, which the
        # lookups by subject or object never ask for (ADR 0020).
        Migration(
            3,
            (
                without_rowid(
                    "events",
                    """id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  subject TEXT,
  object TEXT""",
                    (
                        "CREATE INDEX IF NOT EXISTS events_by_type ON events (type, id)",
                        "CREATE INDEX IF NOT EXISTS events_by_subject ON events (subject, id) "
                        "WHERE subject IS NOT NULL",
                    ),
                ),
                without_rowid(
                    "dotdo_actions",
                    """id TEXT PRIMARY KEY,
  verb TEXT NOT NULL,
  subject_type TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  data TEXT,
  event_id TEXT NOT NULL,
  created_at INTEGER NOT NULL""",
                    (
                        "CREATE INDEX IF NOT EXISTS dotdo_actions_by_subject "
                        "ON dotdo_actions (subject_id, id)",
                        "CREATE INDEX IF NOT EXISTS dotdo_actions_by_object ON dotdo_actions (object_id, id) "
                        "WHERE object_id IS NOT NULL",
                    ),
                ),
            ),
        ),
        # An edge's ends are references, type and id (an end may be another object's thing, whose
        # ids repeat across types): the types join the key, after the columns every lookup
        # names, so each index prefix read before is read the same way and a relate still
        # writes one row of the table and one of the backward index (ADR 0041). Every edge is
        # kept: the old key was stricter than the new one.
        Migration(
            4,
            (
                """CREATE TABLE dotdo_relationships_typed (
  from_id TEXT NOT NULL,
  from_type TEXT NOT NULL,
  verb TEXT NOT NULL,
  to_id TEXT NOT NULL,
  to_type TEXT NOT NULL,
  data TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (from_id, verb, to_id, from_type, to_type)
) WITHOUT ROWID""",
                "INSERT INTO dotdo_relationships_typed (from_id, from_type, verb, to_id, to_type, data, "
                "created_at) SELECT from_id, from_type, verb, to_id, to_type, data, created_at "
                "FROM dotdo_relationships",
                "DROP TABLE dotdo_relationships",
                "ALTER TABLE dotdo_relationships_typed RENAME TO dotdo_relationships",
                "CREATE INDEX dotdo_relationships_backward ON dotdo_relationships (to_id, verb, from_id)",
            ),
        ),
    ),
    formerly=(("semantic", 1),),  # one `semantic` track created these tables with the others
)
