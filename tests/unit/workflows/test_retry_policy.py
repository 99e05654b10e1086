"""Retry settings: a `RetryPolicy` (steps, fan-outs) counts retries after the first attempt;
a class's `delivery_retry_limit` (durable handlers, schedules) counts attempts in all. Both
are checked when given, with a message that names the field."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.workflows.delivery import MAX_DELIVERY_ATTEMPTS, validate_delivery_retries
from dotdo.workflows.steps import MAX_DELAY_MS, MAX_RETRIES, RetryPolicy


def test_limit_counts_retries_and_delay_is_seconds() -> None:
    policy = RetryPolicy.of({"limit": 4, "delay": 1, "backoff": 1})
    assert policy == RetryPolicy(limit=4, delay=1, backoff=1)
    # four waits of 1 s: 5 attempts in all
    assert [policy.wait_ms(n) for n in range(1, policy.limit + 1)] == [1000] * 4
    assert RetryPolicy.of(None) == RetryPolicy(limit=0, delay=1.0, backoff=2.0)
    assert RetryPolicy.of({"limit": 2}).wait_ms(2) == 2000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"limit": True}, "limit is an integer"),
        ({"limit": 2.0}, "limit is an integer"),
        ({"limit": -1}, "limit is an integer"),
        ({"limit": MAX_RETRIES + 1}, "limit is an integer"),
        ({"delay": "1"}, "delay is a finite number"),
        ({"delay": math.inf}, "delay is a finite number"),
        ({"delay": math.nan}, "delay is a finite number"),
        ({"delay": -0.5}, "delay is >= 0"),
        ({"backoff": None}, "backoff is a finite number"),
        ({"backoff": 0.5}, "backoff >= 1"),
    ],
)
def test_a_bad_field_is_a_value_error_naming_it(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy.of(value)


def test_another_key_or_shape_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not attempts"):
        RetryPolicy.of({"limit": 1, "attempts": 3})
    with pytest.raises(TypeError, match="not int"):
        RetryPolicy.of(3)  # type: ignore[arg-type]


@given(
    limit=st.integers(0, MAX_RETRIES),
    delay=st.floats(0, 1e300),
    backoff=st.floats(1, 1e300),
    failures=st.integers(1, MAX_RETRIES),
)
def test_every_wait_is_bounded_and_never_shrinks(
    limit: int, delay: float, backoff: float, failures: int
) -> None:
    policy = RetryPolicy.of({"limit": limit, "delay": delay, "backoff": backoff})
    wait = policy.wait_ms(failures)
    assert 0 <= wait <= MAX_DELAY_MS
    assert policy.wait_ms(failures + 1) >= wait


def test_delivery_options_count_attempts_and_are_bounded() -> None:
    validate_delivery_retries(1, 0, "App")
    validate_delivery_retries(MAX_DELIVERY_ATTEMPTS, MAX_DELAY_MS, "App")
    for limit, delay, error in (
        (0, 1000, ValueError),
        (MAX_DELIVERY_ATTEMPTS + 1, 1000, ValueError),
        (5, -1, ValueError),
        (5, MAX_DELAY_MS + 1, ValueError),
        (True, 1000, TypeError),
        (5, 1.5, TypeError),
        ("5", 1000, TypeError),
    ):
        with pytest.raises(error, match=r"App\.delivery_retry"):
            validate_delivery_retries(limit, delay, "App")


def test_a_class_with_a_bad_delivery_option_is_refused_when_defined() -> None:
    from dotdo import DOWorkflow

    with pytest.raises(ValueError, match=r"Clinic\.delivery_retry_limit is 1 to"):

        class Clinic(DOWorkflow):
            delivery_retry_limit = 0
