"""The event bus's SQL: events on their way to their durable handlers (`dotdo_outbox`),
retried and dead deliveries (`dotdo_deliveries`), delayed sends (`dotdo_scheduled_sends`),
and the events they name (`events`, the semantic layer's table, read only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dotdo.core.page_rows import PageColumns
from dotdo.core.sql import Sql
from dotdo.semantic.eventtypes import Event
from dotdo.types import Row

__all__ = ["DeliveryStore", "SendStore"]

_SEND = "SELECT id, type, data, subject, object, due_at FROM dotdo_scheduled_sends"
_SEND_COLUMNS = PageColumns(
    ("id", "type", "data", "subject", "object", "due_at"),
    key="id",
    by_key=f"{_SEND} WHERE id IN (SELECT value FROM json_each(?))",
    measured=("id", "type", "data", "subject", "object"),
)
"""A page of delayed sends (`Sql.page`): `_SEND`'s columns; the larger ones read by id."""


def _letters(kind: str) -> tuple[str, PageColumns]:
    """A page of dead letters, each with `kind` (SQL) as its event's type: the statement's
    head and its columns (`Sql.page`; the larger letters read by id)."""
    select = (
        f"SELECT d.id, d.event_id, d.handler, d.attempts, d.last_error, d.created_at, {kind} AS type "
        "FROM dotdo_deliveries d"
    )
    names = ("id", "event_id", "handler", "attempts", "last_error", "created_at", "type")
    by_key = f"{select} WHERE d.id IN (SELECT value FROM json_each(?))"
    return select, PageColumns(names, key="id", by_key=by_key, measured=("handler", "last_error", "type"))


_LETTERS = {True: _letters("(SELECT e.type FROM events e WHERE e.id = d.event_id)"), False: _letters("NULL")}
"""Dead letters with their event's type from the `events` table (True), or none (False)."""


class DeliveryStore:
    """Rows of `dotdo_outbox` in `sql`, one per event whose durable handlers have not all run
    yet (`handlers`: those still to run, in order, as a JSON array; `next_at`: the lease, epoch
    ms, after which the alarm takes the event for lost), and of `dotdo_deliveries`, one per
    delivery to one handler that failed: `status` is 'pending' (retried at `next_at`, epoch
    ms) or 'dead'."""

    def __init__(self, sql: Sql, find_event: Callable[[str], Event | None] | None = None) -> None:
        """The tables over `sql`; `find_event` reads an event by id from the event log
        (None: the `events` table, as on the direct path)."""
        self._sql = sql
        self._find_event = find_event

    # -- first deliveries: the outbox ----------------------------------------------

    def hold(self, event_id: str, handlers: list[str], lease_until: int) -> None:
        """The event is still to be delivered to `handlers` (method names), written in the
        event's transaction; `lease_until` (epoch ms): past it, the alarm runs them."""
        self._sql.run(
            "INSERT INTO dotdo_outbox (event_id, handlers, next_at) VALUES (?, ?, ?)",
            event_id,
            json.dumps(handlers),
            lease_until,
        )

    def progress(self, event_id: str, remaining: list[str]) -> None:
        """Only `remaining` are still to run (none: the event is delivered, its row goes)."""
        if remaining:
            self._sql.run(
                "UPDATE dotdo_outbox SET handlers = ? WHERE event_id = ?", json.dumps(remaining), event_id
            )
        else:
            self._sql.run("DELETE FROM dotdo_outbox WHERE event_id = ?", event_id)

    def held_due(self, now: int, limit: int) -> list[tuple[str, list[str]]]:
        """Events whose lease ran out by `now`, earliest first: (event id, handlers still to run)."""
        rows = self._sql.exec(
            "SELECT event_id, handlers FROM dotdo_outbox WHERE next_at <= ? ORDER BY next_at LIMIT ?",
            now,
            limit,
        )
        return [(str(row["event_id"]), [str(h) for h in json.loads(str(row["handlers"]))]) for row in rows]

    def extend_hold(self, event_id: str, next_at: int) -> None:
        """The event's handlers are queued or running here: its lease moves on to `next_at`."""
        self._sql.run("UPDATE dotdo_outbox SET next_at = ? WHERE event_id = ?", next_at, event_id)

    # -- failed deliveries: retries and dead letters ----------------------------------

    def add(
        self,
        delivery_id: str,
        event_id: str,
        handler: str,
        attempts: int,
        next_at: int | None,
        error: str,
        created_at: int,
    ) -> None:
        """A delivery whose `attempts`-th attempt failed: retried at `next_at`, or dead (None)."""
        self._sql.run(
            "INSERT INTO dotdo_deliveries (id, event_id, handler, status, attempts, next_at, last_error, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            delivery_id,
            event_id,
            handler,
            "dead" if next_at is None else "pending",
            attempts,
            next_at,
            error,
            created_at,
        )

    def delete(self, delivery_id: str) -> None:
        """Forget a delivery (it succeeded)."""
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
        """Move a delivery's next attempt to `next_at` (epoch ms) while it is being run."""
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
        """The earliest retry or outbox lease (epoch ms), or None."""
        row = self._sql.first(
            "SELECT min(t) AS t FROM (SELECT min(next_at) AS t FROM dotdo_deliveries "
            "WHERE status = 'pending' UNION ALL SELECT min(next_at) FROM dotdo_outbox)"
        )
        return None if row is None or row["t"] is None else int(row["t"])

    def dead(self, after: str | None, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` dead letters by id (oldest first) after the letter `after`: `id,
        event_id, handler, attempts, last_error, created_at` and the event's `type` (None
        when the event is gone); and whether they were cut by their bytes first (`Sql.page`).

        The type is read for each letter the page reads, never by a join: a join to
        DOStorage's `events` VIEW copied every event of every segment out of its JSON before
        the first letter was read. On the direct path it is the `events` table's, by its
        key; else `find_event`'s (a letter's event not in the view yet, or no view)."""
        found = self._sql.first("SELECT type FROM sqlite_master WHERE name = 'events'")
        select, columns = _LETTERS[found is not None and found["type"] == "table"]
        rows, cut = self._sql.page(
            f"{select} WHERE d.status = 'dead'{'' if after is None else ' AND d.id > ?'} "
            "ORDER BY d.id LIMIT ?",
            *(() if after is None else (after,)),
            limit,
            columns=columns,
            rows=limit,
        )
        letters = [dict(row) for row in rows]
        for letter in letters:
            if letter["type"] is None and self._find_event is not None:
                event = self._find_event(str(letter["event_id"]))
                letter["type"] = None if event is None else event.type
        return letters, cut

    def dead_letter(self, delivery_id: str) -> Row | None:
        """The dead letter `delivery_id`'s `id, event_id, handler, attempts`, or None when
        there is none (no such delivery, or one still pending)."""
        return self._sql.first(
            "SELECT id, event_id, handler, attempts FROM dotdo_deliveries WHERE id = ? AND status = 'dead'",
            delivery_id,
        )

    def revive(self, delivery_id: str, handler: str) -> None:
        """A dead letter back to pending with no attempts, for `handler` (its own, or another
        handler of its event that a replay names: retries go there from now on)."""
        self._sql.run(
            "UPDATE dotdo_deliveries SET status = 'pending', attempts = 0, handler = ? WHERE id = ?",
            handler,
            delivery_id,
        )

    def state(self, delivery_id: str) -> Row | None:
        """`status, attempts, last_error` of a delivery still recorded, or None."""
        return self._sql.first(
            "SELECT status, attempts, last_error FROM dotdo_deliveries WHERE id = ?", delivery_id
        )

    def event(self, event_id: str) -> Event | None:
        """The event a delivery names, from the event log, or None when it is gone."""
        if self._find_event is not None:
            return self._find_event(event_id)
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
    """Rows of `dotdo_scheduled_sends` in `sql`: an event to send at `due_at` (epoch ms)."""

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
        `data` decoded; fewer than `limit` where their rows pass MAX_PAGE_BYTES (`Sql.page`:
        a pass takes the rest next)."""
        rows, _ = self._sql.page(
            f"{_SEND} WHERE due_at <= ? ORDER BY due_at LIMIT ?",
            now,
            limit,
            columns=_SEND_COLUMNS,
            rows=limit,
        )
        return [
            {
                "id": row["id"],
                "type": row["type"],
                "data": json.loads(str(row["data"])),
                "subject": row["subject"],
                "object": row["object"],
            }
            for row in rows
        ]

    def page(self, after: tuple[int, str] | None, limit: int) -> tuple[list[Row], bool]:
        """Up to `limit` waiting sends, the next due first (by `due_at`, then id), after the
        send `after` (its `due_at` and id): `id, type, data, subject, object, due_at`, with
        `data` decoded; and whether they were cut by their bytes first (`Sql.page`)."""
        due, send_id = after if after is not None else (None, None)
        rows, cut = self._sql.page(
            f"{_SEND} WHERE ?1 IS NULL OR (due_at, id) > (?1, ?2) ORDER BY due_at, id LIMIT ?3",
            due,
            send_id,
            limit,
            columns=_SEND_COLUMNS,
            rows=limit,
        )
        return [{**row, "data": json.loads(str(row["data"]))} for row in rows], cut

    def delete(self, send_id: str) -> bool:
        """Forget a send (it was sent, or is cancelled); False when there was none."""
        return self._sql.run("DELETE FROM dotdo_scheduled_sends WHERE id = ?", send_id) > 0

    def next_at(self) -> int | None:
        """The earliest `due_at` (epoch ms) of a waiting send, or None."""
        row = self._sql.first("SELECT min(due_at) AS t FROM dotdo_scheduled_sends")
        return None if row is None or row["t"] is None else int(row["t"])
