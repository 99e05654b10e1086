"""Fan-out: one method called on many objects, a few at a time, each target's outcome reported.

`FanOut` is a component: it owns `dotdo_fanout_calls`, where a durable fan-out records
each target as it finishes, and reaches the object through its run engine (durable
steps) and a resolver from a target's name to its Workers RPC stub. See ADR 0027.

Bounds come from Cloudflare's Workers limits (developers.cloudflare.com/workers/platform/limits,
which the Durable Object limits page applies to objects too): a request (an RPC call, an
alarm) may keep 6 outgoing connections open at once, and a seventh waits for one of them,
so `concurrency` is 1-6; and it may make 1,000 subrequests on a paid plan (50 on the free
one), each call to another object being one, so a fan-out's calls, retries included, are
at most `MAX_CALLS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dotdo.core.logs import Log
from dotdo.core.migrations import Component, Migration
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest, FanOutFailed, StepMismatch
from dotdo.full.outcomes import FanOutResult, Outcome
from dotdo.remote.names import object_tenant
from dotdo.semantic.accessors import InstanceAccessor
from dotdo.semantic.object_names import thing_object_name
from dotdo.tracebacks import exception_line, is_traceback
from dotdo.values import FANOUT_DEPTH, PAGE_DEPTH, stored_json
from dotdo.wire.codec import RPC_UNCARRIED_KEY, UNCARRIED_ANSWER, rpc_uncarried, uncarried_answer
from dotdo.workflows.failures import storable_text
from dotdo.workflows.runs import RunEngine
from dotdo.workflows.steps import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "FANOUT_COMPONENT",
    "MAX_CALLS",
    "MAX_CONCURRENCY",
    "MAX_TIMEOUT",
    "FanOut",
    "FanOutFailed",
    "FanOutResult",
    "Outcome",
    "Target",
    "parse_targets",
]

logger = logging.getLogger("dotdo.full")

MAX_CONCURRENCY = 6
"""Cloudflare: "Simultaneous outgoing connections/request: 6"; a seventh call waits anyway."""
MAX_CALLS = 1000
"""Cloudflare's subrequests per request on a paid plan: targets x (1 + retries) may not pass it."""
DEFAULT_TIMEOUT = 30.0
"""Seconds one attempt on one target may take before it counts as failed."""
MAX_TIMEOUT = 300.0
"""The longest per-attempt timeout taken: five minutes, a Durable Object's longest CPU budget."""
MAX_RETRY_DELAY = 10.0
"""Seconds a retry may wait in between attempts: the wait holds the request open."""

FANOUT_COMPONENT = Component(
    "fanout",
    (
        Migration(
            1,
            (
                """CREATE TABLE IF NOT EXISTS dotdo_fanout_calls (
  fanout TEXT NOT NULL,
  target TEXT NOT NULL,
  method TEXT NOT NULL,
  ok INTEGER NOT NULL,
  value TEXT,
  error TEXT,
  attempts INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  PRIMARY KEY (fanout, target)
) WITHOUT ROWID""",
            ),
        ),
    ),
)
"""`dotdo_fanout_calls`: one row per finished target of a durable fan-out in progress, keyed
by the step's record key; the rows go once the fan-out's step is recorded whole."""


@dataclass(frozen=True)
class Target:
    """One target: `label` names it in the result ("Customer/c1", or the key a mapping gave
    a stub); `type_name` and `thing_id` when it is addressed by noun and id, `stub` when
    the caller gave the stub itself."""

    label: str
    type_name: str | None = None
    thing_id: str | None = None
    stub: Any = None


def parse_targets(targets: Iterable[Any] | Mapping[str, Any]) -> list[Target]:
    """The targets of a fan-out, in order.

    Each is `("Customer", "c1")`, `"Customer/c1"` (the first `/` splits noun from id), a
    noun accessor (`self.Customer("c1")`) or a stub; a mapping gives each stub (or any of
    those forms) the label it has in the result. A stub in a list is labelled by its
    position (`#0`, `#1`, ...), so a durable fan-out must be given the same list on replay.
    A noun and id are checked as a thing's are (a PascalCase noun of at most 64
    characters, an id of 1-128 letters, digits and `_.:-`), before anything is called.
    ValueError for an empty list, a malformed target or a label used twice."""
    items: list[tuple[str | None, Any]]
    if isinstance(targets, Mapping):
        items = [(str(label), value) for label, value in targets.items()]
    elif isinstance(targets, str | bytes):
        raise ValueError("targets are a list of targets, not one string")
    else:
        items = [(None, value) for value in targets]
    parsed: list[Target] = []
    for index, (label, value) in enumerate(items):
        target = _target(value, index)
        if label is not None:
            target = Target(label, target.type_name, target.thing_id, target.stub)
        parsed.append(target)
    if not parsed:
        raise ValueError("a fan-out needs at least one target")
    labels = [target.label for target in parsed]
    if len(set(labels)) != len(labels):
        duplicate = next(label for label in labels if labels.count(label) > 1)
        raise ValueError(f"target {duplicate!r} is given twice")
    return parsed


def _reference(value: Any, type_name: str, thing_id: str) -> Target:
    """A target addressed by noun and id, both checked as a thing's are (`thing_object_name`,
    as every object name derived from an id): an object is woken under the name "Noun/id",
    which no thing may have unless both pass. ValueError naming the target otherwise."""
    try:
        return Target(thing_object_name(type_name, thing_id), type_name, thing_id)
    except BadRequest as error:
        raise ValueError(f"target {value!r} names no thing: {error.message}") from None


def _target(value: Any, index: int) -> Target:
    if isinstance(value, str):
        type_name, slash, thing_id = value.partition("/")
        if not slash or not type_name or not thing_id:
            raise ValueError(
                f'a target is "Noun/id", not {value!r} (a tenant\'s object is a target only as a '
                "stub, get_object(env.BINDING, name), from the object's own Python code)"
            )
        if object_tenant(value) is not None:
            raise ValueError(
                f'a target is "Noun/id", not {value!r}: it names the thing of this object\'s own '
                "tenant (ADR 0054); another tenant's object is a target only as a stub, "
                "get_object(env.BINDING, name), from the object's own Python code"
            )
        return _reference(value, type_name, thing_id)
    if isinstance(value, tuple):
        if len(value) != 2 or not all(isinstance(part, str) and part for part in value):
            raise ValueError(f'a target tuple is ("Noun", "id"), not {value!r}')
        return _reference(value, value[0], value[1])
    if isinstance(value, InstanceAccessor):
        return _reference(value, value.type, value.id)
    if value is None or isinstance(value, int | float | bool | list | dict):
        raise ValueError(f"a target is a (noun, id) pair, 'Noun/id' or a stub, not {value!r}")
    return Target(f"#{index}", stub=value)


@dataclass(frozen=True)
class FanOutOptions:
    """A fan-out's checked options (see `FanOut.run`)."""

    concurrency: int
    timeout: float
    retries: RetryPolicy


def check_options(
    targets: Sequence[Target], method: str, concurrency: int, timeout: float, retries: Any
) -> FanOutOptions:
    """The options, checked against the bounds above; ValueError naming the bound broken."""
    if not isinstance(method, str) or not method.isidentifier() or method.startswith("_"):
        raise ValueError(f"a fan-out calls a public method by name, not {method!r}")
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise ValueError(
            f"concurrency is 1 to {MAX_CONCURRENCY} (Workers keep 6 outgoing connections open per request)"
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT:
        raise ValueError(f"timeout is above 0 and at most {MAX_TIMEOUT} seconds")
    if isinstance(retries, bool):
        raise ValueError("retries is a count or a retry policy")
    policy = RetryPolicy(limit=retries, delay=0.1) if isinstance(retries, int) else RetryPolicy.of(retries)
    policy = RetryPolicy.of(policy)
    if policy.wait_ms(policy.limit) > MAX_RETRY_DELAY * 1000:
        raise ValueError(f"a fan-out's retries wait at most {MAX_RETRY_DELAY} s between attempts")
    calls = len(targets) * (1 + policy.limit)
    if calls > MAX_CALLS:
        raise ValueError(
            f"{len(targets)} targets x {1 + policy.limit} attempts is {calls} calls; a request may make "
            f"{MAX_CALLS} subrequests"
        )
    return FanOutOptions(concurrency, float(timeout), policy)


def describe_error(error: BaseException, timeout: float) -> str:
    """An attempt's error as the outcome records it: `Type: message`; a remote error
    (pyodide's JsException) by the message the callee's runtime gave, and when that is a
    Python traceback, by its exception line alone (the callee's `Type: message`,
    `dotdo.tracebacks.exception_line`): a caller is never shown the callee's source lines
    and file paths."""
    if isinstance(error, TimeoutError):
        return f"TimeoutError: timed out after {timeout} s"
    try:
        message = str(getattr(error, "message", None) or error)
    except Exception:  # the error's own __str__ failed: it is named by its type
        return type(error).__name__
    if is_traceback(message):
        return storable_text(exception_line(message))
    return storable_text(f"{type(error).__name__}: {message}")


class FanOutStore:
    """`dotdo_fanout_calls` over the object's SQL facade."""

    def __init__(self, sql: Sql) -> None:
        """`sql`: the object's SQL facade."""
        self._sql = sql

    def recorded(self, fanout: str) -> dict[str, Any]:
        """Target label -> its row, for the targets of `fanout` already finished."""
        rows = self._sql.exec(
            "SELECT target, method, ok, value, error, attempts FROM dotdo_fanout_calls WHERE fanout = ?",
            fanout,
        )
        return {str(row["target"]): row for row in rows}

    def record(self, fanout: str, method: str, outcome: Outcome, now: int) -> None:
        """Record one finished target (once: a second record of it is ignored)."""
        self._sql.run(
            "INSERT OR IGNORE INTO dotdo_fanout_calls "
            "(fanout, target, method, ok, value, error, attempts, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            fanout,
            outcome.target,
            method,
            1 if outcome.ok else 0,
            None if not outcome.ok else stored_json(outcome.value, depth=PAGE_DEPTH),  # checked by `_plain`
            outcome.error,
            outcome.attempts,
            now,
        )

    def forget(self, fanout: str) -> None:
        """Drop a fan-out's rows (its step is recorded whole)."""
        self._sql.run("DELETE FROM dotdo_fanout_calls WHERE fanout = ?", fanout)


class FanOut:
    """The fan-out component of one object. `sql` is its database, `runs` its run engine
    (durable steps), `resolve(type, id)` the stub of the object owning a thing (the
    workflow layer's `stub`, which makes the noun policy's check: 404 `unknown_noun` with
    `strict_nouns`), `now()` the clock in epoch ms, `log` where its lines go (`dotdo.full`,
    or the object's `ObjectLog`)."""

    def __init__(
        self,
        sql: Sql,
        runs: RunEngine,
        resolve: Callable[[str, str], Any],
        now: Callable[[], int],
        log: Log = logger,
    ) -> None:
        self._log = log
        self._store = FanOutStore(sql)
        self._runs = runs
        self._resolve = resolve
        self._now = now

    async def run(
        self,
        targets: Iterable[Any] | Mapping[str, Any],
        method: str,
        *args: Any,
        concurrency: int = MAX_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int | RetryPolicy | Mapping[str, Any] = 0,
        step_id: str | None = None,
    ) -> FanOutResult:
        """Call `method(*args)` on every target, at most `concurrency` at once; each attempt
        may take `timeout` seconds, and a failed one is retried `retries` times (a count
        of retries, 0.1 s apart doubling, or a `RetryPolicy` whose `limit` counts retries
        and whose waits are at most 10 s), within this call.

        Inside a `@workflow` run (or outside one with a `step_id`) the fan-out is a durable
        step: each target's outcome is recorded as it finishes, and a replay of the run
        calls only the targets with no record; once all are in, the step's record is the
        result. ValueError for bad targets or options (see `parse_targets`, `check_options`);
        every target addressed by noun and id resolved to its stub once (`resolve`: 404
        `unknown_noun` with `strict_nouns`), all before any target is called; a retry
        resolves its target again, for a fresh stub (a stub that failed may stay broken:
        Cloudflare's Durable Objects error handling). Without the stubs' binding each
        target's outcome is the LookupError. BadRequest 400 `invalid_params` for `args`
        holding an object key `constructor` (`wire.codec.rpc_uncarried`), before any call.
        StepMismatch when the replayed step recorded another method."""
        parsed = parse_targets(targets)
        options = check_options(parsed, method, concurrency, timeout, retries)
        uncarried = rpc_uncarried(list(args))
        if uncarried is not None:
            raise BadRequest(
                f"A fan-out's arguments hold no key {RPC_UNCARRIED_KEY!r} (at {uncarried}): Workers "
                "RPC's Python conversion cannot carry one to the targets; rename it",
                code="invalid_params",
            )
        stubs: dict[str, Any] = {}
        for target in parsed:
            if target.type_name is not None:
                # Without the stubs' binding each target reports the LookupError (`_call_one`).
                with contextlib.suppress(LookupError):
                    stubs[target.label] = self._resolve(target.type_name, str(target.thing_id))
        reserved = self._runs.reserve_step(step_id)
        if reserved is None:
            return FanOutResult(method, await self._call_all(parsed, stubs, method, args, options, None))
        local, key = reserved
        recorded = await self._runs.do(
            self._durable, parsed, stubs, method, list(args), options, key, step_id=local, depth=FANOUT_DEPTH
        )
        self._store.forget(key)
        result = FanOutResult.from_dict(recorded)
        if result.method != method:
            raise StepMismatch(local, f"fan_out {result.method}", f"fan_out {method}")
        return result

    async def _durable(
        self,
        targets: list[Target],
        stubs: dict[str, Any],
        method: str,
        args: list[Any],
        options: FanOutOptions,
        key: str,
    ) -> dict[str, Any]:
        outcomes = await self._call_all(targets, stubs, method, tuple(args), options, key)
        return FanOutResult(method, outcomes).to_dict()

    async def _call_all(
        self,
        targets: list[Target],
        stubs: dict[str, Any],
        method: str,
        args: tuple[Any, ...],
        options: FanOutOptions,
        key: str | None,
    ) -> tuple[Outcome, ...]:
        results: dict[str, Outcome] = {}
        if key is not None:
            for label, row in self._store.recorded(key).items():
                if str(row["method"]) != method:
                    raise StepMismatch(key, f"fan_out {row['method']}", f"fan_out {method}")
                ok = bool(row["ok"])
                value = json.loads(str(row["value"])) if ok and row["value"] is not None else None
                error = None if ok else str(row["error"])
                results[label] = Outcome(label, ok, value, error, int(row["attempts"]), replayed=True)
        pending = [target for target in targets if target.label not in results]
        if key is not None and results:
            self._log.info("fan-out %s resumed: %d recorded, %d to call", key, len(results), len(pending))
        queue = iter(pending)

        async def worker() -> None:
            for target in queue:  # shared iterator: each target goes to one worker
                outcome = await self._call_one(target, stubs.get(target.label), method, args, options)
                if key is not None:
                    self._store.record(key, method, outcome, self._now())
                results[target.label] = outcome

        await asyncio.gather(*(worker() for _ in range(min(options.concurrency, len(pending)))))
        return tuple(results[target.label] for target in targets)

    async def _call_one(
        self, target: Target, resolved: Any, method: str, args: tuple[Any, ...], options: FanOutOptions
    ) -> Outcome:
        """`target` called until it answers or its retries are spent; `resolved` its stub
        when it is addressed by noun and id (`run` made it), resolved again for a retry."""
        attempts = 0
        while True:
            attempts += 1
            try:
                stub = target.stub
                if stub is None:
                    first = attempts == 1 and resolved is not None
                    stub = resolved if first else self._resolve(str(target.type_name), str(target.thing_id))
                value = await asyncio.wait_for(_invoke(stub, method, args), options.timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                message = describe_error(error, options.timeout)
                if attempts > options.retries.limit:
                    self._log.warning("fan-out %s on %s failed: %s", method, target.label, message)
                    return Outcome(target.label, False, error=message, attempts=attempts)
                await asyncio.sleep(options.retries.wait_ms(attempts) / 1000)
                continue
            try:  # an answer that is not JSON is the target's fault, and the same on a retry
                return Outcome(target.label, True, _plain(value, target.label), attempts=attempts)
            except BadRequest as error:
                return Outcome(target.label, False, error=f"BadRequest: {error}", attempts=attempts)


async def _invoke(stub: Any, method: str, args: tuple[Any, ...]) -> Any:
    result = getattr(stub, method)(*args)
    if hasattr(result, "__await__"):
        try:
            result = await result
        except AttributeError as error:
            if uncarried_answer(error):
                raise TypeError(UNCARRIED_ANSWER) from error
            raise
    return result


def _plain(value: Any, label: str) -> Any:
    """A value as its JSON record gives it back (a JsProxy'd object answers `to_py`), so
    the first run and a replay return the same thing; BadRequest when it is not JSON."""
    to_py = getattr(value, "to_py", None)
    if callable(to_py):
        value = to_py()
    return json.loads(stored_json(value, what=f"{label}'s answer", code="invalid_data", depth=PAGE_DEPTH))
