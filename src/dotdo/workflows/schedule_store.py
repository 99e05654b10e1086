"""The scheduler's SQL: the `schedules` table, one row per (source, handler, cron, zone)."""

from __future__ import annotations

from typing import Any

from dotdo.core.sql import Sql
from dotdo.types import Row

__all__ = ["ScheduleStore"]


class ScheduleStore:
    """Rows of `schedules` in `sql`: `source` is "class" (a decorator) or "runtime"
    (`self.every`); times are epoch ms."""

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

    def delete(self, schedule_id: str) -> bool:
        """Remove a schedule; False when there was none."""
        return self._sql.run("DELETE FROM schedules WHERE id = ?", schedule_id) > 0

    def all(self) -> list[dict[str, Any]]:
        """Every schedule by id: `id, cron, tz, handler, source, next_at, last_fired_at,
        registered_at`."""
        rows = self._sql.exec(
            "SELECT id, cron, tz, handler, source, next_at, last_fired_at, registered_at "
            "FROM schedules ORDER BY id"
        )
        return [dict(row) for row in rows]

    def due(self, now: int, limit: int) -> list[Row]:
        """Schedules due at `now`, earliest first: `id, cron, tz, handler, next_at`."""
        return self._sql.exec(
            "SELECT id, cron, tz, handler, next_at FROM schedules WHERE next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            now,
            limit,
        )

    def fired(self, schedule_id: str, next_at: int, fired_at: int) -> None:
        """A schedule fired at `fired_at`; it is due next at `next_at`."""
        self._sql.run(
            "UPDATE schedules SET next_at = ?, last_fired_at = ? WHERE id = ?", next_at, fired_at, schedule_id
        )

    def next_at(self) -> int | None:
        """The earliest `next_at` of any schedule, or None."""
        row = self._sql.first("SELECT min(next_at) AS t FROM schedules")
        return None if row is None or row["t"] is None else int(row["t"])
