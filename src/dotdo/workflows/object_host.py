"""The Durable Object as its workflow components see it: `workflows/host.py`'s protocols
implemented over a DOWorkflow, so that no component reaches into the object itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dotdo.core.identity import object_label
from dotdo.core.logs import ObjectLog
from dotdo.core.sql import Sql
from dotdo.core.tenants import DEV_TENANT_PREFIX, is_tenant
from dotdo.core.timers import TimerService
from dotdo.semantic.eventtypes import Event

if TYPE_CHECKING:
    from dotdo.workflows.durable import DOWorkflow

__all__ = ["ObjectHost"]

logger = logging.getLogger("dotdo.workflows")


class ObjectHost:
    """The object as its workflow components see it (`workflows/host.py`), without adding
    a single name to the application's namespace. `record` is the layer below's `emit`."""

    def __init__(self, obj: DOWorkflow, record: Callable[..., str]) -> None:
        """Over `obj`, whose layer below records events with `record`."""
        self._obj = obj
        self._record = record
        # the name is known by now (DOCore's constructor read it) and never changes
        self._log = ObjectLog(logger, object_label(obj.object_name, getattr(obj.ctx, "id", None)))

    @property
    def log(self) -> ObjectLog:
        """`Host.log`: the object's name, or its id, in every line."""
        return self._log

    @property
    def sql(self) -> Sql:
        """`Host.sql`."""
        return self._obj.sql

    @property
    def timers(self) -> TimerService:
        """`Host.timers`."""
        return self._obj.timers

    def handler(self, name: str) -> Callable[..., Any] | None:
        """`Host.handler`: any callable attribute of the object."""
        method = getattr(self._obj, name, None)
        return method if callable(method) else None

    def record_event(self, event_type: str, data: Any, subject: str | None, object_id: str | None) -> str:
        """`BusHost.record_event`: the layer below's `emit`."""
        return self._record(event_type, data, subject, object_id)

    def find_event(self, event_id: str) -> Event | None:
        """`BusHost.find_event`: from the object's event log."""
        found = self._obj.event_log.get(event_id)
        return None if found is None else Event.from_dict(found)

    def publish(self, event: Event) -> None:
        """`BusHost.publish`."""
        self._obj._publish(event)

    def publishes(self) -> bool:
        """`BusHost.publishes`."""
        return self._obj._publishes()

    def request_path(self, path: str) -> str | None:
        """`BusHost.request_path`: requests reach only a tenant's object
        (`dotdo.worker.forward_to_tenant`), by a `/@tenant` prefix in development, by its
        host name when deployed."""
        name = self._obj.object_name
        if name is None or not is_tenant(name):
            return None
        if self._obj.router.development:
            return f"{DEV_TENANT_PREFIX}{name}{path}"
        return f"{path} on tenant {name}'s host"
