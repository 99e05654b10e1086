"""The scheduler's SQL: the `schedules` table, one row per (source, handler, cron, zone)."""

from __future__ import annotations

from typing import Any

from dotdo.core.sql import Sql
from dotdo.types import Row

__all__ = ["UTC", "ScheduleStore"]


UTC = "UTC"
"""The zone of a schedule declared without one, as every listing and `ScheduleInfo` name it."""

_COLUMNS = (
    f"id, cron, coalesce(tz, '{UTC}') AS tz, handler, source, next_at, last_fired_at, registered_at, "
    "firing_at, firing_attempts, firing_until, last_error"
)
"""Every column, as read: a schedule without a zone is stored with `tz` NULL (as every
version has stored it: the ids, which class schedules are kept in step by, say `UTC`) and
read as "UTC", which is what it runs in."""
_WAKE = "min(next_at, coalesce(firing_until, next_at))"
"""When a schedule is next due: its next fire time, or sooner the retry (or lease) of a
firing that has not finished."""
_DUE = "(next_at <= ? OR firing_until <= ?)"
"""A schedule due at a time (bound twice): its fire time came, or an unfinished firing's."""


class ScheduleStore:
    """Rows of `schedules` in `sql`: `source` is "class" (a decorator) or "runtime"
    (`self.every`); times are epoch ms. A firing not finished yet is `firing_at` (the fire
    time it is for), its `firing_attempts` so far and `firing_until` (its lease while the
    handler runs, or the time of its retry after a failure); all NULL/0 when none is.
    `tz` is written as given (None: UTC) and read as "UTC" when None."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(
        self,
        schedule_id: str,
        cron: str,
        tz: str | None,
        handler: str,
        source: str,
        next_at: int,
        registered_at: int,
    ) -> bool:
        """Insert a schedule unless one with this id exists; True when inserted."""
        written = self._sql.run(
            "INSERT INTO schedules (id, cron, tz, handler, source, next_at, registered_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            schedule_id,
            cron,
            tz,
            handler,
            source,
            next_at,
            registered_at,
        )
        return written > 0

    def ids(self, source: str) -> set[str]:
        """The ids of the schedules from one `source` ("class" or "runtime")."""
        return {str(r["id"]) for r in self._sql.exec("SELECT id FROM schedules WHERE source = ?", source)}

    def count(self, source: str) -> int:
        """How many schedules come from one `source` ("class" or "runtime")."""
        row = self._sql.first("SELECT count(*) AS n FROM schedules WHERE source = ?", source)
        return 0 if row is None else int(row["n"])

    def source(self, schedule_id: str) -> str | None:
        """The `source` of a schedule ("class" or "runtime"), or None when there is none."""
        row = self._sql.first("SELECT source FROM schedules WHERE id = ?", schedule_id)
        return None if row is None else str(row["source"])

    def delete(self, schedule_id: str) -> bool:
        """Remove a schedule; False when there was none."""
        return self._sql.run("DELETE FROM schedules WHERE id = ?", schedule_id) > 0

    def all(self) -> list[dict[str, Any]]:
        """Every schedule by id: `id, cron, tz, handler, source, next_at, last_fired_at,
        registered_at, firing_at, firing_attempts, firing_until, last_error`."""
        rows = self._sql.exec(f"SELECT {_COLUMNS} FROM schedules ORDER BY id")
        return [dict(row) for row in rows]

    def page(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """At most `limit` schedules by id, those after `after` when given (the columns of
        `all`)."""
        # Every schedule id is a non-empty text (`class:...`, `runtime-...`): all are after "".
        rows = self._sql.exec(
            f"SELECT {_COLUMNS} FROM schedules WHERE id > ? ORDER BY id LIMIT ?", after or "", limit
        )
        return [dict(row) for row in rows]

    def due(self, now: int, limit: int) -> list[Row]:
        """Schedules due at `now` (their fire time, or the lease or retry of an unfinished
        firing), earliest first: every column."""
        return self._sql.exec(
            f"SELECT {_COLUMNS} FROM schedules WHERE {_DUE} ORDER BY {_WAKE} LIMIT ?",
            now,
            now,
            limit,
        )

    def due_now(self, schedule_id: str, now: int) -> Row | None:
        """The schedule `schedule_id` if it is still due at `now` (as `due` finds it), else None."""
        return self._sql.first(
            f"SELECT {_COLUMNS} FROM schedules WHERE id = ? AND {_DUE}",
            schedule_id,
            now,
            now,
        )

    def firing(
        self, schedule_id: str, next_at: int, fired_at: int, firing_at: int, attempts: int, until: int
    ) -> None:
        """The `attempts`-th attempt of the firing for `firing_at` starts at `fired_at`,
        written before its handler runs: run again at `until` unless it ends first; the
        schedule is due next at `next_at`."""
        self._sql.run(
            "UPDATE schedules SET next_at = ?, last_fired_at = ?, firing_at = ?, firing_attempts = ?, "
            "firing_until = ? WHERE id = ?",
            next_at,
            fired_at,
            firing_at,
            attempts,
            until,
            schedule_id,
        )

    def fired(self, schedule_id: str, error: str | None) -> None:
        """The firing in progress ended: it succeeded (`error` None) or was given up on."""
        self._sql.run(
            "UPDATE schedules SET firing_at = NULL, firing_attempts = 0, firing_until = NULL, "
            "last_error = ? WHERE id = ?",
            error,
            schedule_id,
        )

    def retry(self, schedule_id: str, at: int, error: str) -> None:
        """The firing in progress failed: it is tried again at `at` (epoch ms)."""
        self._sql.run(
            "UPDATE schedules SET firing_until = ?, last_error = ? WHERE id = ?", at, error, schedule_id
        )

    def hold(self, schedule_id: str, until: int) -> None:
        """The firing in progress is still running here: its lease moves on to `until`, and a
        fire time due before then waits until then (one handler at a time, none lost)."""
        self._sql.run(
            "UPDATE schedules SET firing_until = ?, next_at = max(next_at, ?) WHERE id = ?",
            until,
            until,
            schedule_id,
        )

    def next_at(self) -> int | None:
        """The earliest time any schedule is due (see `due`), or None."""
        row = self._sql.first(f"SELECT min({_WAKE}) AS t FROM schedules")
        return None if row is None or row["t"] is None else int(row["t"])
