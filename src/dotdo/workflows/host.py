"""What the workflow components need from the object that composes them: a narrow host
interface per component (the Agents SDK's capabilities talk to their agent the same way),
and the times they share.

The Durable Object class implements these with a small adapter, so none of them adds a
name to the application's namespace; the unit tests implement them over `sqlite3`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from dotdo.core.logs import ObjectLog
from dotdo.core.sql import Sql
from dotdo.core.timers import TimerService
from dotdo.errors import PayloadTooLarge
from dotdo.semantic.eventtypes import Event
from dotdo.values import MAX_STORED_DEPTH, stored_json

__all__ = ["DUE_BATCH", "RUN_LEASE_MS", "BusHost", "Host", "encode_value"]

RUN_LEASE_MS = 60_000
"""A running workflow or an undelivered event is picked up again by the alarm after this long
(covers the object being evicted or the runtime dying mid-way)."""
DUE_BATCH = 100
"""At most this many items of one kind run in one pass of the alarm; the rest in the next."""


def encode_value(value: Any, what: str, limit: int | None = None, depth: int = MAX_STORED_DEPTH) -> str:
    """`value` as stored JSON (`stored_json`); 400 `invalid_data` if it is not, 413
    `value_too_large` past `limit` bytes (given for what a caller sends; results an
    application makes are its own). `depth`: the nesting bound, a record's own when the
    framework built `value` around values checked on their own (`values.around`)."""
    text = stored_json(value, what=what, code="invalid_data", depth=depth)
    if limit is not None and len(text.encode()) > limit:
        raise PayloadTooLarge(f"{what} is at most {limit} bytes as JSON", code="value_too_large")
    return text


class Host(Protocol):
    """What every workflow component needs."""

    @property
    def sql(self) -> Sql:
        """The object's SQL facade (the stores' only way to the database)."""
        ...

    @property
    def timers(self) -> TimerService:
        """The object's timer service: its clock (`now()`), and the alarm to re-arm."""
        ...

    @property
    def log(self) -> ObjectLog:
        """The `dotdo.workflows` logger as this object logs through it: each line names the
        object (`[acme]`), as a multi-tenant log needs (`core/logs.py`)."""
        ...

    def handler(self, name: str) -> Callable[..., Any] | None:
        """The object's method called `name`, or None: handlers, schedules and workflows
        are persisted by name and found again this way after eviction."""
        ...


class BusHost(Host, Protocol):
    """What the event bus needs besides: the layer below to record an event, and the
    object's sockets to push a delivered one to."""

    def record_event(self, event_type: str, data: Any, subject: str | None, object_id: str | None) -> str:
        """Record the event in the event log; its id."""
        ...

    def find_event(self, event_id: str) -> Event | None:
        """An event from the event log by id (wherever the layer below keeps it), or None."""
        ...

    def publish(self, event: Event) -> None:
        """Push a delivered event to the object's sockets."""
        ...

    def publishes(self) -> bool:
        """Whether `publish` could reach anyone now (a socket is open): when not, an event
        no handler listens to is not queued for delivery at all."""
        ...

    def request_path(self, path: str) -> str | None:
        """Where a client sends a request for the object's `path`, as a log line tells a
        reader to (a dead letter's replay): `/@acme/events/...` in development, the path on
        the tenant's host when deployed; None for an object no request reaches (a thing's
        object, one never reached by name)."""
        ...
