"""When delayed work is due: `send_event(..., delay=)` and `send_event(..., at=)` checked and turned
into epoch milliseconds."""

from __future__ import annotations

from datetime import datetime, timedelta

from dotdo.errors import BadRequest

__all__ = ["MAX_DELAY_SECONDS", "due_time"]

MAX_DELAY_SECONDS = 100 * 365 * 86_400
"""The furthest a delayed send may be put off (about 100 years)."""


def due_time(delay: float | timedelta | None, at: datetime | int | None, now: int) -> int | None:
    """When work sent now (epoch ms `now`) with `delay` seconds or for `at` is due; None: at once.

    A caller's bad `delay` is a 400 `invalid_delay`, a bad `at` a 400 `invalid_at`, both
    given a 400 `invalid_delay`; a time in the past is due at once.
    """
    if delay is not None and at is not None:
        raise BadRequest("give delay or at, not both", code="invalid_delay")
    if delay is not None:
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else delay
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= MAX_DELAY_SECONDS  # also refuses NaN
        ):
            raise BadRequest(
                f"delay is a number of seconds from 0 to {MAX_DELAY_SECONDS}", code="invalid_delay"
            )
        return now + int(seconds * 1000)
    if at is None:
        return None
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise BadRequest("at is a timezone-aware datetime", code="invalid_at")
        due = int(at.timestamp() * 1000)
    elif isinstance(at, int) and not isinstance(at, bool):
        due = at
    else:
        raise BadRequest("at is a datetime or epoch milliseconds", code="invalid_at")
    if not 0 < due <= now + MAX_DELAY_SECONDS * 1000:  # a past time is due at once
        raise BadRequest("at is after 1970 and at most about 100 years ahead", code="invalid_at")
    return due
