"""The workflow layer's components composed on one host: the event bus, the scheduler and
the run engine, each with its store, registered as sources of the host's timer service.

DOWorkflow builds one per instance over the object; the unit tests build one over
`sqlite3` with a controllable clock, so the engine runs in-process there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dotdo.workflows.bus import DeliveryPolicy, EventBus
from dotdo.workflows.bus_store import DeliveryStore, SendStore
from dotdo.workflows.every import SCHEDULES_MARK, ScheduleSpec
from dotdo.workflows.handlers import HANDLERS_MARK
from dotdo.workflows.host import BusHost
from dotdo.workflows.run_store import RunStore
from dotdo.workflows.runs import RunEngine
from dotdo.workflows.schedule_store import ScheduleStore
from dotdo.workflows.scheduler import Scheduler
from dotdo.workflows.steps import WORKFLOW_MARK

__all__ = ["Marks", "WorkflowEngine"]


@dataclass(frozen=True)
class Marks:
    """What a class declares with decorators, by method name: `handlers` maps an event
    pattern to its `@on` handlers, `schedules` pairs a method with its `@every` spec,
    `workflows` are the `@workflow` methods."""

    handlers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    schedules: Sequence[tuple[str, ScheduleSpec]] = ()
    workflows: frozenset[str] = frozenset()

    @classmethod
    def of(cls, klass: type) -> Marks:
        """The marks on the methods of `klass` and its bases (a name defined lower in the
        MRO hides the same name above it). An `@rpc`-sealed method's marks are on the
        function it wraps (`__func__`)."""
        handlers: dict[str, list[str]] = {}
        schedules: list[tuple[str, ScheduleSpec]] = []
        workflows: set[str] = set()
        seen: set[str] = set()
        for base in klass.__mro__:
            for name, value in vars(base).items():
                if name in seen:
                    continue
                seen.add(name)
                function: Any = getattr(value, "__func__", value)
                for pattern in getattr(function, HANDLERS_MARK, ()):
                    handlers.setdefault(pattern, []).append(name)
                for spec in getattr(function, SCHEDULES_MARK, ()):
                    schedules.append((name, spec))
                if getattr(function, WORKFLOW_MARK, False):
                    workflows.add(name)
        return cls(
            {pattern: tuple(sorted(names)) for pattern, names in handlers.items()},
            tuple(sorted(schedules, key=lambda item: (item[0], item[1].cron))),
            frozenset(workflows),
        )


class WorkflowEngine:
    """The components of one object. Registering them adds the timer sources `sends`,
    `deliveries`, `schedules` and `workflows` (in that order) and makes every pass of the
    alarm a caller of the bus; the class's schedules are brought in step with `marks`.
    `host` is the object; `policy` the bus's retries and handler time bound."""

    def __init__(self, host: BusHost, marks: Marks, policy: DeliveryPolicy) -> None:
        deliveries = DeliveryStore(host.sql, host.find_event)
        self.bus = EventBus(host, deliveries, SendStore(host.sql), marks.handlers, policy)
        self.scheduler = Scheduler(
            host, ScheduleStore(host.sql), marks.schedules, self.bus.run_handler, policy
        )
        self.runs = RunEngine(host, RunStore(host.sql), marks.workflows)
        timers = host.timers
        timers.register("sends", self.bus.sends_source)
        timers.register("deliveries", self.bus.deliveries_source)
        timers.register("schedules", self.scheduler)
        timers.register("workflows", self.runs)
        timers.around_passes(self.bus.as_caller)
        self.scheduler.sync_class_schedules()
