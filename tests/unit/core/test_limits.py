"""Rate budgets: an exact sliding window per key, a bounded number of keys, the env syntax."""

from __future__ import annotations

import pytest

from dotdo import TooManyRequests
from dotdo.core.limits import (
    MESSAGE_RATE_LIMIT,
    MESSAGE_RATE_WINDOW,
    REQUEST_RATE_LIMIT,
    REQUEST_RATE_WINDOW,
    Limits,
    Rate,
    SlidingWindow,
    parse_rate,
    rate_from_env,
)


def test_a_sliding_window_is_exact() -> None:
    now = [0.0]
    window = SlidingWindow(Rate(3, 10.0), clock=lambda: now[0])
    answers = []
    for moment in (0, 1, 2, 3, 9.5):
        now[0] = moment
        answers.append(window.wait("a"))
    assert answers[:3] == [None, None, None]
    assert answers[3] == pytest.approx(7.0) and answers[4] == pytest.approx(0.5)  # refusals are not counted
    assert window.wait("b") is None  # per key
    now[0] = 10.0  # the first event left the window: one more
    assert window.wait("a") is None and window.wait("a") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("limit", "window"),
    [(REQUEST_RATE_LIMIT, REQUEST_RATE_WINDOW), (MESSAGE_RATE_LIMIT, MESSAGE_RATE_WINDOW)],
)
def test_the_default_budgets_at_their_documented_bound(limit: int, window: float) -> None:
    assert (REQUEST_RATE_LIMIT, REQUEST_RATE_WINDOW, MESSAGE_RATE_LIMIT, MESSAGE_RATE_WINDOW) == (
        1000,
        10,
        100,
        10,
    )
    now = [0.0]
    budget = SlidingWindow(Rate(limit, window), clock=lambda: now[0])
    for n in range(limit):  # the whole budget inside 90% of the window
        now[0] = n * window * 0.9 / limit
        assert budget.wait("a") is None
    now[0] = window * 0.95
    assert budget.wait("a") is not None  # one past it, inside the window
    now[0] = window + 0.01
    assert budget.wait("a") is None  # the first has left the window


def test_no_limit_and_the_key_bound() -> None:
    assert all(SlidingWindow(Rate(None, 1.0)).wait("a") is None for _ in range(10_000))
    now = [0.0]
    window = SlidingWindow(Rate(1, 60.0), max_keys=2, clock=lambda: now[0])
    assert window.wait("a") is None and window.wait("b") is None
    assert window.wait("a") is not None  # a is spent, and now the most recently used
    assert window.wait("c") is None  # b, the least recently used, is forgotten
    assert window.wait("a") is not None and window.wait("b") is None


def test_limits_raise_with_the_seconds_to_wait() -> None:
    now = [0.0]
    limits = Limits(Rate(1, 30.0), Rate(2, 5.0), clock=lambda: now[0])
    limits.admit_request("k")
    with pytest.raises(TooManyRequests) as requests:
        limits.admit_request("k")
    assert requests.value.headers == {"retry-after": "30"} and requests.value.code == "rate_limited"
    limits.admit_message("k")
    limits.admit_message("k")
    now[0] = 4.2
    with pytest.raises(TooManyRequests) as messages:
        limits.admit_message("k")
    assert messages.value.retry_after == 1 and messages.value.to_dict()["error"]["retry_after"] == 1


@pytest.mark.parametrize(
    ("text", "rate"),
    [("1000/10", Rate(1000, 10.0)), (" 5 / 0.5s ", Rate(5, 0.5)), ("OFF", Rate(None, 1.0))],
)
def test_rates_as_operators_write_them(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "10", "10/", "/10", "-1/10", "0/10", "10/0", "ten/10", "1e3/10"])
def test_rates_that_mean_nothing_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_an_env_rate_that_does_not_parse_is_logged_and_the_default_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    default = Rate(5, 1.0)
    assert rate_from_env("RATE_LIMIT_REQUESTS", None, default) is default
    assert rate_from_env("RATE_LIMIT_REQUESTS", "", default) is default
    assert rate_from_env("RATE_LIMIT_REQUESTS", "20/2", default) == Rate(20, 2.0)
    with caplog.at_level("ERROR", logger="dotdo.access"):
        assert rate_from_env("RATE_LIMIT_MESSAGES", "lots", default) is default
    assert caplog.records[0].getMessage().startswith("RATE_LIMIT_MESSAGES: a rate is COUNT/SECONDS")
