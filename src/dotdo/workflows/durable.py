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
the earliest of them.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import inspect
import json
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from dotdo.core.durable import AlarmInfo
from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.migrations import Migration
from dotdo.core.router import Router
from dotdo.core.rpc import LocalMethod, rpc, seal_rpc_surface
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.core.websocket import Connection
from dotdo.errors import BadRequest, NotFound, PayloadTooLarge
from dotdo.semantic.accessors import NounFactory
from dotdo.semantic.durable import DOSemantic
from dotdo.semantic.eventtypes import Event, pattern_matches, validate_event_type, validate_pattern
from dotdo.semantic.ids import new_id
from dotdo.semantic.names import validate_type_name
from dotdo.wire.codec import encode
from dotdo.wire.pipeline import Authorize
from dotdo.wire.wsrpc import MAX_SUBSCRIPTIONS
from dotdo.wire.wsrpc import SOCKET_TAG as WS_RPC_TAG
from dotdo.workflows.cron import parse_cron, resolve_zone
from dotdo.workflows.every import SCHEDULES_MARK, Every, ScheduleSpec
from dotdo.workflows.handlers import HANDLERS_MARK, On
from dotdo.workflows.steps import (
    CURRENT_RUN,
    WORKFLOW_MARK,
    Attempt,
    RetryPolicy,
    RunContext,
    ScheduleInfo,
    StepFailed,
    Suspend,
)
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from dotdo.workflows.timing import due_time

__all__ = ["DOWorkflow"]

RUN_LEASE_MS = 60_000
"""A running workflow or an undelivered event is picked up again by the alarm after this long
(covers the object being evicted or the runtime dying mid-way)."""
DUE_BATCH = 100
_FAULT_KEY = "_dotdo:fault"
_SUBSCRIPTIONS = "subscriptions"
"""The `socket_state` name under which an RPC socket's event patterns are kept."""
_UNKNOWN = object()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _schedule_id(source: str, handler: str, spec: ScheduleSpec) -> str:
    """Stable and URL-safe: one id per (source, handler, cron, time zone)."""
    digest = hashlib.sha256(f"{spec.cron}|{spec.tz or 'UTC'}".encode()).hexdigest()[:12]
    return f"{source}-{handler}-{digest}"


def _encode(value: Any, what: str, limit: int | None = None) -> str:
    """`value` as JSON; 400 `invalid_data` if it is not JSON, 413 `value_too_large` past
    `limit` bytes (given for what a caller sends; results an application makes are its own)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{what} is not JSON: {exc}", code="invalid_data") from exc
    if limit is not None and len(text.encode()) > limit:
        raise PayloadTooLarge(f"{what} is at most {limit} bytes as JSON", code="value_too_large")
    return text


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
    stub_binding: ClassVar[str] = "DOTDO"
    """The Durable Object namespace that `self.Customer("id").method()` calls into, by name "Customer/id"."""
    event_socket_tag: ClassVar[str] = "events"
    """Sockets opened with this tag (`/ws?tags=events`) receive every event."""

    _event_handlers: ClassVar[dict[str, tuple[str, ...]]] = {}
    _schedule_methods: ClassVar[tuple[tuple[str, ScheduleSpec], ...]] = ()
    _workflow_methods: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
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

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        self.on = On(self._subscribe)
        self.every = Every(self._schedule)
        self._runtime_handlers: list[tuple[str, Callable[..., Any]]] = []
        self._outbox: list[tuple[Event, list[tuple[str, str]]]] = []
        self._drain_lock = asyncio.Lock()
        self._drain_task: asyncio.Future[None] | None = None
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
        router.post("/events")(self._http_send)
        router.get("/events/dead")(self._http_dead_letters)
        router.post("/events/dead/:id/replay")(self._http_replay)
        router.get("/schedules")(self._http_schedules)
        router.delete("/schedules/:id")(self._http_remove_schedule)
        router.post("/workflows/:name")(self._http_start_workflow)
        router.get("/workflows/:id")(self._http_workflow_status)
        if getattr(self.env, "DOTDO_TEST", None) == "1":
            router.post("/_test/alarm")(self._http_test_alarm)
            router.post("/_test/fault")(self._http_test_fault)
        super().routes(router)

    async def on_alarm(self, info: AlarmInfo) -> None:
        await self.run_due(_now_ms())
        await super().on_alarm(info)

    async def fetch(self, request: Any) -> Any:
        response = await super().fetch(request)
        await self._drain()  # handlers of write events run before the response goes out
        return response

    # -- events --------------------------------------------------------------

    def emit(self, event_type: str, subject: str | None, data: Any, object_id: str | None = None) -> str:
        """Record the event and queue its delivery: durable handlers get a delivery row in
        the same transaction (so a crash before delivery is retried), then it is delivered
        once the current work is done."""
        event_id = super().emit(event_type, subject, data, object_id)
        event = Event(event_id, event_type, data, self._now(), subject, object_id)
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
        entry = (event, durable)
        self._outbox.append(entry)

        def forget() -> None:
            if entry in self._outbox:
                self._outbox.remove(entry)

        self.sql.on_rollback(forget)  # a rolled-back write raised no event
        # One drain at a time: a drain that has not finished picks this event up too (it
        # loops until the outbox is empty), so a batch of writes schedules one task, not one each.
        if self._drain_task is None or self._drain_task.done():
            try:
                self._drain_task = asyncio.ensure_future(self._drain())
            except RuntimeError:  # no running loop (plain Python use): fetch and send drain instead
                self._drain_task = None
        return event_id

    async def send(
        self,
        event_type: str,
        data: Any = None,
        subject: str | None = None,
        object: str | None = None,
        delay: float | timedelta | None = None,
        at: datetime | int | None = None,
    ) -> str:
        """Persist an event, deliver it to every matching handler, and return its id.

        With `delay` (seconds) or `at` the event is stored and sent by the alarm
        then; the id returned is the scheduled send's.
        """
        validate_event_type(event_type)
        encoded = _encode(data, "data", MAX_VALUE_BYTES)
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
        event_id = self.sql.transaction(lambda: self.emit(event_type, subject, data, object))
        await self._drain()
        return event_id

    def _durable_handlers_for(self, event_type: str) -> list[str]:
        names: list[str] = []
        for pattern, handlers in self._event_handlers.items():
            if pattern_matches(pattern, event_type):
                names.extend(h for h in handlers if h not in names)
        return names

    def _subscribe(self, pattern: str, handler: Callable[..., Any]) -> Callable[[], None]:
        entry = (pattern, handler)
        self._runtime_handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._runtime_handlers:
                self._runtime_handlers.remove(entry)

        return unsubscribe

    async def _drain(self) -> None:
        async with self._drain_lock:
            while self._outbox:
                event, durable = self._outbox.pop(0)
                await self._deliver(event, durable)
            self._rearm()

    async def _deliver(self, event: Event, durable: builtins.list[tuple[str, str]]) -> None:
        for delivery_id, handler in durable:
            error = await self._invoke_handler(handler, event)
            if error is None:
                self.sql.run("DELETE FROM deliveries WHERE id = ?", delivery_id)
            else:
                self._delivery_failed(delivery_id, 1, error)
        for pattern, runtime_handler in builtins.list(self._runtime_handlers):
            if pattern_matches(pattern, event.type):
                try:
                    await _call(runtime_handler, event)
                except Exception:
                    print(f"dotdo: run-time handler for {pattern} failed on {event.type} {event.id}")
                    traceback.print_exc()
        self.broadcast({"type": "event", "event": event.to_dict()}, tag=self.event_socket_tag)
        self._push_to_subscribers(event)

    def _push_to_subscribers(self, event: Event) -> None:
        """RPC sockets (`/ws/rpc`) that subscribed to a matching pattern get the event."""
        subscribed = self.socket_state.values(_SUBSCRIPTIONS)
        if not subscribed:
            return
        payload: dict[str, Any] | None = None
        for connection in self.websockets.connections(WS_RPC_TAG):
            patterns = subscribed.get(connection.id) or []
            if any(pattern_matches(pattern, event.type) for pattern in patterns):
                if payload is None:
                    try:
                        payload = {"method": "event", "params": encode(event.to_dict())}
                    except TypeError as error:  # only data nested past the wire's depth limit
                        print(f"dotdo: event {event.id} not pushed to subscribers: {error}")
                        return
                connection.send(payload)

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """`subscribe` / `unsubscribe` with event patterns (kept in `socket_state`, so they
        survive hibernation; 32 patterns of 129 characters would not fit the attachment);
        anything else is an RPC method. The new list is stored before it is answered, so
        what a socket is told it holds is what it holds after hibernation."""
        if method_name not in ("subscribe", "unsubscribe"):
            return await super().rpc_socket_call(connection, method_name, params, authorize)
        authorize(method_name, "read")
        pattern = params[0] if isinstance(params, list) and len(params) == 1 else params
        if isinstance(params, dict):
            pattern = params.get("pattern")
        pattern = validate_pattern(pattern)
        held = self.socket_state.get(connection.id, _SUBSCRIPTIONS)
        current: list[str] = list(held) if isinstance(held, list) else []
        if method_name == "subscribe":
            subscriptions = current if pattern in current else [*current, pattern]
            if len(subscriptions) > MAX_SUBSCRIPTIONS:
                raise BadRequest(
                    f"a socket holds at most {MAX_SUBSCRIPTIONS} subscriptions",
                    code="too_many_subscriptions",
                )
        else:
            subscriptions = [held_pattern for held_pattern in current if held_pattern != pattern]
        if subscriptions != current:
            self.socket_state.put(connection.id, _SUBSCRIPTIONS, subscriptions or None)
        return {"subscriptions": subscriptions}

    async def _invoke_handler(self, name: str, event: Event) -> str | None:
        """Run a durable handler; its error as text, or None when it succeeded."""
        method = getattr(self, name, None)
        if not callable(method):
            return f"no handler method {name!r}"
        try:
            await _call(method, event)
        except Exception as error:
            print(f"dotdo: handler {name} failed on {event.type} {event.id}: {error!r}")
            return f"{type(error).__name__}: {error}"
        return None

    def _delivery_failed(self, delivery_id: str, attempts: int, error: str) -> None:
        if attempts >= self.delivery_retry_limit:
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
        error = await self._invoke_handler(str(row["handler"]), event)
        if error is None:
            self.sql.run("DELETE FROM deliveries WHERE id = ?", delivery_id)
        else:
            self._delivery_failed(delivery_id, int(row["attempts"]) + 1, error)

    def dead_letters(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        rows = self.sql.exec(
            "SELECT d.id, d.event_id, d.handler, d.attempts, d.last_error, d.created_at, e.type "
            "FROM deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE d.status = 'dead' "
            "ORDER BY d.id LIMIT ?",
            max(1, min(limit, 1000)),
        )
        return [dict(row) for row in rows]

    async def replay_dead_letter(self, delivery_id: str) -> dict[str, Any]:
        """Deliver a dead letter again now; on failure it goes back to the retry cycle."""
        row = self.sql.first("SELECT * FROM deliveries WHERE id = ? AND status = 'dead'", delivery_id)
        if row is None:
            raise NotFound(f"No dead letter {delivery_id!r}", code="dead_letter_not_found")
        self.sql.run("UPDATE deliveries SET status = 'pending', attempts = 0 WHERE id = ?", delivery_id)
        await self._retry_delivery({**row, "attempts": 0})
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

    def list_schedules(self) -> builtins.list[dict[str, Any]]:
        rows = self.sql.exec(
            "SELECT id, cron, tz, handler, source, next_at, last_fired_at, registered_at "
            "FROM schedules ORDER BY id"
        )
        return [dict(row) for row in rows]

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
            print(f"dotdo: schedule {row['id']} names no method {row['handler']!r}; skipped")
            return
        info = ScheduleInfo(str(row["id"]), cron, tz, int(row["next_at"]), now)
        try:
            await (_call(method, info) if _takes_argument(method) else _call(method))
        except Exception:
            print(f"dotdo: scheduled handler {row['handler']} failed")
            traceback.print_exc()

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

        Everything done here sees `now` as the current time (the tests pass a future one)."""
        self._armed = _UNKNOWN  # the alarm that woke us is spent
        self._clock_skew = now - _now_ms()
        try:
            return await self._run_due(now)
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
            await self.send(str(row["type"]), json.loads(str(row["data"])), row["subject"], row["object"])
            done["sends"] += 1
        for row in self.sql.exec(
            "SELECT id, event_id, handler, attempts FROM deliveries "
            "WHERE status = 'pending' AND next_at <= ? "
            "ORDER BY next_at LIMIT ?",
            now,
            DUE_BATCH,
        ):
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

    async def start_workflow(self, name: str, input: Any = None, run_id: str | None = None) -> dict[str, Any]:
        """Start the `@workflow` method `name` with `input`; runs now until it finishes or waits.

        A `run_id` makes starting idempotent: an existing run is returned as it is."""
        if name not in self._workflow_methods:
            raise NotFound(f"No workflow {name!r}", code="workflow_not_found")
        run_id = run_id or new_id()
        now = self._now()
        created = self.sql.run(
            "INSERT INTO workflow_runs (id, name, input, status, next_at, created_at, updated_at) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            run_id,
            name,
            _encode(input, "input", MAX_VALUE_BYTES),
            now + RUN_LEASE_MS,
            now,
            now,
        )
        if created:
            self._timers_changed = True
            await self._run_workflow(run_id, now)
        return self.workflow_status(run_id)

    def workflow_status(self, run_id: str) -> dict[str, Any]:
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
        token = CURRENT_RUN.set(RunContext(run_id))
        try:
            if not callable(method):
                raise NotFound(f"No workflow method {row['name']!r}", code="workflow_not_found")
            result = await method(json.loads(str(row["input"])))
        except Suspend as suspend:
            self._finish_run(run_id, "waiting", next_at=suspend.resume_at)
        except Exception as error:
            print(f"dotdo: workflow {row['name']} {run_id} failed: {error!r}")
            self._finish_run(run_id, "failed", error=f"{type(error).__name__}: {error}")
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

        Inside a `@workflow` run, a failure with retries left suspends the run and the
        alarm replays it after the back-off; the step id defaults to the step's position.
        Outside a run, `step_id` is required and there are no retries (nothing could
        resume the caller): a failure is raised and not recorded.
        """
        policy = RetryPolicy.of(retries)
        run = CURRENT_RUN.get()
        if run is None:
            if step_id is None:
                raise ValueError("outside a workflow run, do() needs a step_id")
            if policy.limit:
                raise ValueError("retries need a workflow run (nothing else can be resumed by the alarm)")
            key = step_id
        else:
            local = step_id or run.next_step_id()
            if local in run.steps_seen:
                raise ValueError(f"step id {local!r} is used twice in one run")
            run.steps_seen.add(local)
            key = f"{run.run_id}/{local}"
        row = self.sql.first(
            "SELECT status, result, error, attempts, next_at FROM action_log WHERE step_id = ?", key
        )
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
        except (Suspend, StepFailed):
            raise
        except Exception as error:
            message = f"{type(error).__name__}: {error}"
            if isinstance(error, TimeoutError):
                message = f"timed out after {timeout} s"
            return self._step_failed(key, run, attempts + 1, policy, message, error)
        await self._fault_point("after_step", key)
        self.sql.run(
            "INSERT INTO action_log (step_id, status, result, attempts, run_id, updated_at) "
            "VALUES (?, 'completed', ?, ?, ?, ?) ON CONFLICT(step_id) DO UPDATE SET status = 'completed', "
            "result = excluded.result, error = NULL, attempts = excluded.attempts, next_at = NULL, "
            "updated_at = excluded.updated_at",
            key,
            encoded,
            attempts + 1,
            None if run is None else run.run_id,
            self._now(),
        )
        return result

    def _step_failed(
        self,
        key: str,
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
            "INSERT INTO action_log (step_id, status, error, attempts, next_at, run_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(step_id) DO UPDATE SET status = excluded.status, "
            "error = excluded.error, attempts = excluded.attempts, next_at = excluded.next_at, "
            "updated_at = excluded.updated_at",
            key,
            "pending" if retry else "failed",
            message,
            attempts,
            next_at,
            run.run_id,
            self._now(),
        )
        if next_at is not None:
            raise Suspend(next_at)
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
            print(f"dotdo: fault point {name}:{detail} reached; hanging until the runtime is stopped")
            await asyncio.sleep(3600)

    # -- cross-object stubs ------------------------------------------------------

    def stub(self, type_name: str, thing_id: str) -> Any:
        """The Workers RPC stub of the object that owns `type_name`/`thing_id`: in the
        `stub_binding` namespace, by the name "Type/id"."""
        namespace = getattr(self.env, self.stub_binding)
        return namespace.get(namespace.idFromName(f"{validate_type_name(type_name)}/{thing_id}"))

    # -- RPC ---------------------------------------------------------------------

    @rpc
    async def send_event(
        self,
        event_type: str,
        data: Any = None,
        subject: str | None = None,
        object: str | None = None,
        delay: float | None = None,
    ) -> str:
        return await self.send(event_type, data, subject, object, delay=delay)

    @rpc(scope="read")
    def schedules(self) -> builtins.list[dict[str, Any]]:
        return self.list_schedules()

    @rpc(scope="admin")
    def unschedule(self, schedule_id: str) -> bool:
        return self.remove_schedule(schedule_id)

    @rpc
    async def run_workflow(self, name: str, input: Any = None, run_id: str | None = None) -> dict[str, Any]:
        return await self.start_workflow(name, input, run_id)

    @rpc(scope="read")
    def get_workflow(self, run_id: str) -> dict[str, Any]:
        return self.workflow_status(run_id)

    @rpc(scope="read")
    def list_dead_letters(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        return self.dead_letters(limit)

    @rpc
    async def replay(self, delivery_id: str) -> dict[str, Any]:
        return await self.replay_dead_letter(delivery_id)

    # -- HTTP --------------------------------------------------------------------

    async def _http_send(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if not isinstance(body, dict) or "type" not in body:
            raise BadRequest(
                'Body is {"type": "Noun.verb", "data": ..., "delay": seconds}', code="invalid_event"
            )
        delay = body.get("delay")
        event_id = await self.send(
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
