"""The event bus's SQL: deliveries of events to durable handlers (`dotdo_deliveries`),
delayed sends (`dotdo_scheduled_sends`), and the events they name (`events`, the
semantic layer's table, read only)."""

from __future__ import annotations

import json
from typing import Any

from dotdo.core.sql import Sql
from dotdo.semantic.eventtypes import Event
from dotdo.types import Row

__all__ = ["DeliveryStore", "SendStore"]


class DeliveryStore:
    """Rows of `dotdo_deliveries`: `status` is 'pending' (retried at `next_at`) or 'dead'."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(self, delivery_id: str, event_id: str, handler: str, next_at: int, created_at: int) -> None:
        self._sql.run(
            "INSERT INTO dotdo_deliveries (id, event_id, handler, status, attempts, next_at, created_at) "
            "VALUES (?, ?, ?, 'pending', 0, ?, ?)",
            delivery_id,
            event_id,
            handler,
            next_at,
            created_at,
        )

    def delete(self, delivery_id: str) -> None:
        self._sql.run("DELETE FROM dotdo_deliveries WHERE id = ?", delivery_id)

    def retry_at(self, delivery_id: str, attempts: int, next_at: int, error: str) -> None:
        """A failed attempt: tried again at `next_at`."""
        self._sql.run(
            "UPDATE dotdo_deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
            attempts,
            next_at,
            error,
            delivery_id,
        )

    def bury(self, delivery_id: str, attempts: int, error: str) -> None:
        """The last failed attempt: a dead letter, never retried by the alarm."""
        self._sql.run(
            "UPDATE dotdo_deliveries SET status = 'dead', attempts = ?, next_at = NULL, last_error = ? "
            "WHERE id = ?",
            attempts,
            error,
            delivery_id,
        )

    def extend_lease(self, delivery_id: str, next_at: int) -> None:
        self._sql.run("UPDATE dotdo_deliveries SET next_at = ? WHERE id = ?", next_at, delivery_id)

    def due(self, now: int, limit: int) -> list[Row]:
        """Pending deliveries due at `now`, earliest first: `id, event_id, handler, attempts`."""
        return self._sql.exec(
            "SELECT id, event_id, handler, attempts FROM dotdo_deliveries "
            "WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
            now,
            limit,
        )

    def next_at(self) -> int | None:
        row = self._sql.first("SELECT min(next_at) AS t FROM dotdo_deliveries WHERE status = 'pending'")
        return None if row is None or row["t"] is None else int(row["t"])

    def dead(self, limit: int) -> list[dict[str, Any]]:
        rows = self._sql.exec(
            "SELECT d.id, d.event_id, d.handler, d.attempts, d.last_error, d.created_at, e.type "
            "FROM dotdo_deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE d.status = 'dead' "
            "ORDER BY d.id LIMIT ?",
            limit,
        )
        return [dict(row) for row in rows]

    def revive(self, delivery_id: str) -> Row | None:
        """A dead letter back to pending with no attempts; its row as it was, or None."""
        row = self._sql.first(
            "SELECT id, event_id, handler, attempts FROM dotdo_deliveries WHERE id = ? AND status = 'dead'",
            delivery_id,
        )
        if row is not None:
            self._sql.run(
                "UPDATE dotdo_deliveries SET status = 'pending', attempts = 0 WHERE id = ?", delivery_id
            )
        return row

    def state(self, delivery_id: str) -> Row | None:
        """`status, attempts, last_error` of a delivery still recorded, or None."""
        return self._sql.first(
            "SELECT status, attempts, last_error FROM dotdo_deliveries WHERE id = ?", delivery_id
        )

    def event(self, event_id: str) -> Event | None:
        row = self._sql.first(
            "SELECT id, type, data, timestamp, subject, object FROM events WHERE id = ?", event_id
        )
        if row is None:
            return None
        return Event(
            str(row["id"]),
            str(row["type"]),
            json.loads(str(row["data"])),
            int(row["timestamp"]),
            row["subject"],
            row["object"],
        )


class SendStore:
    """Rows of `dotdo_scheduled_sends`: an event to send at `due_at`."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def add(
        self, send_id: str, event_type: str, data: str, subject: str | None, object_id: str | None, due: int
    ) -> None:
        """`data` is the event's data as stored JSON text."""
        self._sql.run(
            "INSERT INTO dotdo_scheduled_sends (id, type, data, subject, object, due_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            send_id,
            event_type,
            data,
            subject,
            object_id,
            due,
        )

    def due(self, now: int, limit: int) -> list[Row]:
        """The sends due at `now`, earliest first: `id, type, data, subject, object`, with
        `data` decoded."""
        rows = self._sql.exec(
            "SELECT id, type, data, subject, object FROM dotdo_scheduled_sends WHERE due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            now,
            limit,
        )
        return [{**row, "data": json.loads(str(row["data"]))} for row in rows]

    def delete(self, send_id: str) -> None:
        self._sql.run("DELETE FROM dotdo_scheduled_sends WHERE id = ?", send_id)

    def next_at(self) -> int | None:
        row = self._sql.first("SELECT min(due_at) AS t FROM dotdo_scheduled_sends")
        return None if row is None or row["t"] is None else int(row["t"])
