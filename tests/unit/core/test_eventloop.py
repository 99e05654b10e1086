"""The batched event loop: every callback handed to the loop runs, in order, one batch per
turn of the runtime, in a macrotask (here: a call of the scheduled `run`) of that turn's own,
and what a batch adds waits for the next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from dotdo.core.eventloop import batch_callbacks, install


class Macrotasks:
    """What the runtime's event loop would run: the scheduled batches, one at a time, each
    a turn, with the microtasks of a turn run when it ends. The test's own code is a turn
    too, ended by `end_turn()` (or the next `run_one()`)."""

    def __init__(self) -> None:
        self.queue: list[Callable[[], None]] = []
        self.microtasks: list[Callable[[], None]] = []
        self.ran = 0

    def schedule(self, run: Callable[[], None]) -> None:
        self.queue.append(run)

    def at_turn_end(self, end: Callable[[], None]) -> None:
        self.microtasks.append(end)

    def end_turn(self) -> None:
        while self.microtasks:
            self.microtasks.pop(0)()

    def run_one(self) -> None:
        self.end_turn()
        self.ran += 1
        try:
            self.queue.pop(0)()
        finally:
            self.end_turn()

    def drop_one(self) -> None:
        """The next macrotask is never delivered: the context that scheduled it is gone."""
        self.end_turn()
        self.queue.pop(0)

    def run_all(self, limit: int = 100) -> None:
        while self.queue and limit:
            self.run_one()
            limit -= 1


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def tasks(loop: asyncio.AbstractEventLoop) -> Macrotasks:
    """The runtime's macrotasks, `loop` batched onto them."""
    tasks = Macrotasks()
    batch_callbacks(loop, tasks.schedule, tasks.at_turn_end)
    return tasks


def test_callbacks_handed_in_a_row_run_in_order_in_one_macrotask(loop: asyncio.AbstractEventLoop) -> None:
    tasks = Macrotasks()
    assert batch_callbacks(loop, tasks.schedule, tasks.at_turn_end)
    seen: list[int] = []
    for n in range(5):
        loop.call_soon(seen.append, n)
    assert len(tasks.queue) == 1 and seen == []
    tasks.run_all()
    assert seen == [0, 1, 2, 3, 4] and tasks.ran == 1


def test_a_callback_added_by_a_batch_waits_for_the_next_macrotask(
    loop: asyncio.AbstractEventLoop, tasks: Macrotasks
) -> None:
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        loop.call_soon(seen.append, "added")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    tasks.run_one()
    assert seen == ["first", "second"] and len(tasks.queue) == 1  # the runtime's events come between
    tasks.run_one()
    assert seen == ["first", "second", "added"] and not tasks.queue


def test_cancelled_callbacks_are_skipped_and_a_failing_one_stops_nothing(
    loop: asyncio.AbstractEventLoop, tasks: Macrotasks
) -> None:
    reported: list[object] = []
    loop.set_exception_handler(lambda _, context: reported.append(context["exception"]))
    seen: list[int] = []
    loop.call_soon(seen.append, 1).cancel()
    loop.call_soon(lambda: 1 / 0)
    loop.call_soon(seen.append, 3)
    tasks.run_all()
    assert seen == [3]
    assert [type(error) for error in reported] == [ZeroDivisionError]


def test_a_base_exception_leaves_the_rest_for_the_next_macrotask(
    loop: asyncio.AbstractEventLoop, tasks: Macrotasks
) -> None:
    seen: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    loop.call_soon(interrupt)
    loop.call_soon(seen.append, "after")
    with pytest.raises(KeyboardInterrupt):
        tasks.run_one()
    tasks.run_all()
    assert seen == ["after"]


def test_tasks_and_futures_run_to_the_end_on_a_batched_loop(
    loop: asyncio.AbstractEventLoop, tasks: Macrotasks
) -> None:
    asyncio.set_event_loop(loop)
    try:
        future = loop.create_future()
        order: list[str] = []

        async def waiter() -> str:
            order.append("waiting")
            value = await future
            order.append(f"woke with {value}")
            return str(value)

        async def resolver() -> None:
            await asyncio.sleep(0)
            future.set_result(7)
            order.append("resolved")

        done = loop.create_task(waiter())
        loop.create_task(resolver())
        tasks.run_all()
        assert done.done() and done.result() == "7"
        assert order == ["waiting", "resolved", "woke with 7"]
        # Five callbacks (two first steps, the sleep's wake-up, the future's done callback,
        # the resolver's end); three macrotasks, each running what the one before added.
        assert tasks.ran == 3
    finally:
        asyncio.set_event_loop(None)


def test_a_loop_is_batched_once_and_plain_python_is_left_alone(loop: asyncio.AbstractEventLoop) -> None:
    tasks = Macrotasks()
    assert batch_callbacks(loop, tasks.schedule, tasks.at_turn_end)
    assert not batch_callbacks(loop, tasks.schedule, tasks.at_turn_end)
    assert install() is False  # no Pyodide here


def test_a_batch_whose_macrotask_never_comes_holds_back_only_its_own_turn(
    loop: asyncio.AbstractEventLoop, tasks: Macrotasks
) -> None:
    # workerd drops the macrotasks of a context it aborted (ctx.abort(), a broken object):
    # the callbacks handed to the loop in later turns, by any object, still run.
    seen: list[str] = []
    loop.call_soon(seen.append, "aborted object")
    tasks.drop_one()
    loop.call_soon(seen.append, "another object")
    loop.call_soon(seen.append, "the same turn")
    tasks.run_all()
    assert seen == ["another object", "the same turn"] and tasks.ran == 1


def test_a_batch_run_in_an_aborted_turn_leaves_later_turns_their_own(
    loop: asyncio.AbstractEventLoop, tasks: Macrotasks
) -> None:
    # The object aborts inside a batch: what the batch adds is scheduled from the aborted
    # context and never runs; a later turn's callbacks run all the same.
    seen: list[str] = []
    loop.call_soon(lambda: loop.call_soon(seen.append, "after the abort"))
    tasks.run_one()
    tasks.drop_one()
    loop.call_soon(seen.append, "next request")
    tasks.run_all()
    assert seen == ["next request"]


def test_each_turn_gets_a_batch_of_its_own(loop: asyncio.AbstractEventLoop, tasks: Macrotasks) -> None:
    seen: list[int] = []
    loop.call_soon(seen.append, 1)
    loop.call_soon(seen.append, 2)
    tasks.end_turn()
    loop.call_soon(seen.append, 3)
    assert len(tasks.queue) == 2
    tasks.run_all()
    assert seen == [1, 2, 3] and tasks.ran == 2
