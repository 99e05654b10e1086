"""Waiting for the local runtime to evict idle objects, for the tests of what survives it.

workerd evicts a Durable Object after about 10 s without a request, alarm or socket event,
and nothing outside the object sees it go: the only evidence is a new instance (a changed
`built_at`, tests/harness/harness_lifetime.py) at the next call. That call is an event
itself, so checks are spaced wider than the idle time: each one wakes an object that was
evicted (the wake the tests want) and keeps one that was not awake for another round. On a
busy machine the object's own alarms (schedules, flushes) can hold it for several rounds,
hence a generous bound rather than a fixed number of waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

__all__ = ["EVICTION_BOUND", "IDLE_SECONDS", "rebuilt", "wait_until_evicted"]

IDLE_SECONDS = 13.0
"""Seconds between two checks: the runtime's ~10 s idle time, and some."""

EVICTION_BOUND = 150.0
"""Seconds a test waits at most for the runtime to evict every object it asks about."""


def rebuilt(
    built_at: Callable[[str], float], built: Mapping[str, float], *, within: float = EVICTION_BOUND
) -> set[str]:
    """The keys of `built` whose object has a new instance (`built_at(key)` is no longer
    `built[key]`, its instance's build time in seconds), checked every `IDLE_SECONDS` until
    every one has or the next check would end past `within` seconds from now. A key found
    rebuilt is not asked again, so its object can idle out once more."""
    deadline = time.monotonic() + within
    found: set[str] = set()
    while len(found) < len(built) and time.monotonic() + IDLE_SECONDS <= deadline:
        time.sleep(IDLE_SECONDS)
        found |= {key for key in built if key not in found and built_at(key) != built[key]}
    return found


def wait_until_evicted(
    built_at: Callable[[str], float], built: Mapping[str, float], *, within: float = EVICTION_BOUND
) -> None:
    """Return once every object of `built` was evicted and built again (see `rebuilt`);
    AssertionError naming those that were not after `within` seconds."""
    missing = set(built) - rebuilt(built_at, built, within=within)
    assert not missing, f"the runtime did not evict {sorted(missing)} within {within:g} s"
