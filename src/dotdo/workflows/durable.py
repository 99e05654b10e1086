"""DOWorkflow: the workflow context on DOStorage (things on tiers, ADR 0019).

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

The class is the face of three components (`workflows/engine.py`): the event bus
(`self.bus`: events, deliveries, dead letters, delayed sends), the scheduler
(`self.scheduler`) and the run engine (`self.runs`: workflow runs and durable steps). Each
owns its tables and reaches the object only through a narrow host interface
(`workflows/host.py`); their timers are sources of DOCore's timer service (`self.timers`),
beside the application's own alarm. This class keeps the hooks, routes and RPC methods.
"""

from __future__ import annotations

import builtins
import functools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from dotdo.core.durable import DOCore
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.core.transport import WS_RPC_TAG
from dotdo.core.websocket import Connection, live
from dotdo.errors import BadRequest
from dotdo.remote.marks import Authorize, is_rpc_method, rpc, seal_rpc_surface
from dotdo.semantic.eventtypes import (
    Event,
    check_sent_event_type,
    pattern_matches,
    validate_event_ref,
    validate_pattern,
)
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.object_names import thing_object_name
from dotdo.storage.durable import DOStorage
from dotdo.wire.codec import dump, encode
from dotdo.workflows import delivery
from dotdo.workflows.bus import DeliveryPolicy, EventBus
from dotdo.workflows.engine import Marks, WorkflowEngine
from dotdo.workflows.every import Every, ScheduleSpec
from dotdo.workflows.handlers import On, check_handler_nouns, check_handler_verbs, pattern_verb_hint
from dotdo.workflows.object_host import ObjectHost
from dotdo.workflows.routes import WorkflowRoutes
from dotdo.workflows.runs import RunEngine
from dotdo.workflows.scheduler import Scheduler
from dotdo.workflows.steps import Attempt, RetryPolicy
from dotdo.workflows.stubs import stub_namespace, stub_tenant, validate_stub_scope
from dotdo.workflows.tables import WORKFLOW_MIGRATIONS
from dotdo.workflows.unawaited import check_unawaited_calls

if TYPE_CHECKING:
    from dotdo.semantic.accessors import NounFactory

__all__ = ["DOWorkflow"]

logger = logging.getLogger("dotdo.workflows")
_SUBSCRIPTIONS = "subscriptions"
"""The `socket_state` name under which an RPC socket's event patterns are kept."""
_CHECKED_PATTERNS: set[tuple[type, str]] = set()
"""Run-time handler patterns whose noun and verb were checked already (see `check_handler_nouns`,
`check_handler_verbs`)."""


class DOWorkflow(DOStorage):
    """DOStorage plus events with handlers, schedules, durable steps and cross-object calls.

    Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings), as
    DOCore is; its components (`bus`, `scheduler`, `runs`) register with the timer service
    then, and the class's schedules are brought in step with its decorators.
    """

    delivery_retry_limit: ClassVar[int] = 5
    """Attempts in all (1-21; a `RetryPolicy`'s `limit` counts retries) of a durable handler
    or a schedule's firing, then a dead letter or given up (docs/api.md, "Retry policies")."""
    delivery_retry_delay_ms: ClassVar[int] = 1000
    """Milliseconds (0 to 24 h) before the first retry, doubled after each, at most 24 h."""
    handler_timeout: ClassVar[float] = delivery.DEFAULT_HANDLER_TIMEOUT
    """Seconds an event handler (durable or run-time) or a schedule's handler may run; after
    that it is cancelled and abandoned, and a durable delivery counts as failed. Above 0 and
    at most 60 (the delivery lease); checked when the class is created."""
    stub_binding: ClassVar[str] = "DOTDO"
    """The Durable Object namespace that `self.Customer("id").method()` calls into."""
    stub_scope: ClassVar[str] = "tenant"
    """Whose object `self.Customer("id")` reaches (ADR 0054): "tenant", this object's tenant's
    ("acme/Customer/id"); "namespace", the one every tenant shares ("Customer/id")."""
    event_socket_tag: ClassVar[str] = "events"
    """Sockets opened with this tag (`/ws?tags=events`) receive every event."""

    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("on", "every", "bus", "scheduler", "runs"))
    _marks: ClassVar[Marks] = Marks()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        delivery.validate_handler_timeout(cls.handler_timeout, cls.__name__)
        validate_stub_scope(cls.stub_scope, cls.__name__)
        delivery.validate_delivery_retries(
            cls.delivery_retry_limit, cls.delivery_retry_delay_ms, cls.__name__
        )
        cls._marks = Marks.of(cls)
        # Schedules and workflows are found by method name and name no noun; handlers do.
        check_handler_nouns(cls.__qualname__, cls._marks.handlers, cls.declared_nouns)
        check_handler_verbs(cls.__qualname__, cls._marks.handlers, cls.declared_verbs)
        check_unawaited_calls(
            cls,
            [
                *(
                    (name, "handler")
                    for name in sorted({n for names in cls._marks.handlers.values() for n in names})
                ),
                *((name, "schedule handler") for name in sorted({name for name, _ in cls._marks.schedules})),
                *((name, "workflow") for name in sorted(cls._marks.workflows)),
                # the class's own RPC methods: `send_event` dropped by a plain `@rpc def` answered
                # 200 and sent nothing
                *((name, "RPC method") for name in sorted(cls.__dict__) if is_rpc_method(cls, name)),
            ],
        )

    def __init__(self, ctx: Any, env: Any) -> None:
        super().__init__(ctx, env)
        engine = WorkflowEngine(
            ObjectHost(self, super().emit),
            self._marks,
            DeliveryPolicy(self.delivery_retry_limit, self.delivery_retry_delay_ms, self.handler_timeout),
        )
        self.bus: EventBus = engine.bus
        self.scheduler: Scheduler = engine.scheduler
        self.runs: RunEngine = engine.runs
        self.on = On(self._subscribe)
        self.every = Every(self._schedule)

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOStorage's components, then `workflow` (schedules, deliveries, sends, runs)."""
        return [*super().migrations(), Component("workflow", WORKFLOW_MIGRATIONS)]

    def noun_factory(self, type_name: str) -> NounFactory:
        """DOStorage's accessors, plus cross-object calls: any other method name on
        `self.Customer("id")` is called on the object that owns that thing (`stub`)."""
        from dotdo.semantic.accessors import NounFactory  # with the first noun used (ADR 0036)

        return NounFactory(self.things, self.relationships, validate_type_name(type_name), self.stub)

    def routes(self, router: Router) -> None:
        """DOStorage's routes, then the workflow routes (`workflows.routes.WorkflowRoutes`:
        events sent, delayed and dead, schedules, workflow runs)."""
        super().routes(router)
        WorkflowRoutes(self).routes(router)

    async def fetch(self, request: Any) -> Any:
        """DOCore's `fetch`, answered once the handlers of the events it raised have run."""
        # The handlers of the request's events (and of the events they raise) run before the
        # response goes out, unless a delivery was in progress when the request arrived (it
        # may be waiting on this very request): then they run right after, in order.
        return await self.bus.as_caller(functools.partial(super().fetch, request))

    # -- events --------------------------------------------------------------

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object: str | None = None
    ) -> str:
        """Record the event and queue its delivery to the durable handlers (a delivery row
        each, in the same transaction), the run-time handlers and the sockets."""
        return self.bus.emit(event_type, data, subject, object)

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
        scheduled send's. `subject` and `object` are at most 256 characters each (a thing's
        id or `Type/id` reference; 400 `invalid_subject`, `invalid_object`). The same method
        serves RPC callers. 400 `invalid_event_type`; 400 `reserved_event_type` for a type
        only the object raises (`check_sent_event_type`: a reserved noun's, `Approval.*` in
        DOFull, or a thing write's, `<Noun>.created` and the other forms of RESERVED_VERBS);
        the application's own `emit` raises any type.
        """
        check_sent_event_type(event_type, self.reserved_event_nouns)
        validate_event_ref(subject, "subject")
        validate_event_ref(object, "object")
        return await self.bus.send(event_type, data, subject, object, delay=delay, at=at)

    def _subscribe(self, pattern: str, handler: Callable[..., Any]) -> Callable[[], None]:
        if (type(self), pattern) not in _CHECKED_PATTERNS:  # logged once per class and pattern
            _CHECKED_PATTERNS.add((type(self), pattern))
            name = getattr(handler, "__name__", "(run-time)")
            check_handler_nouns(type(self).__qualname__, {pattern: [name]}, self.nouns.all())
            check_handler_verbs(type(self).__qualname__, {pattern: [name]}, self.declared_verbs)
        return self.bus.subscribe(pattern, handler)

    # -- sockets -------------------------------------------------------------

    def _publishes(self) -> bool:
        """Whether a delivered event could reach anyone: a socket is open (one call into the
        runtime), or an application's `broadcast` override may send it elsewhere."""
        return type(self).broadcast is not DOCore.broadcast or self.websockets.any_open()

    def _publish(self, event: Event) -> None:
        """A delivered event goes to the `events` sockets and the RPC sockets subscribed to it."""
        if not self._publishes():  # no socket: nothing to encode, no subscriptions to read
            return
        try:
            wire = encode(event.to_dict())  # once, in the codec's one encoding, for every socket
        except TypeError as error:  # only data the application emitted past the wire's depth limit
            self.bus.log.warning("event %s not pushed to sockets: %s", event.id, error)
            return
        self.broadcast(dump({"type": "event", "event": wire}), tag=self.event_socket_tag)
        self._push_to_subscribers(event.type, dump({"method": "event", "params": wire}))

    def _push_to_subscribers(self, event_type: str, message: str) -> None:
        """RPC sockets (`/ws/rpc`) that subscribed to a pattern matching `event_type` get
        `message`, the event's push already written as JSON text."""
        if not self.websockets.any_open(WS_RPC_TAG):  # no RPC socket: no subscriptions to read
            return
        subscribed = self.socket_state.values(_SUBSCRIPTIONS)
        if not subscribed:
            return
        for connection in live(self.websockets.connections(WS_RPC_TAG)):
            patterns = subscribed.get(connection.id) or []
            if any(pattern_matches(pattern, event_type) for pattern in patterns):
                connection.send(message)

    async def rpc_socket_call(
        self, connection: Connection, method_name: str, params: Any, authorize: Authorize
    ) -> Any:
        """`subscribe` / `unsubscribe` with event patterns (kept in `socket_state`, so they
        survive hibernation; 32 patterns of 129 characters would not fit the attachment);
        anything else is an RPC method. The new list is stored before it is answered, so
        what a socket is told it holds is what it holds after hibernation. A `subscribe` to
        a pattern whose verb is a declared verb's other form (`Member.borrow`) is answered
        with a `hint` too (`pattern_verb_hint`), as such a handler is logged."""
        if method_name not in ("subscribe", "unsubscribe"):
            return await super().rpc_socket_call(connection, method_name, params, authorize)
        from dotdo.wire.wsrpc import MAX_SUBSCRIPTIONS  # the protocol's module: with its first call

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
        hint = pattern_verb_hint(pattern, self.declared_verbs) if method_name == "subscribe" else None
        # accepted all the same: an app may send such a type itself (`send_event`)
        return {"subscriptions": subscriptions, "hint": hint} if hint else {"subscriptions": subscriptions}

    # -- dead letters --------------------------------------------------------

    @rpc(scope="read")
    def scheduled_sends(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """The delayed sends still waiting (`send_event` with a delay or a time), the next
        due first: `{"items": [{"id", "type", "data", "subject", "object", "due_at"}],
        "has_more", "cursor"}`; `limit` 1 to 1000. 400 `invalid_limit`, `invalid_cursor`."""
        return self.bus.scheduled(limit, cursor)

    @rpc
    def cancel_send(self, send_id: str) -> bool:
        """Cancel a delayed send (`send_event` with a delay or a time) before it is sent;
        False when none waits under `send_id`."""
        return self.bus.cancel(send_id)

    @rpc(scope="read")
    def dead_letters(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Deliveries that used up their attempts, oldest first: `{"id", "event_id",
        "handler", "attempts", "last_error", "created_at", "type"}` (`limit` 1-1000): the
        first page, a list (`dead_letters_page` for the next)."""
        return self.bus.dead_letters(limit)

    @rpc(scope="read")
    def dead_letters_page(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """`dead_letters` a page at a time: `{"items", "has_more", "cursor"}`, by id; pass
        `cursor` back for the next page (None on the last). A page holds fewer than `limit`
        where its items pass 4 MiB. 400 `invalid_limit`, `invalid_cursor`."""
        return self.bus.dead_letters_page(limit, cursor)

    @rpc(scope="admin")
    async def replay_dead_letter(self, delivery_id: str, handler: str | None = None) -> dict[str, Any]:
        """Deliver a dead letter again now, to its handler or to `handler`, another durable
        handler of its event (the new name of one renamed while the delivery waited); on
        failure it goes back to the retry cycle, with that handler. `{"id", "handler",
        "delivered"}` (and `status`, `attempts`, `last_error` when not delivered); 404
        `dead_letter_not_found`, 404 `handler_not_found` (`EventBus.replay`). Admin: it runs
        a handler again outside the normal flow of events."""
        return await self.bus.replay(delivery_id, handler)

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
        return self.scheduler.add(spec, name)

    @rpc(scope="read")
    def list_schedules(self) -> builtins.list[dict[str, Any]]:
        """Every schedule, the class's and at most 100 run-time ones, each as `GET /schedules`
        answers it (docs/api.md, "Schedules"), which pages them."""
        return self.scheduler.list()

    @rpc(scope="admin")
    def remove_schedule(self, schedule_id: str) -> bool:
        """Remove a run-time schedule; False when there is none. One the class declares is a
        409 `schedule_declared` (registered again at every start: remove its decorator)."""
        return self.scheduler.remove(schedule_id)

    # -- durable execution -------------------------------------------------------

    @rpc
    async def start_workflow(self, name: str, input: Any = None, run_id: str | None = None) -> dict[str, Any]:
        """Start the `@workflow` method `name` with `input`; runs now until it finishes or waits.

        A `run_id` makes starting idempotent: an existing run is returned as it is; one of
        another workflow is a 409 `workflow_conflict`."""
        return await self.runs.start(name, input, run_id)

    @rpc(scope="read")
    def list_workflows(
        self, status: str | None = None, name: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """A page of workflow runs by id, `{"items", "has_more", "cursor"}` (each item
        `workflow_status`'s but `result`): those in `status` (running, waiting, completed,
        failed) and of the workflow `name` when given; `limit` 1 to 1000. 400
        `invalid_status`, `invalid_limit`, `invalid_cursor`; 404 `workflow_not_found`."""
        return self.runs.page(status, name, limit, cursor)

    @rpc(scope="read")
    def workflow_status(self, run_id: str) -> dict[str, Any]:
        """A run's `{"id", "name", "status", "result", "error", "next_at", "created_at",
        "updated_at"}`; 404 `workflow_run_not_found` when there is none."""
        return self.runs.status(run_id)

    async def do(
        self,
        action: Callable[..., Any],
        *args: Any,
        step_id: str | None = None,
        retries: RetryPolicy | Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Run `action(*args)` once, durably (see `RunEngine.do`): a completed step is never
        run again; inside a `@workflow` run a failure with retries left suspends the run."""
        return await self.runs.do(action, *args, step_id=step_id, retries=retries, timeout=timeout)

    async def try_(self, action: Callable[..., Any], *args: Any) -> Attempt:
        """One attempt of `action(*args)`, nothing recorded: its failure is returned, never raised."""
        return await self.runs.try_(action, *args)

    # -- cross-object stubs ------------------------------------------------------

    def stub_name(self, type_name: str, thing_id: str) -> str:
        """The name of the object owning `type_name`/`thing_id`: `"tenant/Type/id"` (this
        object's tenant; `"Type/id"` when it has none), or `"Type/id"` under `stub_scope =
        "namespace"` (`workflows/stubs.py`). 400 `invalid_type` / `invalid_id`
        (`thing_object_name`); 404 `unknown_noun` for a noun `strict_nouns` refuses."""
        tenant = stub_tenant(self.stub_scope, self.object_name)
        return thing_object_name(self.noun_policy.check(type_name), thing_id, tenant)

    def stub(self, type_name: str, thing_id: str) -> Any:
        """The Workers RPC stub of the object `stub_name(type_name, thing_id)` names (its
        errors before any object is woken); `self.Customer(id).notify()` calls through it."""
        namespace = self.stub_namespace()
        return namespace.get(namespace.idFromName(self.stub_name(type_name, thing_id)))

    def stub_namespace(self) -> Any:
        """The namespace `stub_binding` names; LookupError naming the option if unbound."""
        return stub_namespace(self.env, self.stub_binding, type(self).__name__)


seal_rpc_surface(DOWorkflow)
