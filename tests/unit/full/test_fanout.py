"""Fan-out in-process: targets parsed and checked against Cloudflare's bounds, never more
than `concurrency` calls in flight, each target's outcome reported, the merge helpers, and
a durable fan-out that dies half-way calling only the missing targets when replayed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.errors import NotFound
from dotdo.full.fanout import (
    FANOUT_COMPONENT,
    MAX_CALLS,
    FanOut,
    FanOutFailed,
    FanOutResult,
    Outcome,
    parse_targets,
)
from dotdo.semantic.registry import Noun
from dotdo.semantic.strict import NounPolicy
from dotdo.values import MAX_STORED_DEPTH, PAGE_DEPTH
from dotdo.workflows.steps import workflow
from tests.inprocess import App, InProcess, run
from tests.unit.semantic.test_event_depth import arrays
from tests.unit.semantic.test_strict import Registry

LEASE = 60_000


class Crash(BaseException):
    """The runtime dying under the fan-out (nothing after it runs)."""


class Network:
    """Stand-in objects: each target name's stub counts its calls and answers, fails,
    hangs or crashes the runtime as `behaviour` says; `peak` is the most calls in flight."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.behaviour: dict[str, str] = {}
        self.answers: dict[str, Any] = {}
        self.in_flight = 0
        self.peak = 0

    def stub(self, type_name: str, thing_id: str) -> Any:
        network, name = self, f"{type_name}/{thing_id}"

        class Stub:
            async def ping(self, tag: str) -> Any:
                network.calls[name] = network.calls.get(name, 0) + 1
                network.in_flight += 1
                network.peak = max(network.peak, network.in_flight)
                try:
                    await asyncio.sleep(0)  # let the others start: the bound must hold them back
                    behaviour = network.behaviour.get(name)
                    if behaviour == "fail" or (behaviour == "fail_once" and network.calls[name] == 1):
                        raise RuntimeError(f"{name} refuses")
                    if behaviour == "hang":
                        await asyncio.Event().wait()
                    if behaviour == "crash":
                        raise Crash()
                    if behaviour == "bytes":
                        return b"not json"
                    if name in network.answers:
                        return network.answers[name]
                    return {"from": name, "tag": tag}
                finally:
                    network.in_flight -= 1

        return Stub()


NETWORK = Network()


class Caller(App):
    def __init__(self, obj: InProcess) -> None:
        super().__init__(obj)
        migrate(obj.sql, [FANOUT_COMPONENT], obj.clock())

    @property
    def fanout(self) -> FanOut:  # the run engine is composed after the app
        return FanOut(self.obj.sql, self.obj.runs, NETWORK.stub, self.obj.timers.now)

    @workflow
    async def spread(self, spec: dict[str, Any]) -> dict[str, Any]:
        result = await self.fanout.run(spec["targets"], "ping", "flow", concurrency=spec["concurrency"])
        return result.to_dict()


@pytest.fixture(autouse=True)
def network() -> Network:
    NETWORK.__init__()  # type: ignore[misc]
    return NETWORK


def test_targets_by_noun_and_id_by_name_and_as_labelled_stubs() -> None:
    stub = object()
    parsed = parse_targets([("Customer", "c1"), "Order/o:2", stub])
    assert [(t.label, t.type_name, t.thing_id) for t in parsed] == [
        ("Customer/c1", "Customer", "c1"),
        ("Order/o:2", "Order", "o:2"),
        ("#2", None, None),
    ]
    assert parsed[2].stub is stub
    assert [t.label for t in parse_targets({"eu": stub, "us": "Region/us"})] == ["eu", "us"]
    for bad in ([], "Customer/c1", ["no-slash"], ["/c1"], [("Customer",)], [None], [3], ["A/1", ("A", "1")]):
        with pytest.raises(ValueError):
            parse_targets(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["globex/Project/p1", "acme/Project/p1"])
def test_a_target_naming_a_tenant_says_targets_are_the_tenants_own(target: str) -> None:
    """`"globex/Project/p1"` was refused as "Invalid type name 'globex'": a target names a
    thing of the caller's own tenant, which it never spells (ADR 0054)."""
    with pytest.raises(ValueError) as refused:
        parse_targets([target])
    assert "own tenant" in str(refused.value) and repr(target) in str(refused.value)
    assert "Invalid type name" not in str(refused.value)


@pytest.mark.parametrize(
    "target",
    [
        "T/a/b",  # an id has no slash: no thing is called "a/b"
        "T/a\u0000",
        "T/" + "a" * 200,  # an id is at most 128 characters
        "t/a",  # a noun is PascalCase
        "T/-a",
        "T" * 65 + "/a",  # a noun is at most 64 characters
        ("T", "a b"),
        ("t", "a"),
    ],
)
def test_a_target_is_checked_as_a_things_reference_before_any_call(network: Network, target: Any) -> None:
    with pytest.raises(ValueError, match="names no thing") as refused:
        parse_targets(["Fine/ok", target])
    assert repr(target) in str(refused.value)  # the message names the target
    obj = InProcess(Caller)  # a workflow step: the input is JSON, a pair its "Noun/id" text
    named = "/".join(target) if isinstance(target, tuple) else target
    started = run(obj.runs.start("spread", {"targets": ["Fine/ok", named], "concurrency": 2}, "bad"))
    assert started["status"] == "failed" and "names no thing" in started["error"]
    assert network.calls == {}  # refused before the first call, not at the remote end


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 7}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": 301}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"retries": {"limit": 2, "delay": 60}}, "wait at most"),
    ],
)
def test_options_are_checked_before_any_call(network: Network, options: dict[str, Any], message: str) -> None:
    obj = InProcess(Caller)
    with pytest.raises(ValueError, match=message):
        run(obj.app.fanout.run(["A/1"], "ping", "x", **options))
    assert network.calls == {}


class Checked:
    """The stubs as `DOWorkflow.stub` makes them: the noun policy's check first (counted)."""

    def __init__(self, policy: NounPolicy) -> None:
        self.policy = policy
        self.checks: list[str] = []

    def stub(self, type_name: str, thing_id: str) -> Any:
        self.checks.append(self.policy.check(type_name))
        return NETWORK.stub(type_name, thing_id)


def test_a_target_of_a_noun_the_policy_refuses_is_refused_before_any_call(network: Network) -> None:
    """A target `Branch/globex` reached an object whose noun a `strict_nouns` class does not
    know; it is the thing routes' 404 `unknown_noun`, before the first target is called:
    the stubs are made (and so checked) before any call."""
    obj = InProcess(Caller)
    resolver = Checked(NounPolicy(Registry(Noun("Customer").resolved()), strict=True))  # type: ignore[arg-type]
    fanout = FanOut(obj.sql, obj.runs, resolver.stub, obj.timers.now)
    with pytest.raises(NotFound) as refused:
        run(fanout.run(["Customer/c1", "Branch/globex", stub_of("Anything/x")], "ping", "x"))
    assert refused.value.code == "unknown_noun" and "'Branch'" in refused.value.message
    assert network.calls == {}
    run(fanout.run(["Customer/c1", stub_of("Anything/x")], "ping", "x"))  # a stub names no noun
    assert network.calls == {"Customer/c1": 1, "Anything/x": 1}


def test_each_targets_noun_is_checked_once_and_again_only_for_a_fresh_stub(network: Network) -> None:
    """The check ran twice a target (the fan-out's own, then the stub's); now once, with the
    stub made before any call, and again only when a retry makes a fresh stub."""
    obj = InProcess(Caller)
    resolver = Checked(NounPolicy(Registry(Noun("Customer").resolved()), strict=True))  # type: ignore[arg-type]
    fanout = FanOut(obj.sql, obj.runs, resolver.stub, obj.timers.now)
    network.behaviour["Customer/c2"] = "fail_once"
    result = run(fanout.run(["Customer/c1", "Customer/c2", "Customer/c3"], "ping", "x", retries=1))
    assert result.ok and [o.attempts for o in result.outcomes] == [1, 2, 1]
    assert sorted(resolver.checks) == ["Customer"] * 4  # three stubs, and c2's fresh one


def test_without_the_stubs_binding_each_target_reports_it(network: Network) -> None:
    """A `stub_binding` the Worker lacks is a LookupError per target (as documented), not an
    exception from the fan-out."""

    def unbound(type_name: str, thing_id: str) -> Any:
        raise LookupError("stub_binding is 'DOTDO', which is no Durable Object binding")

    obj = InProcess(Caller)
    result = run(FanOut(obj.sql, obj.runs, unbound, obj.timers.now).run(["Customer/c1"], "ping", "x"))
    assert not result.ok and "LookupError" in str(result.outcomes[0].error)


def stub_of(name: str) -> Any:
    type_name, _, thing_id = name.partition("/")
    return NETWORK.stub(type_name, thing_id)


def test_calls_retries_included_stay_under_the_subrequest_limit(network: Network) -> None:
    obj = InProcess(Caller)
    targets = [f"A/{n}" for n in range(MAX_CALLS // 2 + 1)]
    with pytest.raises(ValueError, match="subrequests"):
        run(obj.app.fanout.run(targets, "ping", "x", retries=1))
    with pytest.raises(ValueError, match="public method"):
        run(obj.app.fanout.run(["A/1"], "_secret"))
    assert network.calls == {}


@settings(max_examples=25)
@given(targets=st.integers(min_value=1, max_value=40), concurrency=st.integers(min_value=1, max_value=6))
def test_never_more_calls_in_flight_than_the_bound(targets: int, concurrency: int) -> None:
    NETWORK.__init__()  # type: ignore[misc]
    obj = InProcess(Caller)
    names = [f"A/{n}" for n in range(targets)]
    result = run(obj.app.fanout.run(names, "ping", "x", concurrency=concurrency))
    assert NETWORK.peak == min(concurrency, targets)
    assert sorted(NETWORK.calls) == sorted(names) and set(NETWORK.calls.values()) == {1}
    assert [o.target for o in result.outcomes] == names


def test_partial_failure_is_a_result(network: Network) -> None:
    network.behaviour.update({"A/1": "fail", "A/2": "hang", "A/3": "fail_once", "A/4": "bytes"})
    obj = InProcess(Caller)
    result = run(obj.app.fanout.run([f"A/{n}" for n in range(5)], "ping", "x", timeout=0.05, retries=1))
    by = {o.target: o for o in result.outcomes}
    assert by["A/0"].value == {"from": "A/0", "tag": "x"} and by["A/0"].attempts == 1
    assert by["A/1"].error == "RuntimeError: A/1 refuses" and by["A/1"].attempts == 2
    assert by["A/2"].error == "TimeoutError: timed out after 0.05 s"
    assert by["A/3"].ok and by["A/3"].attempts == 2
    assert not by["A/4"].ok and "JSON" in str(by["A/4"].error) and by["A/4"].attempts == 1  # not retried
    assert not result.ok and set(result.errors()) == {"A/1", "A/2", "A/4"}
    assert result.gather() == {"A/0": by["A/0"].value, "A/3": by["A/3"].value}
    with pytest.raises(FanOutFailed) as failed:
        result.gather(strict=True)
    assert failed.value.result is result


def merged(*values: Any) -> FanOutResult:
    return FanOutResult(
        "m",
        tuple(
            Outcome(f"T/{n}", False, error="E: no") if value is Exception else Outcome(f"T/{n}", True, value)
            for n, value in enumerate(values)
        ),
    )


def test_first_success_in_the_order_given() -> None:
    assert merged(Exception, "b", "c").first() == "b"
    with pytest.raises(FanOutFailed, match="none of 2"):
        merged(Exception, Exception).first()


def test_quorum_counts_equal_answers() -> None:
    assert merged({"v": 1}, {"v": 2}, {"v": 1}).quorum() == {"v": 1}
    assert merged("a", Exception, Exception, "a").quorum(2) == "a"
    with pytest.raises(FanOutFailed, match="2 needed, at most 1"):
        merged("a", "b", Exception).quorum()  # a majority of all targets, failed ones included
    with pytest.raises(ValueError):
        merged("a").quorum(2)


def test_a_result_round_trips_as_its_record() -> None:
    result = merged("a", Exception)
    again = FanOutResult.from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()
    assert all(outcome.replayed for outcome in again.outcomes)


def test_a_fan_out_that_dies_half_way_calls_only_the_missing_targets(network: Network) -> None:
    targets = [f"A/{n}" for n in range(10)]
    network.behaviour["A/5"] = "crash"
    obj = InProcess(Caller)
    with pytest.raises(Crash):
        run(obj.runs.start("spread", {"targets": targets, "concurrency": 1}, "r1"))
    assert network.calls == {f"A/{n}": 1 for n in range(6)}  # five recorded, the sixth died with it
    del network.behaviour["A/5"]
    again = obj.restart()
    run(again.tick(LEASE + 1))  # the run's lease ran out: the alarm replays it
    status = again.runs.status("r1")
    assert status["status"] == "completed"
    assert [o["target"] for o in status["result"]["outcomes"]] == targets
    assert network.calls == {**{f"A/{n}": 1 for n in range(10)}, "A/5": 2}
    assert again.rows("SELECT * FROM dotdo_fanout_calls") == []  # gone once the step is recorded
    run(again.tick(LEASE + 1))
    assert sum(network.calls.values()) == 11  # a completed run is never called again


def test_a_replayed_step_with_another_method_fails_the_run(network: Network) -> None:
    class Other(Caller):
        @workflow
        async def spread(self, spec: dict[str, Any]) -> dict[str, Any]:
            result = await self.fanout.run(spec["targets"], "pong", "flow")
            return result.to_dict()

    network.behaviour["A/1"] = "crash"
    obj = InProcess(Caller)
    with pytest.raises(Crash):
        run(obj.runs.start("spread", {"targets": ["A/0", "A/1"], "concurrency": 1}, "r2"))
    again = obj.restart(Other)
    run(again.tick(LEASE + 1))
    status = again.runs.status("r2")
    assert status["status"] == "failed" and "step_mismatch" in status["error"]


def test_a_remote_traceback_is_reported_by_its_last_line_only() -> None:
    """The callee's traceback (its source lines and file paths) reached the caller's outcome."""
    from dotdo.full.fanout import describe_error

    remote = RuntimeError(
        'Traceback (most recent call last):\n  File "/srv/app/_host.py", line 182, in call\n'
        "    return method(*args)\nTypeError: The RPC receiver does not implement the method 'nope'\n"
    )
    assert describe_error(remote, 30) == "TypeError: The RPC receiver does not implement the method 'nope'"
    assert describe_error(ValueError("bad"), 30) == "ValueError: bad"
    noted = RuntimeError("Traceback (most recent call last):\nKeyError: 1\nsee x\n")
    assert describe_error(noted, 30) == "KeyError: 1"  # its last line was the note


def test_an_attempts_error_is_stored_as_a_failures_text_is() -> None:
    """An error whose __str__ raises is named by its type, a lone surrogate is U+FFFD and a
    message of megabytes is cut (ADR 0042): the outcome is recorded with its step."""
    from dotdo.full.fanout import describe_error
    from dotdo.workflows.failures import ERROR_TEXT_CHARS

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no text")

    assert describe_error(Unprintable(), 30) == "Unprintable"
    assert describe_error(RuntimeError("a \ud800"), 30) == "RuntimeError: a \ufffd"
    huge = describe_error(RuntimeError("x" * 3_000_000), 30)
    assert len(huge) <= ERROR_TEXT_CHARS and huge.endswith("more characters)")
    last_line = describe_error(RuntimeError("Traceback (most recent call last):\nE: " + "y" * 5000), 30)
    assert len(last_line) <= ERROR_TEXT_CHARS


class Deep(Caller):
    @workflow
    async def deep(self, targets: list[str]) -> dict[str, Any]:
        result = await self.fanout.run(targets, "ping", "x", concurrency=1)
        await self.obj.runs.do(self.after, step_id="after")  # the fan-out's step is replayed past
        return result.to_dict()

    async def after(self) -> str:
        if NETWORK.behaviour.pop("after", None) == "crash":
            raise Crash()
        return "after"


def test_a_durable_fan_out_carries_answers_at_their_bound_and_replays_them(network: Network) -> None:
    """The outcome row held an answer at its bound (a page of things, 34 levels), but the
    step's record around the answers (`{"outcomes": [{"value": ...}]}`) was held to the same
    flat allowance: a target answering a value at the 32-level bound failed the step."""
    page = {"items": [{"a": arrays(MAX_STORED_DEPTH - 1)}], "has_more": False, "cursor": None}
    network.answers.update({"A/0": arrays(MAX_STORED_DEPTH), "A/1": page, "A/2": arrays(PAGE_DEPTH + 1)})
    network.behaviour["after"] = "crash"
    obj = InProcess(Deep)
    with pytest.raises(Crash):
        run(obj.runs.start("deep", ["A/0", "A/1", "A/2"], "d1"))
    again = obj.restart()
    run(again.tick(LEASE + 1))  # replayed: the fan-out's step answers its record
    status = again.runs.status("d1")
    assert status["status"] == "completed", status
    assert network.calls == {"A/0": 1, "A/1": 1, "A/2": 1}  # never called again
    first, second, third = status["result"]["outcomes"]
    assert first["ok"] and first["value"] == arrays(MAX_STORED_DEPTH)
    assert second["ok"] and second["value"] == page
    # one level past a page is the target's failure, refused as it always was
    assert not third["ok"] and third["error"] == "BadRequest: A/2's answer is nested deeper than 34 levels"
    assert third["attempts"] == 1


def test_a_fan_out_with_every_target_at_the_bound_completes_in_one_pass(network: Network) -> None:
    targets = [f"A/{n}" for n in range(3)]
    network.answers.update({target: {"items": [{"a": arrays(MAX_STORED_DEPTH - 1)}]} for target in targets})
    obj = InProcess(Caller)
    run(obj.runs.start("spread", {"targets": targets, "concurrency": 2}, "d2"))
    status = obj.runs.status("d2")
    assert status["status"] == "completed", status
    assert [outcome["ok"] for outcome in status["result"]["outcomes"]] == [True, True, True]
