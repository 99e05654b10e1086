"""The delivery queue in-process: first in, first out; a caller waits for its chain; code
inside a delivery, or a call arriving during one, never waits on it; handlers are cut off
after their time bound. Every run is bounded by `within`, so a deadlock fails instead of
hanging the suite."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.workflows.delivery import (
    MAX_HANDLER_TIMEOUT,
    HandlerTimeout,
    Outbox,
    validate_handler_timeout,
)
from dotdo.workflows.steps import CURRENT_RUN, RunContext

BOUND = 5.0  # seconds; only a deadlock comes anywhere near it


def within(coroutine: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, BOUND)

    return asyncio.run(bounded())


class Recorder:
    """An outbox whose items are strings; `on[item]` runs when `item` is delivered."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.on: dict[str, Callable[[], Awaitable[None]]] = {}
        self.idle = 0
        self.outbox: Outbox[str] = Outbox(self.deliver, self.became_idle)

    async def deliver(self, item: str) -> None:
        self.delivered.append(item)
        action = self.on.get(item)
        if action is not None:
            await self.outbox.run_handler(action, timeout=BOUND / 2)

    def became_idle(self) -> None:
        self.idle += 1

    async def send(self, item: str) -> None:
        """What DOWorkflow.send does: queue, then wait if this caller may."""
        with self.outbox.caller() as scope:
            self.outbox.put(item)
            await self.outbox.settle(scope)


def test_a_chain_is_delivered_first_in_first_out_before_the_caller_returns() -> None:
    r = Recorder()

    async def alpha() -> None:  # the handler: it sends, twice
        await r.send("beta")
        await r.send("delta")

    async def beta() -> None:
        await r.send("gamma")

    r.on = {"alpha": alpha, "beta": beta}

    async def main() -> list[str]:
        await r.send("alpha")
        return list(r.delivered)

    # delta was sent before gamma (by the handler of an earlier event), so it goes first
    assert within(main()) == ["alpha", "beta", "delta", "gamma"]
    assert r.idle >= 1


def test_a_call_arriving_during_a_delivery_does_not_wait_and_its_events_join_that_batch() -> None:
    r = Recorder()
    answered: list[str] = []

    async def call_back() -> None:
        # Another object calling back in: a new task with a fresh context, as the runtime
        # starts every incoming call.
        await r.send("pong")
        answered.append(f"answered after {list(r.delivered)}")

    async def ping() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_task(call_back(), context=contextvars.Context())  # the handler awaits it

    r.on = {"ping": ping}

    async def main() -> list[str]:
        await r.send("ping")
        return list(r.delivered)

    assert within(main()) == ["ping", "pong"]  # the caller of ping waited for pong as well
    assert answered == ["answered after ['ping']"]  # the call back did not wait for its event


def test_a_caller_arriving_while_idle_waits_and_one_arriving_mid_delivery_does_not() -> None:
    r = Recorder()
    release = asyncio.Event()
    seen: dict[str, bool] = {}

    async def slow() -> None:
        await release.wait()

    r.on = {"slow": slow}

    async def main() -> None:
        first = asyncio.get_running_loop().create_task(r.send("slow"), context=contextvars.Context())
        while not r.outbox.delivering:
            await asyncio.sleep(0)
        seen["idle caller waits"] = not first.done()
        await r.send("later")  # arrives mid-delivery: returns at once, queued
        seen["queued behind"] = r.delivered == ["slow"]
        release.set()
        await first
        seen["delivered in order"] = r.delivered == ["slow", "later"]

    within(main())
    assert seen == {"idle caller waits": True, "queued behind": True, "delivered in order": True}


def test_writes_without_a_scope_are_delivered_and_a_discarded_entry_releases_its_waiter() -> None:
    r = Recorder()

    async def main() -> list[str]:
        r.outbox.put("rpc-write")  # a Workers RPC method's write: nobody waits, still delivered
        with r.outbox.caller() as scope:
            kept = r.outbox.put("kept")
            rolled_back = r.outbox.put("rolled-back")
            assert r.outbox.discard(rolled_back) is True
            assert r.outbox.discard(rolled_back) is False
            await r.outbox.settle(scope)
            assert r.outbox.discard(kept) is False  # delivered already
        return list(r.delivered)

    assert within(main()) == ["rpc-write", "kept"]


def test_a_handler_that_never_returns_is_cut_off_and_the_queue_moves_on() -> None:
    r = Recorder()
    outcomes: list[str] = []

    async def never() -> None:
        await asyncio.Event().wait()

    async def stubborn() -> None:  # ignores the cancel: abandoned, not awaited
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            outcomes.append("stubborn ignored a cancel")
        await asyncio.sleep(3600)  # ended when asyncio.run closes the loop

    async def main() -> list[str]:
        for handler in (never, stubborn):
            try:
                await r.outbox.run_handler(handler, timeout=0.01)
            except HandlerTimeout as error:
                outcomes.append(str(error))
        await r.send("after")
        return list(r.delivered)

    assert within(main()) == ["after"]
    # the timeout does not wait for the cancelled handler to give up
    assert outcomes == ["timed out after 0.01 s", "timed out after 0.01 s", "stubborn ignored a cancel"]


def test_handlers_run_outside_the_workflow_run_of_their_caller_and_report_errors() -> None:
    r = Recorder()
    runs: list[object] = []

    def sync_handler() -> str:
        runs.append(CURRENT_RUN.get())
        return "done"

    async def failing() -> None:
        raise ValueError("boom")

    async def main() -> None:
        token = CURRENT_RUN.set(RunContext("run-1"))
        try:
            assert await r.outbox.run_handler(sync_handler, timeout=1) == "done"
            with pytest.raises(ValueError, match="boom"):
                await r.outbox.run_handler(failing, timeout=1)
        finally:
            CURRENT_RUN.reset(token)

    within(main())
    assert runs == [None]


def test_a_failing_delivery_is_logged_and_the_next_one_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    delivered: list[str] = []

    async def deliver(item: str) -> None:
        if item == "bad":
            raise RuntimeError("the deliver step itself broke")
        delivered.append(item)

    outbox: Outbox[str] = Outbox(deliver, lambda: None)

    async def main() -> None:
        with outbox.caller() as scope:
            outbox.put("bad")
            outbox.put("good")
            await outbox.settle(scope)

    with caplog.at_level(logging.ERROR, logger="dotdo.workflows"):
        within(main())
    assert delivered == ["good"]
    assert "delivering 'bad' failed" in caplog.text


def test_scopes_belong_to_one_object() -> None:
    """Code delivering for one object, calling into another in the same isolate, is a
    plain caller there: it waits for that object's handlers."""
    here, there = Recorder(), Recorder()

    async def call_there() -> None:
        await there.send("there")
        assert there.delivered == ["there"]

    here.on = {"here": call_there}

    async def main() -> None:
        await here.send("here")

    within(main())
    assert (here.delivered, there.delivered) == (["here"], ["there"])


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=30), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_any_tree_of_chained_sends_is_delivered_breadth_first(edges: list[tuple[int, bool]]) -> None:
    """Node i+1's parent is some node up to i (or a root, sent by the caller); a handler
    sends its children in order, some after an await. One queue, first in first out, gives
    breadth-first order, and the caller returns only once all of it is delivered."""
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    yields: set[str] = set()
    for index, (parent, awaits) in enumerate(edges):
        node = f"n{index}"
        if awaits:
            yields.add(node)
        if index == 0 or parent >= index:
            roots.append(node)
        else:
            children.setdefault(f"n{parent}", []).append(node)
    r = Recorder()

    def handler(node: str) -> Callable[[], Awaitable[None]]:
        async def send_children() -> None:
            for child in children.get(node, []):
                if node in yields:
                    await asyncio.sleep(0)
                await r.send(child)

        return send_children

    r.on = {node: handler(node) for node in children}

    async def main() -> list[str]:
        with r.outbox.caller() as scope:
            for root in roots:
                r.outbox.put(root)
            await r.outbox.settle(scope)
        return list(r.delivered)

    expected: list[str] = []
    queue = deque(roots)
    while queue:
        node = queue.popleft()
        expected.append(node)
        queue.extend(children.get(node, []))
    assert within(main()) == expected


@pytest.mark.parametrize("value", [30, 0.5, MAX_HANDLER_TIMEOUT])
def test_handler_timeouts_in_range_are_accepted(value: float) -> None:
    assert validate_handler_timeout(value, "App") == value


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (MAX_HANDLER_TIMEOUT + 1, ValueError),
        (True, TypeError),
        ("30", TypeError),
        (None, TypeError),
    ],
)
def test_handler_timeouts_out_of_range_are_refused_naming_the_class(value: object, error: type) -> None:
    with pytest.raises(error, match=r"App\.handler_timeout"):
        validate_handler_timeout(value, "App")


def test_enter_and_leave_are_the_callers_scope() -> None:
    """`enter` outside any scope enters a call's own batch, which it may wait for; inside
    one of the outbox's scopes it is that scope, entered again by nothing; `leave` puts
    the scope before it back, also when the block raised."""
    r = Recorder()

    async def main() -> None:
        outer, token = r.outbox.enter()
        assert token is not None and outer.may_wait and outer.batch is not None
        inner, none = r.outbox.enter()
        assert inner is outer and none is None
        r.outbox.leave(none)
        assert r.outbox.scope() is outer
        r.outbox.leave(token)
        assert r.outbox.scope() is None
        with pytest.raises(KeyError), r.outbox.caller() as scope:
            assert r.outbox.scope() is scope
            raise KeyError("the block")
        assert r.outbox.scope() is None

    within(main())
