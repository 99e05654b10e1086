"""The `things` component's table and its migrations, read and written by `semantic/store.py`
(and DOStorage's checkpoint). Since version 3 `things` is one WITHOUT ROWID b-tree keyed by
a list's order, `(type, created_at, id)`, with a unique index of ids (ADR 0039)."""

from __future__ import annotations

from dotdo.core.migrations import Component, Migration, without_rowid

__all__ = ["THING_TABLES"]

THING_TABLES = Component(
    "things",
    (
        Migration(
            1,
            (
                """CREATE TABLE IF NOT EXISTS things (
  id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
)""",
                "CREATE INDEX IF NOT EXISTS things_by_type ON things (type, created_at, id)",
            ),
        ),
        # One b-tree keyed by id: a create writes the thing and its type index, not also an
        # index of ids (ADR 0020).
        Migration(
            2,
            (
                without_rowid(
                    "things",
                    """id TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1""",
                    ("CREATE INDEX IF NOT EXISTS things_by_type ON things (type, created_at, id)",),
                ),
            ),
        ),
        # Keyed by the list order, (type, created_at, id): a list reads its type's rows in
        # order from one range of the table, no lookup a row; ids stay unique through their
        # own index, which takes the type index's place (ADR 0039).
        Migration(
            3,
            (
                without_rowid(
                    "things",
                    """id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (type, created_at, id)""",
                    ("CREATE UNIQUE INDEX IF NOT EXISTS things_by_id ON things (id)",),
                    key=("type", "created_at", "id"),
                    dropped=("things_by_type",),
                ),
            ),
        ),
    ),
    formerly=(("semantic", 1),),  # one `semantic` track created these tables with the others
)
