"""The event bus: events from writes and sends to their handlers, at least once.

`emit` records an event and, when durable handlers listen to it, one outbox row naming
them (in the write's transaction), and queues it in the object's in-memory outbox
(`delivery.Outbox`: first in, first out, one event at a time, each handler under the time
bound). As each handler runs the row forgets it, and it goes with the last. A handler that
fails gets a delivery row of its own, retried by the alarm with doubling back-off, then
buried as a dead letter, which can be replayed. An outbox row whose lease runs out (the
object died) is delivered by the alarm to the handlers it still names. A send with a
delay is stored and sent by the alarm. The bus is two timer sources: `sends` (delayed
sends) and `deliveries` (retries and lost deliveries).
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from dotdo.core.logs import ObjectLog
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.core.timers import Source, backoff
from dotdo.errors import BadRequest, NotFound
from dotdo.semantic.eventtypes import Event, pattern_matches, validate_event_type
from dotdo.semantic.hops import checked_limit
from dotdo.semantic.ids import id_cursor, id_page, made_id, new_id, timed_cursor, timed_page
from dotdo.types import Row
from dotdo.workflows.bus_store import DeliveryStore, SendStore
from dotdo.workflows.delivery import DEFAULT_HANDLER_TIMEOUT, HandlerTimeout, Outbox
from dotdo.workflows.delivery_log import log_failed, missing_handler
from dotdo.workflows.failures import error_text
from dotdo.workflows.host import DUE_BATCH, RUN_LEASE_MS, BusHost, encode_value
from dotdo.workflows.steps import MAX_DELAY_MS
from dotdo.workflows.timing import due_time

__all__ = ["DeliveryPolicy", "EventBus"]

T = TypeVar("T")
_Item = tuple[Event, builtins.list[str]]  # an event and the durable handlers its outbox row names


@dataclass(frozen=True)
class DeliveryPolicy:
    """How durable deliveries are retried and how long any handler may run.

    `retry_limit` attempts (the first included) before a dead letter; `retry_delay_ms`
    before the first retry, doubled after each; `handler_timeout` seconds per handler."""

    retry_limit: int = 5
    retry_delay_ms: int = 1000
    handler_timeout: float = DEFAULT_HANDLER_TIMEOUT

    def wait_ms(self, attempts: int) -> int:
        """The wait after the `attempts`-th failed attempt."""
        return int(backoff(self.retry_delay_ms, attempts, most=MAX_DELAY_MS))


class EventBus:
    """One object's events and handlers. `handlers` maps a pattern (`Customer.*`) to the
    names of the durable handler methods listening to it; `host` is the object (its SQL,
    timers, event log and sockets), `deliveries` and `sends` the bus's tables, `policy`
    its retries and time bound."""

    def __init__(
        self,
        host: BusHost,
        deliveries: DeliveryStore,
        sends: SendStore,
        handlers: Mapping[str, tuple[str, ...]],
        policy: DeliveryPolicy,
    ) -> None:
        self._host = host
        self._deliveries = deliveries
        self._sends = sends
        self._handlers = handlers
        self._policy = policy
        self._runtime_handlers: builtins.list[tuple[str, Callable[..., Any]]] = []
        self._outbox: Outbox[_Item] = Outbox(self._deliver, host.timers.rearm, host.log)
        self._in_hand: set[str] = set()  # deliveries queued or running here: not the alarm's to retry
        self._observers: builtins.list[Callable[[Event], None]] = []
        self.sends_source = Source(sends.next_at, self._run_due_sends)
        self.deliveries_source = Source(deliveries.next_at, self._run_due_deliveries)

    @property
    def log(self) -> ObjectLog:
        """The object's `dotdo.workflows` log (`Host.log`: each line names the object)."""
        return self._host.log

    # -- raising events ----------------------------------------------------------

    def emit(
        self, event_type: str, data: Any = None, subject: str | None = None, object_id: str | None = None
    ) -> str:
        """Record the event and queue its delivery: if durable handlers listen, one outbox row
        names them in the same transaction (so a crash before delivery is retried); then it
        is delivered after every event queued before it, by the object's one drain task. An
        event no durable handler listens to writes nothing but itself; one that no handler
        of either kind listens to, raised while no socket is open, is not queued at all:
        its delivery would reach nobody, and queueing it costs the caller a task and two
        turns of the event loop to wait for."""
        event_id = self._host.record_event(event_type, data, subject, object_id)
        now = self._host.timers.now()
        event = Event(event_id, event_type, data, now, subject, object_id)
        for observer in self._observers:
            observer(event)
        durable = self.durable_handlers_for(event_type)
        if durable:
            self._deliveries.hold(event_id, durable, now + RUN_LEASE_MS)
            self._host.timers.changed()  # re-armed when the outbox runs dry
            self._in_hand.add(event_id)
        elif not self._listened(event_type) and not self._host.publishes():
            return event_id
        entry = self._outbox.put((event, durable))

        def forget() -> None:
            if self._outbox.discard(entry):
                self._in_hand.discard(event_id)

        self._host.sql.on_rollback(forget)  # a rolled-back write raised no event
        return event_id

    async def send(
        self,
        event_type: str,
        data: Any = None,
        subject: str | None = None,
        object_id: str | None = None,
        delay: float | timedelta | None = None,
        at: datetime | int | None = None,
    ) -> str:
        """Persist an event, deliver it to every matching handler, and return its id.

        Returns once the event, and the events its handlers send in turn, are delivered;
        at once (the event queued) when called from inside a delivery or from a call that
        arrived while one was in progress, since that delivery may be waiting on the
        caller. With `delay` (seconds) or `at` the event is stored and sent by the alarm
        then; the id returned is the scheduled send's. Bad input is a 400
        (`invalid_event_type`, `invalid_data`, `invalid_delay`, `invalid_at`); data past `MAX_VALUE_BYTES`
        of JSON a 413 `value_too_large`.
        """
        validate_event_type(event_type)
        encoded = encode_value(data, "data", MAX_VALUE_BYTES)
        due = due_time(delay, at, self._host.timers.now())
        if due is not None:
            send_id = new_id()
            self._sends.add(send_id, event_type, encoded, subject, object_id, due)
            self._host.timers.changed()
            self._host.timers.rearm()
            return send_id
        with self._outbox.caller() as scope:
            event_id = self._host.sql.transaction(lambda: self.emit(event_type, data, subject, object_id))
            await self._outbox.settle(scope)
        return event_id

    async def as_caller(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` as a caller of the bus: it returns once the events `work` raised, and
        their chains, are delivered (unless it runs inside a delivery, or arrived while one
        was in progress: then they are delivered after it, in order)."""
        # `Outbox.caller` spelt out: every request comes through here (ADR 0052).
        outbox = self._outbox
        scope, token = outbox.enter()
        try:
            result = await work()
            await outbox.settle(scope)
        finally:
            outbox.leave(token)
        return result

    async def run_handler(self, function: Callable[..., Any], *args: Any) -> Any:
        """Call `function(*args)` as a handler: in its own task, never waiting for delivery,
        cut off after the handler time bound (HandlerTimeout)."""
        return await self._outbox.run_handler(function, *args, timeout=self._policy.handler_timeout)

    # -- handlers ----------------------------------------------------------------

    def durable_handlers_for(self, event_type: str) -> builtins.list[str]:
        """The names of the durable handlers an event of `event_type` goes to, in order."""
        names: builtins.list[str] = []
        for pattern, handlers in self._handlers.items():
            if pattern_matches(pattern, event_type):
                names.extend(h for h in handlers if h not in names)
        return names

    def _listened(self, event_type: str) -> bool:
        """Whether a run-time handler listens to events of `event_type` now."""
        return any(pattern_matches(pattern, event_type) for pattern, _ in self._runtime_handlers)

    def observe(self, observer: Callable[[Event], None]) -> None:
        """Call `observer(event)` with every event emitted, at once and in the emitting
        transaction (a rolled-back write rolls back what it wrote too): for a component
        that must see every event durably, where a handler would see it only on delivery
        and a run-time one not after a crash (DOFull's waits for events). It must not
        await; what it raises fails the emit."""
        self._observers.append(observer)

    def subscribe(self, pattern: str, handler: Callable[..., Any]) -> Callable[[], None]:
        """A run-time handler (in memory only); returns the function that removes it."""
        entry = (pattern, handler)
        self._runtime_handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._runtime_handlers:
                self._runtime_handlers.remove(entry)

        return unsubscribe

    async def _deliver(self, item: _Item) -> None:
        """One event from the outbox to its durable handlers, run-time handlers and sockets."""
        event, durable = item
        try:
            await self._run_held(event, durable)
        finally:
            self._in_hand.discard(event.id)
        for pattern, runtime_handler in builtins.list(self._runtime_handlers):
            if pattern_matches(pattern, event.type):
                name = getattr(runtime_handler, "__qualname__", repr(runtime_handler))
                try:
                    await self.run_handler(runtime_handler, event)
                except HandlerTimeout as timeout:
                    self._host.log.error(
                        "run-time handler %s (%s) %s on %s %s; it was cancelled",
                        name,
                        pattern,
                        timeout,
                        event.type,
                        event.id,
                    )
                except Exception:
                    self._host.log.exception(
                        "run-time handler %s (%s) failed on %s %s", name, pattern, event.type, event.id
                    )
        self._host.publish(event)

    async def _run_held(self, event: Event, handlers: builtins.list[str]) -> None:
        """Run the durable `handlers` an outbox row names for `event`, in order. After each,
        the row forgets it (in one transaction with the delivery row a failure gets), so a
        crash runs again only the handlers that had not finished."""
        for index, handler in enumerate(handlers):
            error = await self._invoke(handler, event)
            outcome = functools.partial(self._ran_held, event, handler, error, handlers[index + 1 :])
            self._host.sql.transaction(outcome)

    def _ran_held(self, event: Event, handler: str, error: str | None, remaining: builtins.list[str]) -> None:
        if error is not None:
            self._failed(None, 1, error, handler, event)
        self._deliveries.progress(event.id, remaining)

    async def _invoke(self, name: str, event: Event) -> str | None:
        """Run a durable handler under the time bound; its error as text, or None."""
        method = self._host.handler(name)
        if method is None:
            error = missing_handler(self._host, name, event.type, self.durable_handlers_for(event.type))
            self._host.log.error("%s (event %s)", error, event.id)
            return error
        try:
            await self.run_handler(method, event)
        except HandlerTimeout as timeout:
            self._host.log.error(
                "handler %s %s on %s %s; it was cancelled and the delivery counts as failed",
                name,
                timeout,
                event.type,
                event.id,
            )
            return str(timeout)
        except Exception as error:
            self._host.log.exception("handler %s failed on %s %s", name, event.type, event.id)
            return error_text(error)
        return None

    def _failed(self, delivery_id: str | None, attempts: int, error: str, handler: str, event: Event) -> None:
        """The `attempts`-th attempt of a delivery failed: retried later, or a dead letter.
        A first attempt (`delivery_id` None) gets its delivery row now."""
        dead = attempts >= self._policy.retry_limit
        next_at = None if dead else self._host.timers.now() + self._policy.wait_ms(attempts)
        if delivery_id is None:
            delivery_id = new_id()
            self._deliveries.add(delivery_id, event.id, handler, attempts, next_at, error, event.timestamp)
        elif next_at is None:
            self._deliveries.bury(delivery_id, attempts, error)
        else:
            self._deliveries.retry_at(delivery_id, attempts, next_at, error)
        known = dead and handler in self.durable_handlers_for(event.type)
        log_failed(
            self._host, delivery_id, event, handler, attempts, self._policy.retry_limit, error, next_at, known
        )
        self._host.timers.changed()

    async def _retry(self, row: Row) -> None:
        delivery_id = str(row["id"])
        event = self._deliveries.event(str(row["event_id"]))
        if event is None:
            self._deliveries.delete(delivery_id)
            return
        self._in_hand.add(delivery_id)
        try:
            handler = str(row["handler"])
            error = await self._invoke(handler, event)
            if error is None:
                self._deliveries.delete(delivery_id)
            else:
                self._failed(delivery_id, int(row["attempts"]) + 1, error, handler, event)
        finally:
            self._in_hand.discard(delivery_id)

    def scheduled(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """The delayed sends still waiting, the next due first: `{"items": [{"id", "type",
        "data", "subject", "object", "due_at"}], "has_more", "cursor"}` (`due_at` epoch ms),
        at most `limit` (1 to 1000) after `cursor` (the previous page's, `<due_at>.<id>`),
        fewer where their rows pass MAX_PAGE_BYTES (`Sql.page`). 400 `invalid_limit`,
        `invalid_cursor`."""
        limit = checked_limit(limit, 1000)
        rows, cut = self._sends.page(None if cursor is None else timed_cursor(cursor), limit + 1)
        return timed_page(rows, limit, "due_at", more=cut)

    def cancel(self, send_id: str) -> bool:
        """Forget a delayed send before it is sent; False when none waits under `send_id`
        (in any case: `made_id`), sent already or never made."""
        cancelled = self._sends.delete(made_id(send_id))
        if cancelled:
            self._host.timers.changed()
            self._host.timers.rearm()
        return cancelled

    # -- dead letters ------------------------------------------------------------

    def dead_letters(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The first page of `dead_letters_page`: its items, a list."""
        items: builtins.list[dict[str, Any]] = self.dead_letters_page(limit)["items"]
        return items

    def dead_letters_page(self, limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
        """Dead letters by id, oldest first: `{"items": [{"id", "event_id", "handler",
        "attempts", "last_error", "created_at", "type"}], "has_more", "cursor"}`, at most
        `limit` (1 to 1000) after `cursor` (the previous page's), fewer where their rows pass
        MAX_PAGE_BYTES (`Sql.page`). 400 `invalid_limit`, `invalid_cursor`."""
        limit = checked_limit(limit, 1000)
        letters, cut = self._deliveries.dead(None if cursor is None else id_cursor(cursor), limit + 1)
        return id_page(letters, limit, more=cut)

    async def replay(self, delivery_id: str, handler: str | None = None) -> dict[str, Any]:
        """Deliver a dead letter again now, to its handler or to `handler`, another durable
        handler of its event (the new name of one renamed while the delivery waited); on
        failure it goes back to the retry cycle, with the handler it went to. `{"id",
        "handler", "delivered"}`, and `status`, `attempts`, `last_error` when not delivered.

        404 `dead_letter_not_found` when there is no such dead letter (the id in any case:
        `made_id`, a delivery's id is always one `new_id` made); 404 `handler_not_found`
        when `handler` is not a durable handler of the event's type now (the message lists
        those that are); 400 `invalid_params` when it is not a string. A letter whose event
        is gone is forgotten, whatever `handler` says."""
        delivery_id = made_id(delivery_id)
        letter = self._deliveries.dead_letter(delivery_id)
        if letter is None:
            raise NotFound(f"No dead letter {delivery_id!r}", code="dead_letter_not_found")
        target = str(letter["handler"])
        if handler is not None:
            target = self._replay_target(handler, str(letter["event_id"]))
        self._deliveries.revive(delivery_id, target)
        # The retry delivers what the handler sends too (`as_caller`).
        await self.as_caller(lambda: self._retry({**letter, "handler": target, "attempts": 0}))
        self._host.timers.changed()
        self._host.timers.rearm()
        remaining = self._deliveries.state(delivery_id)
        answer = {"id": delivery_id, "handler": target, "delivered": remaining is None}
        return {**answer, **(dict(remaining) if remaining else {})}

    def _replay_target(self, handler: Any, event_id: str) -> str:
        """`handler` when it is a durable handler of the event `event_id` now (a Workers RPC
        caller reaches `replay` unchecked, so its type is checked here too)."""
        if not isinstance(handler, str):
            raise BadRequest(f"handler is a method's name, not {handler!r:.40}", code="invalid_params")
        event = self._deliveries.event(event_id)
        if event is None:
            return handler  # the retry forgets the letter: there is nothing to deliver
        registered = self.durable_handlers_for(event.type)
        if handler not in registered:
            listed = ", ".join(registered) if registered else "none"
            raise NotFound(
                f"No durable handler {handler!r} for {event.type}; its handlers now: {listed}",
                code="handler_not_found",
            )
        return handler

    # -- the timer sources -------------------------------------------------------

    async def _run_due_sends(self, now: int) -> int:
        sent = 0
        for row in self._sends.due(now, DUE_BATCH):
            # Cancelled (or taken by another pass) while an earlier send's handlers ran: the
            # rows were read before the first of them, and only a send still waiting goes.
            if not self._sends.delete(str(row["id"])):
                continue
            self._host.timers.changed()
            await self.send(str(row["type"]), row["data"], row["subject"], row["object"])
            sent += 1
        return sent

    async def _run_due_deliveries(self, now: int) -> int:
        retried = 0
        for event_id, handlers in self._deliveries.held_due(now, DUE_BATCH):
            if event_id in self._in_hand:  # queued behind a slow handler, or running now
                self._deliveries.extend_hold(event_id, now + RUN_LEASE_MS)
                self._host.timers.changed()
                continue
            event = self._deliveries.event(event_id)
            if event is None:
                self._deliveries.progress(event_id, [])
                continue
            self._in_hand.add(event_id)
            try:
                await self._run_held(event, handlers)
            finally:
                self._in_hand.discard(event_id)
            retried += len(handlers)
        for row in self._deliveries.due(now, DUE_BATCH):
            if str(row["id"]) in self._in_hand:
                # Queued behind a slow handler, or running now: not lost. Its lease moves on,
                # so the alarm does not wake for it again and again meanwhile.
                self._deliveries.extend_lease(str(row["id"]), now + RUN_LEASE_MS)
                self._host.timers.changed()
                continue
            await self._retry(row)
            retried += 1
        return retried
