"""One object's engine in-process: the timer service, the application's alarm and the
workflow components, composed as the Durable Object classes compose them, over the
sqlite3 stand-in of `ctx.storage` (`tests/storage.py`) and a clock the test moves.

    obj = InProcess(Shop)             # Shop: a plain class with @on / @every / @workflow methods
    await obj.bus.send("Order.placed", {...})
    await obj.timers.run_due(obj.clock.advance(1_000))
    again = obj.restart()             # a new instance on the same storage (eviction, restart)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dotdo.core.alarms import ALARM_MIGRATIONS, AlarmInfo, Alarms
from dotdo.core.logs import ObjectLog
from dotdo.core.migrations import Component, migrate
from dotdo.core.sql import Sql
from dotdo.core.timers import TimerService
from dotdo.semantic.eventtypes import Event
from dotdo.semantic.graph import GRAPH_TABLES, EventLog
from dotdo.semantic.ids import new_id
from dotdo.workflows.bus import DeliveryPolicy
from dotdo.workflows.engine import Marks, WorkflowEngine
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from tests.storage import Clock, Storage

T = TypeVar("T")

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
BOUND = 5.0  # seconds; only a deadlock comes anywhere near it


def run(coroutine: Awaitable[T]) -> T:
    """Run one coroutine on a fresh event loop, failing instead of hanging on a deadlock."""

    async def bounded() -> T:
        return await asyncio.wait_for(coroutine, BOUND)

    return asyncio.run(bounded())


class App:
    """Base of the test applications: `obj` is the engine's host; `log` records what ran
    (the object's journal: it outlives a restart, as a table would)."""

    def __init__(self, obj: InProcess) -> None:
        self.obj = obj
        self.log: list[Any] = obj.journal

    async def on_alarm(self, info: AlarmInfo) -> None:
        self.log.append(("alarm", info))


class InProcess:
    """The host the workflow components see (`workflows/host.py`), and their composition."""

    def __init__(
        self,
        app: type[App],
        storage: Storage | None = None,
        clock: Clock | None = None,
        policy: DeliveryPolicy | None = None,
        on_alarm: Callable[[AlarmInfo], Awaitable[None]] | None = None,
        journal: list[Any] | None = None,
    ) -> None:
        self.app_class = app
        self.journal: list[Any] = [] if journal is None else journal
        self.storage = storage or Storage()
        self.clock = clock or Clock(T0)
        self.policy = policy or DeliveryPolicy(retry_limit=3, retry_delay_ms=1000, handler_timeout=2.0)
        self.sql = Sql(self.storage)
        migrate(
            self.sql,
            [Component("alarm", ALARM_MIGRATIONS), GRAPH_TABLES, Component("workflow", WORKFLOW_MIGRATIONS)],
            self.clock(),
        )
        self.timers = TimerService(self.storage, self.clock)
        self.app = app(self)
        self.alarms = Alarms(self.sql, self.timers, on_alarm or self.app.on_alarm)
        self.timers.register("alarm", self.alarms)
        self.event_log = EventLog(self.sql, self.timers.now, new_id)
        self.published: list[Event] = []
        self.sockets_open = True
        """What `publishes()` answers: a socket is open, so every event is delivered."""
        engine = WorkflowEngine(self, Marks.of(app), self.policy)
        self.bus, self.scheduler, self.runs = engine.bus, engine.scheduler, engine.runs
        self.timers.rearm()  # what DOCore does once every layer is composed

    def restart(self, app: type[App] | None = None) -> InProcess:
        """A new instance on the same storage and clock, as after an eviction (of `app`'s
        class, if the code changed)."""
        return InProcess(app or self.app_class, self.storage, self.clock, self.policy, journal=self.journal)

    # -- the host protocol -------------------------------------------------------

    label = "acme"
    """The object's name, as its log lines give it."""

    @property
    def log(self) -> ObjectLog:
        return ObjectLog(logging.getLogger("dotdo.workflows"), self.label)

    def request_path(self, path: str) -> str | None:
        return f"/@{self.label}{path}"

    def handler(self, name: str) -> Callable[..., Any] | None:
        method = getattr(self.app, name, None)
        return method if callable(method) else None

    def record_event(self, event_type: str, data: Any, subject: str | None, object_id: str | None) -> str:
        return self.event_log.record(event_type, subject, data, object_id)

    def find_event(self, event_id: str) -> Event | None:
        found = self.event_log.get(event_id)
        return None if found is None else Event.from_dict(found)

    def publish(self, event: Event) -> None:
        self.published.append(event)

    def publishes(self) -> bool:
        return self.sockets_open

    # -- for the tests -------------------------------------------------------------

    def rows(self, query: str, *params: Any) -> list[dict[str, Any]]:
        return self.sql.exec(query, *params)

    async def tick(self, ms: int) -> dict[str, int]:
        """Move the clock on by `ms` and run what is due, as the alarm would."""
        return await self.timers.run_due(self.clock.advance(ms))
