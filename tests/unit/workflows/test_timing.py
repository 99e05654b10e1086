"""Delays and due times: a caller's bad value is a 400, never a 500 or a broken alarm."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dotdo import BadRequest
from dotdo.core.alarms import to_epoch_ms
from dotdo.workflows.timing import MAX_DELAY_SECONDS, due_time

NOW = 1_795_000_000_000


def test_due_times() -> None:
    assert due_time(None, None, NOW) is None
    assert due_time(1.5, None, NOW) == NOW + 1500
    assert due_time(timedelta(minutes=1), None, NOW) == NOW + 60_000
    assert due_time(None, datetime(2027, 1, 1, tzinfo=UTC), NOW) == 1_798_761_600_000
    assert due_time(None, 5, NOW) == 5  # in the past: due at once
    assert due_time(MAX_DELAY_SECONDS, None, NOW) == NOW + MAX_DELAY_SECONDS * 1000


@pytest.mark.parametrize(
    ("delay", "at", "code"),
    [
        (1e308, None, "invalid_delay"),
        (math.nan, None, "invalid_delay"),
        (math.inf, None, "invalid_delay"),
        (-1, None, "invalid_delay"),
        (True, None, "invalid_delay"),
        ("5", None, "invalid_delay"),
        (MAX_DELAY_SECONDS + 1, None, "invalid_delay"),
        (None, 0, "invalid_at"),
        (None, -5, "invalid_at"),
        (None, 10**18, "invalid_at"),
        (None, datetime(2027, 1, 1), "invalid_at"),  # naive
        (None, "tomorrow", "invalid_at"),
        (None, True, "invalid_at"),
        (1, 5, "invalid_delay"),  # both: the delay is the one too many
    ],
)
def test_a_bad_delay_or_time_is_coded_by_its_own_field(delay: Any, at: Any, code: str) -> None:
    with pytest.raises(BadRequest) as info:
        due_time(delay, at, NOW)
    assert info.value.code == code


def test_alarm_times_the_runtime_accepts() -> None:
    assert to_epoch_ms(5) == 5
    assert to_epoch_ms(datetime(2027, 1, 1, tzinfo=UTC)) == 1_798_761_600_000
    for wrong in (0, -1, math.nan, 1e16, timedelta(days=-30_000)):
        with pytest.raises(ValueError):
            to_epoch_ms(wrong)
