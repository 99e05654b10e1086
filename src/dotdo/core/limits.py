"""Rate limits per caller: requests and socket messages, one limiter for every surface.

A budget is `limit` events in any `window` seconds per key (a sliding log: exact,
so a burst of `limit` passes and the next one waits until the oldest leaves the
window). The access layer picks the key (`dotdo.core.access`): the capability
token a caller holds (attenuations of one token share its budget), the operator,
or the client address of a caller without a token. Budgets live in memory, per
Durable Object, that is per tenant: a restart or hibernation empties them, and at
most `MAX_KEYS` keys are remembered (the least recently used one is forgotten first).
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from dotdo.errors import TooManyRequests

__all__ = [
    "MAX_KEYS",
    "MESSAGE_RATE_LIMIT",
    "MESSAGE_RATE_WINDOW",
    "REQUEST_RATE_LIMIT",
    "REQUEST_RATE_WINDOW",
    "Limits",
    "Rate",
    "SlidingWindow",
    "parse_rate",
    "rate_from_env",
]

MAX_KEYS = 1024
REQUEST_RATE_LIMIT, REQUEST_RATE_WINDOW = 1000, 10.0
"""The default request budget of a caller: 1,000 in any 10 s (DOCore's class options)."""
MESSAGE_RATE_LIMIT, MESSAGE_RATE_WINDOW = 100, 10.0
"""The default socket-message budget of a caller, over all its sockets: 100 in any 10 s."""
logger = logging.getLogger("dotdo.access")
_RATE = re.compile(r"\s*([0-9]{1,9})\s*/\s*([0-9]{1,6}(?:\.[0-9]{1,3})?)\s*s?\s*")


@dataclass(frozen=True)
class Rate:
    """`limit` events in any `window` seconds; `limit` None is no limit at all."""

    limit: int | None
    window: float

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ValueError("a rate limit is at least 1 (None for none)")
        if self.window <= 0:
            raise ValueError("a rate window is longer than 0 seconds")


def parse_rate(text: str) -> Rate:
    """A rate as an operator writes it in an env var: `"1000/10"` (1,000 per 10 s; a
    trailing `s` is allowed) or `"off"` (no limit). ValueError otherwise."""
    if text.strip().lower() == "off":
        return Rate(None, 1.0)
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValueError(f"a rate is COUNT/SECONDS (such as 1000/10) or off, not {text!r}")
    return Rate(int(match.group(1)), float(match.group(2)))


def rate_from_env(name: str, text: str | None, default: Rate) -> Rate:
    """The rate an env var `name` sets (`text`, as `parse_rate` reads it), or `default`
    when it is unset or empty; one that does not parse is logged and `default` used."""
    if not text:
        return default
    try:
        return parse_rate(text)
    except ValueError as error:
        logger.error("%s: %s; using %s/%g", name, error, default.limit, default.window)
        return default


class SlidingWindow:
    """At most `rate.limit` admitted events per key in any `rate.window` seconds, for at
    most `max_keys` keys (the least recently used forgotten first), timed by `clock`
    (monotonic seconds).

    Refused events are not recorded, so a caller that keeps trying while refused
    does not push its own budget further away."""

    def __init__(
        self, rate: Rate, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self._max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, key: str) -> float | None:
        """Admit one event for `key` (None), or the seconds until it would be admitted."""
        limit = self.rate.limit
        if limit is None:
            return None
        now = self._clock()
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque(maxlen=limit)
            if len(self._seen) > self._max_keys:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        if len(times) == limit and now - times[0] < self.rate.window:
            return times[0] + self.rate.window - now
        times.append(now)  # a full deque drops its oldest time, which has left the window
        return None


class Limits:
    """The two budgets of one object: `requests` (every HTTP route, RPC surfaces and
    socket upgrades included) and `messages` (`/ws/rpc` calls, Cap'n Web calls, `/ws`
    messages), timed by `clock`. Both raise TooManyRequests `rate_limited` with the
    seconds to wait (`Retry-After`)."""

    def __init__(self, requests: Rate, messages: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = SlidingWindow(requests, clock=clock)
        self.messages = SlidingWindow(messages, clock=clock)

    def admit_request(self, key: str) -> None:
        """Count one request for `key`, or raise TooManyRequests."""
        wait = self.requests.wait(key)
        if wait is not None:
            rate = self.requests.rate
            raise TooManyRequests(
                f"Too many requests: {rate.limit} in {rate.window:g} s per caller; retry later",
                retry_after=wait,
            )

    def admit_message(self, key: str) -> None:
        """Count one socket message for `key`, or raise TooManyRequests."""
        wait = self.messages.wait(key)
        if wait is not None:
            rate = self.messages.rate
            raise TooManyRequests(
                f"Too many messages: {rate.limit} in {rate.window:g} s per caller; slow down",
                retry_after=wait,
            )
