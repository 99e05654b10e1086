"""A plain-def handler that drops a call of one of the object's coroutine methods
(`self.send_event(...)` without `await`) lost the event with only Python's RuntimeWarning: it is
logged when the class is defined. A call whose result is kept, or awaited, is not."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from dotdo import DOWorkflow, Noun, every, on
from dotdo.workflows.unawaited import dropped_calls


def compute(*args: Any) -> int:
    return 1


class Shapes:
    async def send_event(self, *args: Any, **kwargs: Any) -> None: ...

    def dropped(self, event: Any) -> None:
        self.send_event(
            "Triage.done", {"id": compute(event, [1, 2]), "n": len(str(event))}, subject=str(event)
        )

    def returned(self, event: Any) -> Any:
        return self.send_event("Triage.done")  # the handler's caller awaits what it returns

    def kept(self, event: Any) -> Any:
        pending = self.send_event("Triage.done")
        return pending

    def named_only(self, event: Any) -> None:
        print(self.send_event)

    def another_receiver(self, event: Any, other: Any) -> None:
        other.send_event("Triage.done")  # not the object's own: its method may be synchronous

    async def awaited(self, event: Any) -> None:
        await self.send_event("Triage.done")


@pytest.mark.parametrize(
    ("method", "dropped"),
    [
        ("dropped", ["send_event"]),
        ("returned", []),
        ("kept", []),
        ("named_only", []),
        ("another_receiver", []),
        ("awaited", []),
    ],
)
def test_only_a_dropped_call_of_the_objects_own_is_found(method: str, dropped: list[str]) -> None:
    assert [name for name, _ in dropped_calls(getattr(Shapes, method), ["send_event"])] == dropped


def test_a_plain_handler_dropping_send_event_is_a_warning_when_the_class_is_defined(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dotdo.workflows"):

        class Desk(DOWorkflow):
            declared_nouns = (Noun("Ticket"),)

            @on.Ticket.created
            def triage(self, event: Any) -> None:
                self.send_event("Triage.done", {"ticket": event.subject})

            @on.Ticket.updated
            async def fine(self, event: Any) -> None:
                await self.send_event("Triage.done")
                self.emit("Triage.noted")

            async def notify(self, who: str) -> None: ...

            @every.hour
            def sweep(self) -> None:
                self.notify("ann")

    messages = [r.getMessage().rpartition("<locals>.")[2] for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("Desk: handler triage is a plain def and drops self.send_event(...) (line ")
    assert messages[0].endswith(
        "a coroutine: the call does nothing until awaited. Make triage an async def and await "
        "self.send_event(...) (or the synchronous self.emit(...))"
    )
    assert messages[1].startswith("Desk: schedule handler sweep is a plain def and drops self.notify(...)")


def test_a_plain_rpc_method_dropping_send_event_is_a_warning_too(caplog: pytest.LogCaptureFixture) -> None:
    """`@rpc def borrow(...)` calling `self.send_event(...)` answered 200 and sent nothing,
    with no word but Python's RuntimeWarning, where the same line in a handler was named."""
    from dotdo import rpc

    with caplog.at_level(logging.WARNING, logger="dotdo.workflows"):

        class Library(DOWorkflow):
            @rpc
            def borrow(self, book: str) -> str:
                self.send_event("Book.borrowed", {"book": book})
                return book

            @rpc
            async def renew(self, book: str) -> None:
                await self.send_event("Book.renewed", {"book": book})

    messages = [r.getMessage().rpartition("<locals>.")[2] for r in caplog.records]
    assert len(messages) == 1, messages
    assert messages[0].startswith("Library: RPC method borrow is a plain def and drops self.send_event(...)")


def test_a_sync_wrapper_of_a_coroutine_method_is_judged_as_the_class_holds_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A method a decorator wraps in a synchronous function (fire and forget: it returns
    `asyncio.ensure_future(...)`) was taken for the `async def` it wraps, and a plain handler
    calling it was warned of falsely."""
    import asyncio
    import functools
    from collections.abc import Callable, Coroutine

    def fire_and_forget(
        function: Callable[..., Coroutine[Any, Any, None]],
    ) -> Callable[..., asyncio.Future[None]]:
        @functools.wraps(function)
        def wrapper(self: Any, *args: Any) -> asyncio.Future[None]:
            return asyncio.ensure_future(function(self, *args))

        return wrapper

    with caplog.at_level(logging.WARNING, logger="dotdo.workflows"):

        class Shop(DOWorkflow):
            declared_nouns = (Noun("Order"),)

            @fire_and_forget
            async def notify(self, order: str) -> None: ...

            async def later(self, order: str) -> None: ...

            @on.Order.created
            def placed(self, event: Any) -> None:
                self.notify(event.subject)

            @on.Order.updated
            def changed(self, event: Any) -> None:
                self.later(event.subject)  # an async def of its own: dropped for real

    messages = [r.getMessage().rpartition("<locals>.")[2] for r in caplog.records]
    assert len(messages) == 1, messages
    assert messages[0].startswith("Shop: handler changed is a plain def and drops self.later(...)")


def test_a_plain_handler_of_a_mixin_is_warned_of_once(caplog: pytest.LogCaptureFixture) -> None:
    """Each class using the mixin logged the same warning again, naming itself."""
    with caplog.at_level(logging.WARNING, logger="dotdo.workflows"):

        class Notifying:
            @on.Ticket.created
            def triage(self, event: Any) -> None:
                self.send_event("Triage.done")  # type: ignore[attr-defined]

        class First(Notifying, DOWorkflow):
            declared_nouns = (Noun("Ticket"),)

        class Second(Notifying, DOWorkflow):
            declared_nouns = (Noun("Ticket"),)

    messages = [r.getMessage().rpartition("<locals>.")[2] for r in caplog.records]
    assert len(messages) == 1, messages
    assert messages[0].startswith("Notifying: handler triage is a plain def and drops self.send_event(...)")
    assert First and Second
