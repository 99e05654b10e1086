"""The commit delay with siblings (`storage/commit.py`, ADR 0029), in-process with timers the
test fires by hand: a group opened while other requests are in the object waits until
they all wait for it or have finished, or until its delay runs out; with no sibling it is
logged at once; a failed row fails every request waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.semantic.graph import GRAPH_TABLES
from dotdo.semantic.store import THING_TABLES, ThingRecord
from dotdo.storage.commit import in_request
from dotdo.storage.log import STORAGE_TABLES
from dotdo.storage.tiers import TieredThingStore, TierOptions
from tests.inprocess import T0, run
from tests.storage import Clock, Storage


class Timer:
    """One `call_later` the test fires by hand."""

    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay, self.callback, self.cancelled = delay, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """`call_later` that only records: `fire()` runs what is due, as the loop would."""

    def __init__(self) -> None:
        self.made: list[Timer] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.made.append(timer)
        return timer

    @property
    def pending(self) -> list[Timer]:
        return [t for t in self.made if not t.cancelled]

    def fire(self) -> None:
        for timer in self.pending:
            timer.cancelled = True
            timer.callback()


class Object:
    """The tiers of one object, in strict mode, with hand-fired timers."""

    def __init__(self, delay_ms: int = 2, **options: Any) -> None:
        self.storage = Storage()
        self.sql = Sql(self.storage)
        migrate(self.sql, [THING_TABLES, GRAPH_TABLES, STORAGE_TABLES], T0)
        self.timers = Timers()
        self.options = TierOptions(commit_delay_ms=delay_ms, **options)
        self.tiers = TieredThingStore(self.sql, Clock(T0), self.options, call_later=self.timers)
        self.answered: list[str] = []
        self.failed: list[tuple[str, BaseException]] = []

    def write(self, thing_id: str) -> None:
        record = ThingRecord(thing_id, "Item", "{}", T0, T0, None, 1)
        assert self.tiers.insert(record)

    async def request(
        self, name: str, before: Awaitable[Any] | None = None, write: str | None = None
    ) -> None:
        """One request as `DOStorage.fetch` serves it: in the object, perhaps awaiting
        something first, perhaps one write, then the wait for its group; answered or failed."""
        try:
            with self.tiers.serving():
                if before is not None:
                    await before
                if write is not None:
                    self.write(write)
                await self.tiers.durable()
        except Exception as error:
            self.failed.append((name, error))
            return
        self.answered.append(name)

    def logged(self) -> set[str]:
        """The things a restart finds (in the log)."""
        again = TieredThingStore(self.sql, Clock(T0), self.options)
        return {i for i in ("a", "b", "c", "d") if again.read(i) is not None}

    def figures(self) -> dict[str, Any]:
        return dict(self.tiers.stats()["l1"])


async def turns(n: int = 5) -> None:
    """Let the event loop run `n` turns (what is ready runs; no time passes)."""
    for _ in range(n):
        await asyncio.sleep(0)


def test_a_write_with_no_sibling_is_logged_at_once_without_a_timer() -> None:
    obj = Object()

    async def main() -> None:
        await obj.request("a", write="a")

    run(main())
    assert obj.answered == ["a"]
    assert obj.timers.made == []
    assert obj.figures()["groups_delayed"] == 0
    assert obj.logged() == {"a"}


def test_a_lone_write_is_logged_when_its_request_waits_without_suspending() -> None:
    """With no sibling, the request's own wait logs its group: it returns without handing
    the event loop a turn (under Pyodide each is a macrotask, ADR 0031), and only once the
    row is committed."""
    obj = Object()

    async def main() -> None:
        request = obj.request("a", write="a")
        with pytest.raises(StopIteration):
            request.send(None)  # it never suspended: the first step ran it to its answer
        assert obj.answered == ["a"]
        assert obj.tiers.log.rows_appended == 1

    run(main())
    figures = obj.figures()
    assert (figures["groups_logged"], figures["group_writes_logged"]) == (1, 1)
    assert obj.logged() == {"a"}


def test_a_lone_writes_failed_row_fails_its_request_at_once() -> None:
    obj = Object()
    append = obj.tiers.log.append

    def broken(bodies: list[str]) -> int:
        raise RuntimeError("disk full")

    async def main() -> None:
        obj.tiers.log.append = broken  # type: ignore[method-assign]
        await obj.request("a", write="a")
        assert [str(error) for _, error in obj.failed] == ["disk full"]
        obj.tiers.log.append = append  # type: ignore[method-assign]
        await obj.request("b", write="b")

    run(main())
    assert obj.answered == ["b"]
    assert obj.logged() == {"a", "b"}


def test_a_group_logged_before_its_turn_does_not_log_the_next_group_early() -> None:
    """A group due on the next turn but taken into a row before it (a checkpoint here)
    calls its turn off: run, it logged whichever group was open by then, ahead of that
    group's own wait for its siblings."""
    obj = Object()
    groups = obj.tiers._groups  # the commit delay is an attribute: set per group below

    async def main() -> None:
        body = asyncio.get_running_loop().create_future()
        b = asyncio.create_task(obj.request("b", before=body))
        await turns()
        groups.delay_ms = 0
        with obj.tiers.serving():
            obj.write("a")  # due on the next turn (no delay)
            obj.tiers.flush()  # ...but checkpointed, so logged, now
        groups.delay_ms = 2
        with obj.tiers.serving():
            obj.write("c")  # b is a sibling: this group waits for it
        waiting = asyncio.ensure_future(obj.tiers.durable())
        await turns()
        assert not waiting.done(), "c's group waits for b, not for a's turn"
        body.set_result(None)
        await asyncio.gather(b, waiting)

    run(main())
    assert obj.answered == ["b"]
    assert obj.figures()["group_delays_expired"] == 0
    assert obj.logged() == {"a", "c"}


def counted_transactions(obj: Object) -> list[int]:
    """The `transactionSync` calls of `obj`'s storage from now on (one item each)."""
    calls: list[int] = []
    sync = obj.storage.transactionSync

    def counted(callback: Callable[[], Any]) -> Any:
        calls.append(1)
        return sync(callback)

    obj.storage.transactionSync = counted  # type: ignore[method-assign]
    return calls


def test_a_group_that_fits_one_row_is_logged_by_its_insert_alone() -> None:
    """The group's row is one INSERT, all or nothing by itself: no `transactionSync`
    around it (`Sql.one_statement`, ADR 0034)."""
    obj = Object()
    calls = counted_transactions(obj)

    async def main() -> None:
        with obj.tiers.serving():
            obj.write("a")
            assert len(calls) == 1  # the write's own turn
            await obj.tiers.durable()
        assert len(calls) == 1

    run(main())
    assert obj.tiers.log.rows_appended == 1
    assert obj.logged() == {"a"}


def test_a_group_of_more_than_one_row_is_logged_in_a_transaction() -> None:
    obj = Object(max_row_bytes=60)  # one thing entry a row
    calls = counted_transactions(obj)

    async def main() -> None:
        with obj.tiers.serving():
            obj.write("a")
            obj.write("b")
            await obj.tiers.durable()

    run(main())
    assert len(calls) == 3  # the two writes' turns, then the group's two rows together
    assert obj.tiers.log.rows_appended == 2
    assert obj.logged() == {"a", "b"}


def test_a_sibling_that_writes_joins_the_group_and_one_row_logs_both() -> None:
    obj = Object()

    async def main() -> None:
        body = asyncio.get_running_loop().create_future()  # the sibling still reads its body
        b = asyncio.create_task(obj.request("b", before=body, write="b"))
        await turns()
        a = asyncio.create_task(obj.request("a", write="a"))
        await turns()
        assert obj.answered == [], "a waits for its sibling"
        assert len(obj.timers.pending) == 1
        appended = obj.tiers.log.rows_appended
        body.set_result(None)
        await asyncio.gather(a, b)
        assert obj.tiers.log.rows_appended - appended == 1

    run(main())
    assert sorted(obj.answered) == ["a", "b"]
    assert obj.timers.pending == [], "the delay was called off"
    figures = obj.figures()
    assert (figures["groups_delayed"], figures["group_delays_expired"]) == (1, 0)
    assert (figures["groups_logged"], figures["group_writes_logged"], figures["group_siblings"]) == (1, 2, 1)
    assert obj.logged() == {"a", "b"}


def test_a_sibling_that_finishes_without_writing_ends_the_wait() -> None:
    obj = Object()

    async def main() -> None:
        reading = asyncio.get_running_loop().create_future()
        b = asyncio.create_task(obj.request("b", before=reading))
        await turns()
        a = asyncio.create_task(obj.request("a", write="a"))
        await turns()
        assert obj.answered == []
        reading.set_result(None)  # b answers a read: it waits for a's group too, then both go
        await asyncio.gather(a, b)

    run(main())
    assert sorted(obj.answered) == ["a", "b"]
    assert obj.timers.pending == []
    assert obj.figures()["group_delays_expired"] == 0


def test_the_delay_runs_out_and_a_slow_sibling_is_not_waited_for_again() -> None:
    obj = Object(delay_ms=5)

    async def main() -> None:
        slow = asyncio.get_running_loop().create_future()  # an AI call, a stub: it takes its time
        b = asyncio.create_task(obj.request("b", before=slow, write="b"))
        await turns()
        a = asyncio.create_task(obj.request("a", write="a"))
        await turns()
        assert obj.answered == []
        assert [t.delay for t in obj.timers.pending] == [0.005]
        obj.timers.fire()
        await a
        assert obj.answered == ["a"]
        # b is idle now: the next write does not wait for it.
        await obj.request("c", write="c")
        assert obj.answered == ["a", "c"]
        assert len(obj.timers.made) == 1
        # Once b writes it is a sibling again.
        slow.set_result(None)
        await b

    run(main())
    assert obj.answered == ["a", "c", "b"]
    figures = obj.figures()
    assert (figures["groups_delayed"], figures["group_delays_expired"]) == (1, 1)
    assert obj.logged() == {"a", "b", "c"}


def test_no_delay_when_commit_delay_ms_is_0() -> None:
    obj = Object(delay_ms=0)

    async def main() -> None:
        slow = asyncio.get_running_loop().create_future()
        b = asyncio.create_task(obj.request("b", before=slow))
        await turns()
        await obj.request("a", write="a")
        slow.set_result(None)
        await b

    run(main())
    assert obj.answered == ["a", "b"]
    assert obj.timers.made == []


def test_a_failed_group_row_fails_every_waiter_and_a_later_request_is_still_logged() -> None:
    obj = Object()
    append = obj.tiers.log.append

    def broken(bodies: list[str]) -> int:
        raise RuntimeError("disk full")

    async def main() -> None:
        body = asyncio.get_running_loop().create_future()
        b = asyncio.create_task(obj.request("b", before=body, write="b"))
        await turns()
        a = asyncio.create_task(obj.request("a", write="a"))
        await turns()
        obj.tiers.log.append = broken  # type: ignore[method-assign]
        body.set_result(None)
        await asyncio.gather(a, b)
        assert obj.answered == []
        obj.tiers.log.append = append  # type: ignore[method-assign]
        # The failed writes are still held; a later request's wait logs them with its own.
        await obj.request("c", write="c")

    run(main())
    assert sorted(name for name, _ in obj.failed) == ["a", "b"]
    assert all(str(error) == "disk full" for _, error in obj.failed)
    assert obj.answered == ["c"]
    assert obj.logged() == {"a", "b", "c"}


def test_a_request_waiting_for_a_put_back_group_gets_its_commit() -> None:
    """A group put back by a failed row is scheduled again when a request waits for it
    (it used to stay marked as scheduled, and the request waited for the checkpoint)."""
    obj = Object()
    append = obj.tiers.log.append
    calls = 0

    def fails_once(bodies: list[str]) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("busy")
        return append(bodies)

    obj.tiers.log.append = fails_once  # type: ignore[method-assign]

    async def main() -> None:
        await obj.request("a", write="a")
        assert [name for name, _ in obj.failed] == ["a"]
        with obj.tiers.serving():  # a read: it saw a's write, so it waits for the group
            waiting = asyncio.ensure_future(obj.tiers.durable())
            await turns()
            assert waiting.done()
            await waiting

    run(main())
    assert obj.logged() == {"a"}


def test_the_commit_delay_is_checked_when_the_options_are_made() -> None:
    assert TierOptions().commit_delay_ms >= 0
    for bad in (-1, 1001, 1.5, True):
        with pytest.raises(ValueError, match="commit_delay_ms"):
            TierOptions(commit_delay_ms=bad)  # type: ignore[arg-type]


def test_a_request_that_raises_leaves_the_object_and_its_group_is_logged() -> None:
    """`serving()` left by an error (a handler that raised past the router): the request is
    no longer in the object nor the running code's request, and a group whose delay waited
    only for it is logged as it leaves."""
    obj = Object()

    async def main() -> None:
        body = asyncio.get_running_loop().create_future()
        b = asyncio.create_task(obj.request("b", before=body))
        await turns()
        with pytest.raises(RuntimeError, match="the handler failed"), obj.tiers.serving():
            obj.write("a")  # b is a sibling: the group waits for it, a delay running
            raise RuntimeError("the handler failed")
        assert obj.tiers._groups.requests == 1  # b only
        assert not in_request()
        assert obj.logged() == set()
        body.set_result(None)
        await b  # b waits for the group, which now waits for no one: logged as b leaves
        assert obj.tiers._groups.requests == 0

    run(main())
    assert obj.answered == ["b"]
    assert obj.logged() == {"a"}


def test_synchronous_code_inside_serving_is_the_request() -> None:
    """With no event loop running (no task), code inside `serving()` is the request's own
    (`serving` saw no task either), and outside it none is."""
    obj = Object()
    with obj.tiers.serving():
        assert in_request()
        with obj.tiers.serving():
            assert in_request() and obj.tiers._groups.requests == 2
        assert in_request() and obj.tiers._groups.requests == 1
    assert not in_request() and obj.tiers._groups.requests == 0
