"""What a fan-out returns: each target's outcome, and the helpers that merge them into one
answer (gather, first success, quorum). See `dotdo.full.fanout`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dotdo.errors import FanOutFailed

__all__ = ["FanOutResult", "Outcome"]


@dataclass(frozen=True)
class Outcome:
    """One target's outcome: `value` when `ok`, else `error` ("TimeoutError: timed out
    after 5.0 s", or the remote error's type and message); `attempts` made (1 + retries
    used). `replayed`: recorded by an earlier attempt of the run, not called this time."""

    target: str
    ok: bool
    value: Any = None
    error: str | None = None
    attempts: int = 1
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """`{"target", "ok", "value", "error", "attempts"}`: the outcome as JSON."""
        return {
            "target": self.target,
            "ok": self.ok,
            "value": self.value,
            "error": self.error,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class FanOutResult:
    """What a fan-out returns: one `Outcome` per target, in the order the targets were
    given. A failed target is an outcome, never an exception; the merge helpers below
    turn the outcomes into one answer."""

    method: str
    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Did every target succeed?"""
        return all(outcome.ok for outcome in self.outcomes)

    def values(self) -> dict[str, Any]:
        """Target label -> value, for the targets that succeeded."""
        return {outcome.target: outcome.value for outcome in self.outcomes if outcome.ok}

    def errors(self) -> dict[str, str]:
        """Target label -> error, for the targets that failed."""
        return {outcome.target: str(outcome.error) for outcome in self.outcomes if not outcome.ok}

    def gather(self, *, strict: bool = False) -> dict[str, Any]:
        """Every success's value by target label; with `strict`, FanOutFailed if any failed."""
        if strict and not self.ok:
            raise FanOutFailed(f"{len(self.errors())} of {len(self.outcomes)} targets failed", self)
        return self.values()

    def first(self) -> Any:
        """The value of the first target, in the order given, that succeeded (the order
        given, not the order of finishing, so a replayed run gets the same answer);
        FanOutFailed when none did."""
        for outcome in self.outcomes:
            if outcome.ok:
                return outcome.value
        raise FanOutFailed(f"none of {len(self.outcomes)} targets succeeded", self)

    def quorum(self, count: int | None = None) -> Any:
        """The value at least `count` targets returned (equal as JSON; default a majority of
        all targets, failed ones included); FanOutFailed when no value has that many.
        ValueError for a count outside 1 to the number of targets."""
        needed = len(self.outcomes) // 2 + 1 if count is None else count
        if not isinstance(needed, int) or not 1 <= needed <= len(self.outcomes):
            raise ValueError(f"a quorum is 1 to {len(self.outcomes)} targets, not {count!r}")
        tally: dict[str, list[Any]] = {}
        for outcome in self.outcomes:
            if outcome.ok:
                key = json.dumps(outcome.value, sort_keys=True, default=repr)
                tally.setdefault(key, []).append(outcome.value)
        for agreeing in tally.values():
            if len(agreeing) >= needed:
                return agreeing[0]
        best = max((len(agreeing) for agreeing in tally.values()), default=0)
        raise FanOutFailed(f"no quorum: {needed} needed, at most {best} agreed", self)

    def to_dict(self) -> dict[str, Any]:
        """`{"method", "ok", "outcomes": [...], "succeeded", "failed"}`: the result as JSON."""
        return {
            "method": self.method,
            "ok": self.ok,
            "succeeded": sum(1 for outcome in self.outcomes if outcome.ok),
            "failed": sum(1 for outcome in self.outcomes if not outcome.ok),
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FanOutResult:
        """The result `to_dict` wrote (a durable step's record)."""
        outcomes = tuple(
            Outcome(
                str(item["target"]),
                bool(item["ok"]),
                item.get("value"),
                item.get("error"),
                int(item.get("attempts") or 1),
                replayed=True,
            )
            for item in data.get("outcomes") or []
        )
        return cls(str(data["method"]), outcomes)
