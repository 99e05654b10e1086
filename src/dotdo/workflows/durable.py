"""DOWorkflow: the workflow context on DOSemantic.

    class Shop(DOWorkflow):
        @on.Customer.created                      # durable: found by name after a restart
        async def welcome(self, event: Event) -> None: ...

        @every.Monday.at9am                      # durable schedule, fires for real
        async def weekly_report(self) -> None: ...

        @workflow                                 # replayed from the top on resume
        async def onboard(self, customer_id: str) -> str:
            profile = await self.do(self.load_profile, customer_id, step_id="profile",
                                    retries={"limit": 3, "delay": 2, "backoff": 2})
            await self.Customer(customer_id).notify("welcome")   # Workers RPC to that object
            return profile["name"]

The object's one alarm is multiplexed across schedules, delivery retries,
delayed sends and workflow resumptions: after every change the alarm is set to
the earliest of them. Events wait in one first-in-first-out queue (`delivery.Outbox`),
delivered one at a time with each handler under `handler_timeout`.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from dotdo.core.durable import AlarmInfo
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.migrations import Migration
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.core.websocket import Connection
from dotdo.errors import BadRequest, Conflict, NotFound
from dotdo.remote.marks import LocalMethod, rpc, seal_rpc_surface
from dotdo.semantic.accessors import NounFactory
from dotdo.semantic.durable import DOSemantic
from dotdo.semantic.eventtypes import Event, pattern_matches, validate_event_type, validate_pattern
from dotdo.semantic.ids import new_id
from dotdo.semantic.names import validate_type_name
from dotdo.values import stored_json
from dotdo.wire.codec import dump, encode
from dotdo.wire.pipeline import Authorize
from dotdo.wire.wsrpc import MAX_SUBSCRIPTIONS
from dotdo.wire.wsrpc import SOCKET_TAG as WS_RPC_TAG
from dotdo.workflows.cron import parse_cron, resolve_zone
from dotdo.workflows.delivery import (
    DEFAULT_HANDLER_TIMEOUT,
    HandlerTimeout,
    Outbox,
    validate_handler_timeout,
)
from dotdo.workflows.every import SCHEDULES_MARK, Every, ScheduleSpec
from dotdo.workflows.handlers import HANDLERS_MARK, On, check_handler_nouns
from dotdo.workflows.steps import (
    CURRENT_RUN,
    WORKFLOW_MARK,
    Attempt,
    RetryPolicy,
    RunContext,
    ScheduleInfo,
    StepFailed,
    StepMismatch,
    Suspend,
    check_step,
    step_name,
)
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from dotdo.workflows.timing import due_time

__all__ = ["DOWorkflow"]

logger = logging.getLogger("dotdo.workflows")

RUN_LEASE_MS = 60_000
"""A running workflow or an undelivered event is picked up again by the alarm after this long
(covers the object being evicted or the runtime dying mid-way)."""
DUE_BATCH = 100
_FAULT_KEY = "_dotdo:fault"
_UNKNOWN = object()
logger = logging.getLogger("dotdo.workflows")
_CHECKED_PATTERNS: set[tuple[type, str]] = set()
"""Run-time handler patterns whose noun was checked already (see `check_handler_nouns`)."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _schedule_id(source: str, handler: str, spec: ScheduleSpec) -> str:
    """Stable and URL-safe: one id per (source, handler, cron, time zone)."""
    digest = hashlib.sha256(f"{spec.cron}|{spec.tz or 'UTC'}".encode()).hexdigest()[:12]
    return f"{source}-{handler}-{digest}"


def _encode(value: Any, what: str) -> str:
    return stored_json(value, what=what, code="invalid_data")


def _function(value: Any) -> Any:
    return value.__func__ if isinstance(value, LocalMethod) else value


def _takes_argument(method: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)


async def _call(method: Callable[..., Any], *args: Any) -> Any:
    result = method(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


class DOWorkflow(DOSemantic):
    """DOSemantic plus events with handlers, schedules, durable steps and cross-object calls."""

    delivery_retry_limit: ClassVar[int] = 5
    """Attempts of a durable handler before its delivery becomes a dead letter."""
    delivery_retry_delay_ms: ClassVar[int] = 1000
    """Wait before the first retry; doubled each time after."""
    handler_timeout: ClassVar[float] = DEFAULT_HANDLER_TIMEOUT
    """Seconds an event handler (durable or run-time) or a schedule's handler may run; after
    that it is cancelled and abandoned, and a durable delivery counts as failed. Above 0 and
    at most 60 (the delivery lease); checked when the class is created."""
    stub_binding: ClassVar[str] = "DOTDO"
    """The Durable Object namespace that `self.Customer("id").method()` calls into, by name "Customer/id"."""
    event_socket_tag: ClassVar[str] = "events"
    """Sockets opened with this tag (`/ws?tags=events`) receive every event."""

    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("on", "every"))
    _event_handlers: ClassVar[dict[str, tuple[str, ...]]] = {}
    _schedule_methods: ClassVar[tuple[tuple[str, ScheduleSpec], ...]] = ()
    _workflow_methods: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        validate_handler_timeout(cls.handler_timeout, cls.__name__)
        handlers: dict[str, list[str]] = {}
        schedules: list[tuple[str, ScheduleSpec]] = []
        workflows: set[str] = set()
        seen: set[str] = set()
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if name in seen:
                    continue
                seen.add(name)
                function = _function(value)
                for pattern in getattr(function, HANDLERS_MARK, ()):
                    handlers.setdefault(pattern, []).append(name)
                for spec in getattr(function, SCHEDULES_MARK, ()):
                    schedules.append((name, spec))
                if getattr(function, WORKFLOW_MARK, False):
                    workflows.add(name)
        cls._event_handlers = {pattern: tuple(sorted(names)) for pattern, names in handlers.items()}
        cls._schedule_methods = tuple(sorted(schedules, key=lambda item: (item[0], item[1].cron)))
        cls._workflow_methods = frozenset(workflows)
        # Schedules and workflows are found by method name and name no noun; handlers do.
        check_handler_nouns(cls.__qualname__, cls._event_handlers, cls.declared_nouns)

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.on = On(self._subscribe)
        self.every = Every(self._schedule)
        self._runtime_handlers: list[tuple[str, Callable[..., Any]]] = []
        self._outbox: Outbox[tuple[Event, list[tuple[str, str]]]] = Outbox(self._deliver, self._rearm)
        self._in_hand: set[str] = set()  # deliveries queued or running here: not the alarm's to retry
        self._active_runs: set[str] = set()
        self._armed: object = _UNKNOWN
        self._clock_skew = 0  # run_due(now) runs as if the clock said `now`
        self._timers_changed = False
        self._sync_class_schedules(_now_ms())
        # One query and one alarm write per wake: a write committed just before the object
        # died (a delivery or a run lease) may never have reached the alarm; this catches it.
        self._rearm()

    def _now(self) -> int:
        return _now_ms() + self._clock_skew

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[tuple[str, Any]]:
        workflow_migrations: tuple[Migration, ...] = WORKFLOW_MIGRATIONS
        return [*super().migrations(), ("workflow", workflow_migrations)]

    def noun_factory(self, type_name: str) -> NounFactory:
        return NounFactory(self.things, self.relationships, validate_type_name(type_name), self.stub)

    def routes(self, router: Router) -> None:
        super().routes(router)
        router.post("/events", scope="write")(self._http_send)
        router.get("/events/dead", scope="read")(self._http_dead_letters)
        router.post("/events/dead/:id/replay", scope="admin")(self._http_replay)
        router.get("/schedules", scope="read")(self._http_schedules)
        router.delete("/schedules/:id", scope="admin")(self._http_remove_schedule)
        router.post("/workflows/:name", scope="write")(self._http_start_workflow)
        router.get("/workflows/:id", scope="read")(self._http_workflow_status)
        if getattr(self.env, "DOTDO_TEST", None) == "1":
            router.post("/_test/alarm", scope="admin")(self._http_test_alarm)
            router.post("/_test/fault", scope="admin")(self._http_test_fault)

    async def on_alarm(self, info: AlarmInfo) -> None:
        await self.run_due(_now_ms())
        await super().on_alarm(info)

    async def fetch(self, request: Any) -> Any:
        # The handlers of the request's events (and of the events they raise) run before the
        # response goes out, unless a delivery was in progress when the request arrived (it
        # may be waiting on this very request): then they run right after, in order.
        with self._outbox.caller() as scope:
            response = await super().fetch(request)
            await self._outbox.settle(scope)
        return response

    # -- events --------------------------------------------------------------

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        """Record the event and queue its delivery: durable handlers get a delivery row in
        the same transaction (so a crash before delivery is retried), then it is delivered
        after every event queued before it, by the object's one drain task."""
        event_id = super().emit(event_type, data, subject, object)
        event = Event(event_id, event_type, data, self._now(), subject, object)
        durable: list[tuple[str, str]] = []
        for handler in self._durable_handlers_for(event_type):
            delivery_id = new_id()
            self.sql.run(
                "INSERT INTO deliveries (id, event_id, handler, status, attempts, next_at, created_at) "
                "VALUES (?, ?, ?, 'pending', 0, ?, ?)",
                delivery_id,
                event_id,
                handler,
                event.timestamp + RUN_LEASE_MS,
                event.timestamp,
            )
            durable.append((delivery_id, handler))
            self._timers_changed = True
        delivery_ids = {delivery_id for delivery_id, _ in durable}
        self._in_hand.update(delivery_ids)
        entry = self._outbox.put((event, durable))

        def forget() -> None:
            if self._outbox.discard(entry):
                self._in_hand.difference_update(delivery_ids)

        self.sql.on_rollback(forget)  # a rolled-back write raised no event
        return event_id

    @rpc
    async def send_event(
        self,
        event_type: str,
        data: Any = None,
        subject: str | None = None,
        object: str | None = None,
        delay: float | timedelta | None = None,
        at: datetime | int | None = None,
    ) -> str:
        """Persist an event, deliver it to every matching handler, and return its id.

        Returns once the event, and the events its handlers send in turn, are delivered;
        at once (the event queued) when called from inside a delivery (a handler, or a
        workflow or task it started) or from a call that arrived while one was in progress,
        since that delivery may be waiting on the caller. With `delay` (seconds, or a
        `timedelta` from Python) or `at` (an aware `datetime`, `{"$date": ms}` on the wire,
        or epoch ms) the event is stored and sent by the alarm then; the id returned is the
        scheduled send's. The same method serves RPC callers.
        """
        validate_event_type(event_type)
        encoded = _encode(data, "data")
        now = self._now()
        due = due_time(delay, at, now)
        if due is not None:
            send_id = new_id()
            self.sql.run(
                "INSERT INTO scheduled_sends (id, type, data, subject, object, due_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                send_id,
                event_type,
                encoded,
                subject,
                object,
                due,
            )
            self._timers_changed = True
            self._rearm()
            return send_id
        with self._outbox.caller() as scope:
            event_id = self.sql.transaction(lambda: self.emit(event_type, data, subject, object))
            await self._outbox.settle(scope)
        return event_id

    def _durable_handlers_for(self, event_type: str) -> list[str]:
        names: list[str] = []
        for pattern, handlers in self._event_handlers.items():
            if pattern_matches(pattern, event_type):
                names.extend(h for h in handlers if h not in names)
        return names

    def _subscribe(self, pattern: str, handler: Callable[..., Any]) -> Callable[[], None]:
        if (type(self), pattern) not in _CHECKED_PATTERNS:  # logged once per class and pattern
            _CHECKED_PATTERNS.add((type(self), pattern))
            name = getattr(handler, "__name__", "(run-time)")
            check_handler_nouns(type(self).__qualname__, {pattern: [name]}, self.nouns.all())
        entry = (pattern, handler)
        self._runtime_handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._runtime_handlers:
                self._runtime_handlers.remove(entry)

        return unsubscribe

    async def _deliver(self, item: tuple[Event, builtins.list[tuple[str, str]]]) -> None:
        """One event from the outbox to its durable handlers, run-time handlers and sockets."""
        event, durable = item
        try:
            for delivery_id, handler in durable:
                error = await self._invoke_handler(handler, event)
                if error is None:
                    self.sql.run("DELETE FROM deliveries WHERE id = ?", delivery_id)
                else:
                    self._delivery_failed(delivery_id, 1, error, handler, event)
        finally:
            self._in_hand.difference_update(delivery_id for delivery_id, _ in durable)
        for pattern, runtime_handler in builtins.list(self._runtime_handlers):
            if pattern_matches(pattern, event.type):
                name = getattr(runtime_handler, "__qualname__", repr(runtime_handler))
                try:
                    await self._outbox.run_handler(runtime_handler, event, timeout=self.handler_timeout)
                except HandlerTimeout as timeout:
                    logger.error(
                        "run-time handler %s (%s) %s on %s %s; it was cancelled",
                        name,
                        pattern,
                        timeout,
                        event.type,
                        event.id,
                    )
                except Exception:
                    logger.exception(
                        "run-time handler %s (%s) failed on %s %s", name, pattern, event.type, event.id
                    )
        try:
            wire = encode(event.to_dict())  # once, in the codec's one encoding, for every socket
        except TypeError as error:  # only data the application emitted past the wire's depth limit
            logger.warning("event %s not pushed to sockets: %s", event.id, error)
            return
        self.broadcast(dump({"type": "event", "event": wire}), tag=self.event_socket_tag)
        self._push_to_subscribers(event.type, dump({"method": "event", "params": wire}))

    def _push_to_subscribers(self, event_type: str, message: str) -> None:
        """RPC sockets (`/ws/rpc`) that subscribed to a pattern matching `event_type` get
        `message`, the event's push already written as JSON text."""
        for connection in self.websockets.connections(WS_RPC_TAG):
            patterns = connection.data.get("subs") or []
            if any(pattern_matches(pattern, event_type) for pattern in patterns):
                connection.send(message)

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """`subscribe` / `unsubscribe` with event patterns (kept in the socket's attachment,
        so they survive hibernation); anything else is an RPC method."""
        if method_name not in ("subscribe", "unsubscribe"):
            return await super().rpc_socket_call(connection, method_name, params, authorize)
        authorize(method_name, "read")
        pattern = params[0] if isinstance(params, list) and len(params) == 1 else params
        if isinstance(params, dict):
            pattern = params.get("pattern")
        pattern = validate_pattern(pattern)
        subscriptions: list[str] = list(connection.data.get("subs") or [])
        if method_name == "subscribe":
            if pattern not in subscriptions:
                if len(subscriptions) >= MAX_SUBSCRIPTIONS:
                    raise BadRequest(
                        f"a socket holds at most {MAX_SUBSCRIPTIONS} subscriptions",
                        code="too_many_subscriptions",
                    )
                subscriptions.append(pattern)
        elif pattern in subscriptions:
            subscriptions.remove(pattern)
        connection.data["subs"] = subscriptions
        connection.save()
        return {"subscriptions": subscriptions}

    async def _invoke_handler(self, name: str, event: Event) -> str | None:
        """Run a durable handler under `handler_timeout`; its error as text, or None when it
        succeeded."""
        method = getattr(self, name, None)
        if not callable(method):
            logger.error("no handler method %r for %s %s", name, event.type, event.id)
            return f"no handler method {name!r}"
        try:
            await self._outbox.run_handler(method, event, timeout=self.handler_timeout)
        except HandlerTimeout as timeout:
            logger.error(
                "handler %s %s on %s %s; it was cancelled and the delivery counts as failed",
                name,
                timeout,
                event.type,
                event.id,
            )
            return str(timeout)
        except Exception as error:
            logger.exception("handler %s failed on %s %s", name, event.type, event.id)
            return f"{type(error).__name__}: {error}"
        return None

    def _delivery_failed(
        self, delivery_id: str, attempts: int, error: str, handler: str, event: Event
    ) -> None:
        if attempts >= self.delivery_retry_limit:
            logger.error(
                "delivery %s of %s %s to handler %s is a dead letter after %d attempts (last: %s)",
                delivery_id,
                event.type,
                event.id,
                handler,
                attempts,
                error,
            )
            self.sql.run(
                "UPDATE deliveries SET status = 'dead', attempts = ?, next_at = NULL, last_error = ? "
                "WHERE id = ?",
                attempts,
                error,
                delivery_id,
            )
        else:
            wait = self.delivery_retry_delay_ms * 2 ** (attempts - 1)
            self.sql.run(
                "UPDATE deliveries SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?",
                attempts,
                self._now() + wait,
                error,
                delivery_id,
            )
        self._timers_changed = True

    def _load_event(self, event_id: str) -> Event | None:
        row = self.sql.first(
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

    async def _retry_delivery(self, row: Mapping[str, Any]) -> None:
        event = self._load_event(str(row["event_id"]))
        delivery_id = str(row["id"])
        if event is None:
            self.sql.run("DELETE FROM deliveries WHERE id = ?", delivery_id)
            return
        self._in_hand.add(delivery_id)
        try:
            handler = str(row["handler"])
            error = await self._invoke_handler(handler, event)
            if error is None:
                self.sql.run("DELETE FROM deliveries WHERE id = ?", delivery_id)
            else:
                self._delivery_failed(delivery_id, int(row["attempts"]) + 1, error, handler, event)
        finally:
            self._in_hand.discard(delivery_id)

    @rpc(scope="read")
    def dead_letters(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Deliveries that used up their attempts, oldest first: `{"id", "event_id",
        "handler", "attempts", "last_error", "created_at", "type"}` (`limit` 1-1000)."""
        rows = self.sql.exec(
            "SELECT d.id, d.event_id, d.handler, d.attempts, d.last_error, d.created_at, e.type "
            "FROM deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE d.status = 'dead' "
            "ORDER BY d.id LIMIT ?",
            max(1, min(limit, 1000)),
        )
        return [dict(row) for row in rows]

    @rpc(scope="admin")
    async def replay_dead_letter(self, delivery_id: str) -> dict[str, Any]:
        """Deliver a dead letter again now; on failure it goes back to the retry cycle.
        Admin: it runs a handler again outside the normal flow of events."""
        row = self.sql.first("SELECT * FROM deliveries WHERE id = ? AND status = 'dead'", delivery_id)
        if row is None:
            raise NotFound(f"No dead letter {delivery_id!r}", code="dead_letter_not_found")
        self.sql.run("UPDATE deliveries SET status = 'pending', attempts = 0 WHERE id = ?", delivery_id)
        with self._outbox.caller() as scope:
            await self._retry_delivery({**row, "attempts": 0})
            await self._outbox.settle(scope)  # what the handler sent is delivered too
        self._rearm()
        remaining = self.sql.first(
            "SELECT status, attempts, last_error FROM deliveries WHERE id = ?", delivery_id
        )
        return {"id": delivery_id, "delivered": remaining is None, **(dict(remaining) if remaining else {})}

    # -- schedules -----------------------------------------------------------

    def _schedule(self, spec: ScheduleSpec, handler: Any) -> str:
        name = handler if isinstance(handler, str) else getattr(handler, "__name__", None)
        bound_to_self = getattr(handler, "__self__", None) is self
        if not isinstance(name, str) or not (isinstance(handler, str) or bound_to_self):
            raise TypeError(
                "schedules are persisted by name: pass a method of this object (self.report) or its name"
            )
        if not callable(getattr(self, name, None)):
            raise TypeError(f"{type(self).__name__} has no method {name!r}")
        return self._upsert_schedule(_schedule_id("runtime", name, spec), spec, name, "runtime", self._now())

    def _upsert_schedule(
        self, schedule_id: str, spec: ScheduleSpec, handler: str, source: str, now: int
    ) -> str:
        next_at = parse_cron(spec.cron).next_after(now, resolve_zone(spec.tz))
        self.sql.run(
            "INSERT INTO schedules (id, cron, tz, handler, source, next_at, registered_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            schedule_id,
            spec.cron,
            spec.tz,
            handler,
            source,
            next_at,
            now,
        )
        self._timers_changed = True
        self._rearm()
        return schedule_id

    def _sync_class_schedules(self, now: int) -> None:
        wanted = {
            f"class:{name}:{spec.cron}:{spec.tz or 'UTC'}": (name, spec)
            for name, spec in self._schedule_methods
        }
        stored = {str(r["id"]) for r in self.sql.exec("SELECT id FROM schedules WHERE source = 'class'")}
        for schedule_id in stored - set(wanted):
            self.sql.run("DELETE FROM schedules WHERE id = ?", schedule_id)
            self._timers_changed = True
        for schedule_id in set(wanted) - stored:
            name, spec = wanted[schedule_id]
            self._upsert_schedule(schedule_id, spec, name, "class", now)

    @rpc(scope="read")
    def list_schedules(self) -> builtins.list[dict[str, Any]]:
        rows = self.sql.exec(
            "SELECT id, cron, tz, handler, source, next_at, last_fired_at, registered_at "
            "FROM schedules ORDER BY id"
        )
        return [dict(row) for row in rows]

    @rpc(scope="admin")
    def remove_schedule(self, schedule_id: str) -> bool:
        """Remove a schedule. A class-declared one comes back on the next start unless its
        decorator is removed too."""
        removed = self.sql.run("DELETE FROM schedules WHERE id = ?", schedule_id) > 0
        if removed:
            self._timers_changed = True
            self._rearm()
        return removed

    async def _fire_schedule(self, row: Mapping[str, Any], now: int) -> None:
        cron, tz = str(row["cron"]), row["tz"]
        # Fire times missed while the object was away collapse into this one firing;
        # the next is computed from now, so a long absence never causes a burst.
        next_at = parse_cron(cron).next_after(now, resolve_zone(tz))
        self.sql.run(
            "UPDATE schedules SET next_at = ?, last_fired_at = ? WHERE id = ?", next_at, now, row["id"]
        )
        self._timers_changed = True
        method = getattr(self, str(row["handler"]), None)
        if not callable(method):
            logger.error("schedule %s names no method %r; skipped", row["id"], row["handler"])
            return
        info = ScheduleInfo(str(row["id"]), cron, tz, int(row["next_at"]), now)
        try:
            arguments = (info,) if _takes_argument(method) else ()
            await self._outbox.run_handler(method, *arguments, timeout=self.handler_timeout)
        except HandlerTimeout as timeout:
            logger.error("schedule %s (handler %s) %s; it was cancelled", row["id"], row["handler"], timeout)
        except Exception:
            logger.exception("schedule %s (handler %s) failed", row["id"], row["handler"])

    # -- the alarm -------------------------------------------------------------

    def _next_wake(self) -> int | None:
        row = self.sql.first(
            "SELECT min(t) AS t FROM ("
            " SELECT min(next_at) AS t FROM schedules"
            " UNION ALL SELECT min(next_at) FROM deliveries WHERE status = 'pending'"
            " UNION ALL SELECT min(due_at) FROM scheduled_sends"
            " UNION ALL SELECT min(next_at) FROM workflow_runs WHERE status IN ('running', 'waiting'))"
        )
        value = row["t"] if row else None
        return None if value is None else int(value)

    def _rearm(self) -> None:
        """Point the one alarm at the earliest timer, when the timers may have changed."""
        if not self._timers_changed and self._armed is not _UNKNOWN:
            return
        wake = self._next_wake()
        if wake != self._armed:
            self.alarms.arm(wake)
            self._armed = wake
        self._timers_changed = False

    async def run_due(self, now: int) -> dict[str, int]:
        """Do everything due at `now`: delayed sends, delivery retries, schedules, workflow runs.

        Everything done here sees `now` as the current time (the tests pass a future one).
        Returns once what it delivered, and what the handlers it ran sent, is delivered too
        (unless it arrived while a delivery was in progress)."""
        self._armed = _UNKNOWN  # the alarm that woke us is spent
        self._clock_skew = now - _now_ms()
        try:
            with self._outbox.caller() as scope:
                done = await self._run_due(now)
                await self._outbox.settle(scope)
            return done
        finally:
            self._clock_skew = 0
            self._timers_changed = True
            self._rearm()

    async def _run_due(self, now: int) -> dict[str, int]:
        done = {"sends": 0, "deliveries": 0, "schedules": 0, "workflows": 0}
        for row in self.sql.exec(
            "SELECT id, type, data, subject, object FROM scheduled_sends WHERE due_at <= ? "
            "ORDER BY due_at LIMIT ?",
            now,
            DUE_BATCH,
        ):
            self.sql.run("DELETE FROM scheduled_sends WHERE id = ?", row["id"])
            self._timers_changed = True
            data = json.loads(str(row["data"]))
            await self.send_event(str(row["type"]), data, row["subject"], row["object"])
            done["sends"] += 1
        for row in self.sql.exec(
            "SELECT id, event_id, handler, attempts FROM deliveries "
            "WHERE status = 'pending' AND next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            now,
            DUE_BATCH,
        ):
            if str(row["id"]) in self._in_hand:
                # Queued behind a slow handler, or running now: not lost. Its lease moves on,
                # so the alarm does not wake for it again and again meanwhile.
                self.sql.run("UPDATE deliveries SET next_at = ? WHERE id = ?", now + RUN_LEASE_MS, row["id"])
                self._timers_changed = True
                continue
            await self._retry_delivery(row)
            done["deliveries"] += 1
        for row in self.sql.exec(
            "SELECT id, cron, tz, handler, next_at FROM schedules WHERE next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            now,
            DUE_BATCH,
        ):
            await self._fire_schedule(row, now)
            done["schedules"] += 1
        for row in self.sql.exec(
            "SELECT id FROM workflow_runs WHERE status IN ('running', 'waiting') AND next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            now,
            DUE_BATCH,
        ):
            if str(row["id"]) not in self._active_runs:
                await self._run_workflow(str(row["id"]), now)
                done["workflows"] += 1
        return done

    # -- durable execution -------------------------------------------------------

    @rpc
    async def start_workflow(self, name: str, input: Any = None, run_id: str | None = None) -> dict[str, Any]:
        """Start the `@workflow` method `name` with `input`; runs now until it finishes or waits.

        A `run_id` makes starting idempotent: an existing run is returned as it is; one of
        another workflow is a 409 `workflow_conflict`."""
        if name not in self._workflow_methods:
            raise NotFound(f"No workflow {name!r}", code="workflow_not_found")
        run_id = run_id or new_id()
        now = self._now()
        created = self.sql.run(
            "INSERT INTO workflow_runs (id, name, input, status, next_at, created_at, updated_at) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            run_id,
            name,
            _encode(input, "input"),
            now + RUN_LEASE_MS,
            now,
            now,
        )
        if created:
            self._timers_changed = True
            await self._run_workflow(run_id, now)
        else:
            existing = self.sql.first("SELECT name FROM workflow_runs WHERE id = ?", run_id)
            if existing is not None and existing["name"] != name:
                raise Conflict(
                    f"Run {run_id!r} is a run of {existing['name']!r}, not {name!r}",
                    code="workflow_conflict",
                )
        return self.workflow_status(run_id)

    @rpc(scope="read")
    def workflow_status(self, run_id: str) -> dict[str, Any]:
        """A run: `{"id", "name", "status", "result", "error", "next_at", "created_at",
        "updated_at"}`; 404 `workflow_run_not_found`."""
        row = self.sql.first(
            "SELECT id, name, status, result, error, next_at, created_at, updated_at "
            "FROM workflow_runs WHERE id = ?",
            run_id,
        )
        if row is None:
            raise NotFound(f"No workflow run {run_id!r}", code="workflow_run_not_found")
        status = dict(row)
        status["result"] = None if row["result"] is None else json.loads(str(row["result"]))
        return status

    async def _run_workflow(self, run_id: str, now: int) -> None:
        row = self.sql.first("SELECT name, input, status FROM workflow_runs WHERE id = ?", run_id)
        if row is None or row["status"] not in ("running", "waiting"):
            return
        method = getattr(self, str(row["name"]), None)
        self.sql.run(
            "UPDATE workflow_runs SET status = 'running', next_at = ?, updated_at = ? WHERE id = ?",
            now + RUN_LEASE_MS,
            now,
            run_id,
        )
        self._timers_changed = True
        self._active_runs.add(run_id)
        run = RunContext(run_id)
        token = CURRENT_RUN.set(run)
        try:
            if not callable(method):
                raise NotFound(f"No workflow method {row['name']!r}", code="workflow_not_found")
            result = await method(json.loads(str(row["input"])))
            if run.mismatch is not None:
                raise run.mismatch  # caught by the workflow's own code: the run fails all the same
        except Suspend as suspend:
            if run.mismatch is not None:
                self._finish_run(run_id, "failed", error=str(run.mismatch))
            else:
                self._finish_run(run_id, "waiting", next_at=suspend.resume_at)
        except Exception as error:
            # a failed step was logged with its traceback when it failed; a mismatch's message says it all
            step_error = isinstance(error, (StepFailed, StepMismatch))
            logger.error("workflow %s %s failed: %s", row["name"], run_id, error, exc_info=not step_error)
            message = f"{type(error).__name__}: {error}" if run.mismatch is None else str(run.mismatch)
            self._finish_run(run_id, "failed", error=message)
        else:
            try:
                self._finish_run(run_id, "completed", result=_encode(result, "a workflow's result"))
            except BadRequest as error:
                self._finish_run(run_id, "failed", error=str(error))
        finally:
            CURRENT_RUN.reset(token)
            self._active_runs.discard(run_id)
            self._rearm()

    def _finish_run(
        self,
        run_id: str,
        status: str,
        next_at: int | None = None,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        self.sql.run(
            "UPDATE workflow_runs SET status = ?, next_at = ?, result = ?, error = ?, updated_at = ? "
            "WHERE id = ?",
            status,
            next_at,
            result,
            error,
            self._now(),
            run_id,
        )
        self._timers_changed = True

    async def do(
        self,
        action: Callable[..., Any],
        *args: Any,
        step_id: str | None = None,
        retries: RetryPolicy | Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Run `action(*args)` once, durably: its result is recorded under `step_id` and a
        completed step is never run again (its recorded result is returned).

        The step also records which action it ran (`step_name`); met again under the same
        id with another action, it raises StepMismatch instead of returning the other
        step's result, and a run that meets one fails.

        Inside a `@workflow` run, a failure with retries left suspends the run and the
        alarm replays it after the back-off; the step id defaults to the step's position.
        Outside a run, `step_id` is required and there are no retries (nothing could
        resume the caller): a failure is raised and not recorded.
        """
        policy = RetryPolicy.of(retries)
        name = step_name(action)
        run = CURRENT_RUN.get()
        if run is None:
            if step_id is None:
                raise ValueError("outside a workflow run, do() needs a step_id")
            if policy.limit:
                raise ValueError("retries need a workflow run (nothing else can be resumed by the alarm)")
            key = local = step_id
        else:
            if run.mismatch is not None:
                raise run.mismatch  # the run replays other code than it recorded: no further step
            local = step_id or run.next_step_id()
            if local in run.steps_seen:
                raise ValueError(f"step id {local!r} is used twice in one run")
            run.steps_seen.add(local)
            key = f"{run.run_id}/{local}"
        row = self.sql.first(
            "SELECT status, result, error, attempts, next_at, name FROM action_log WHERE step_id = ?", key
        )
        if row is not None:
            try:
                check_step(local, row["name"], name)
            except StepMismatch as mismatch:
                if run is not None:
                    run.mismatch = mismatch
                raise
        if row is not None and row["status"] == "completed":
            return None if row["result"] is None else json.loads(str(row["result"]))
        if row is not None and row["status"] == "failed":
            raise StepFailed(key, str(row["error"]))
        attempts = int(row["attempts"]) if row is not None else 0
        if (
            run is not None
            and row is not None
            and row["next_at"] is not None
            and int(row["next_at"]) > self._now()
        ):
            raise Suspend(int(row["next_at"]))  # woken early (another timer): keep waiting
        try:
            value = _call(action, *args)
            result = await (asyncio.wait_for(value, timeout) if timeout else value)
            encoded = None if result is None else _encode(result, f"step {key!r}'s result")
        except (Suspend, StepFailed, StepMismatch):
            raise
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            if isinstance(error, TimeoutError):
                message = f"timed out after {timeout} s"
            return self._step_failed(key, name, run, attempts + 1, policy, message, error)
        await self._fault_point("after_step", key)
        self.sql.run(
            "INSERT INTO action_log (step_id, status, result, attempts, run_id, updated_at, name) "
            "VALUES (?, 'completed', ?, ?, ?, ?, ?) ON CONFLICT(step_id) DO UPDATE SET status = 'completed', "
            "result = excluded.result, error = NULL, attempts = excluded.attempts, next_at = NULL, "
            "updated_at = excluded.updated_at, name = excluded.name",
            key,
            encoded,
            attempts + 1,
            None if run is None else run.run_id,
            self._now(),
            name,
        )
        return result

    def _step_failed(
        self,
        key: str,
        name: str,
        run: RunContext | None,
        attempts: int,
        policy: RetryPolicy,
        message: str,
        error: Exception,
    ) -> Any:
        if run is None:
            raise error
        retry = attempts <= policy.limit
        next_at = self._now() + policy.wait_ms(attempts) if retry else None
        self.sql.run(
            "INSERT INTO action_log (step_id, status, error, attempts, next_at, run_id, updated_at, name) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(step_id) DO UPDATE SET status = excluded.status, "
            "error = excluded.error, attempts = excluded.attempts, next_at = excluded.next_at, "
            "updated_at = excluded.updated_at, name = excluded.name",
            key,
            "pending" if retry else "failed",
            message,
            attempts,
            next_at,
            run.run_id,
            self._now(),
            name,
        )
        if next_at is not None:
            logger.warning(
                "step %s failed (attempt %d), retried at %d", key, attempts, next_at, exc_info=error
            )
            raise Suspend(next_at)
        logger.error("step %s failed for good (attempt %d)", key, attempts, exc_info=error)
        raise StepFailed(key, message) from error

    async def try_(self, action: Callable[..., Any], *args: Any) -> Attempt:
        """One attempt of `action(*args)`, nothing recorded: its failure is returned, never raised."""
        try:
            return Attempt(True, await _call(action, *args))
        except Exception as error:
            return Attempt(False, error=error)

    async def _fault_point(self, name: str, detail: str) -> None:
        """A named place where the tests can stop the runtime (only when DOTDO_TEST is set):
        the configured fault hangs the call, once, so the runtime can be killed right there."""
        if getattr(self.env, "DOTDO_TEST", None) != "1":
            return
        if self.state.get(_FAULT_KEY) == f"{name}:{detail}":
            self.state.delete(_FAULT_KEY)
            logger.warning("fault point %s:%s reached; hanging until the runtime is stopped", name, detail)
            await asyncio.sleep(3600)

    # -- cross-object stubs ------------------------------------------------------

    def stub(self, type_name: str, thing_id: str) -> Any:
        """The Workers RPC stub of the object that owns `type_name`/`thing_id`: in the
        `stub_binding` namespace, by the name "Type/id"."""
        namespace = getattr(self.env, self.stub_binding)
        return namespace.get(namespace.idFromName(f"{validate_type_name(type_name)}/{thing_id}"))

    # -- HTTP --------------------------------------------------------------------

    async def _http_send(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict) or "type" not in body:
            raise BadRequest(
                'Body is {"type": "Noun.verb", "data": ..., "delay": seconds}', code="invalid_event"
            )
        delay = body.get("delay")
        event_id = await self.send_event(
            body["type"],
            body.get("data"),
            body.get("subject"),
            body.get("object"),
            delay=delay,
            at=body.get("at"),
        )
        return json_response(
            {"id": event_id, "scheduled": delay is not None or body.get("at") is not None}, status=201
        )

    async def _http_dead_letters(self, request: HttpRequest) -> HttpResponse:
        return json_response({"items": self.dead_letters()})

    async def _http_replay(self, request: HttpRequest) -> HttpResponse:
        return json_response(await self.replay_dead_letter(request.params["id"]))

    async def _http_schedules(self, request: HttpRequest) -> HttpResponse:
        return json_response({"items": self.list_schedules()})

    async def _http_remove_schedule(self, request: HttpRequest) -> HttpResponse:
        if not self.remove_schedule(request.params["id"]):
            raise NotFound(f"No schedule {request.params['id']!r}", code="schedule_not_found")
        return json_response({"id": request.params["id"], "removed": True})

    async def _http_start_workflow(self, request: HttpRequest) -> HttpResponse:
        body = request.json() if request.body.strip() else {}
        if not isinstance(body, dict):
            raise BadRequest('Body is {"input": ..., "id": optional run id}', code="invalid_workflow")
        status = await self.start_workflow(request.params["name"], body.get("input"), body.get("id"))
        return json_response(status, status=201)

    async def _http_workflow_status(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.workflow_status(request.params["id"]))

    async def _http_test_alarm(self, request: HttpRequest) -> HttpResponse:
        body = request.json() if request.body.strip() else {}
        now = body.get("now") if isinstance(body, dict) else None
        return json_response(await self.run_due(int(now) if now is not None else self._now()))

    async def _http_test_fault(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        point = body.get("point") if isinstance(body, dict) else None
        if not isinstance(point, str):
            raise BadRequest('Body is {"point": "after_step:<step key>"}', code="invalid_fault")
        self.state.set(_FAULT_KEY, point)
        return json_response({"point": point})


seal_rpc_surface(DOWorkflow)
