"""Tagged values, WebSocket RPC framing and the per-socket rate bound."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.wire.codec import decode, encode
from dotdo.wire.wsrpc import MAX_MESSAGE_BYTES, RateLimiter, parse_message

json_like = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=5),
        st.binary(max_size=8),
        st.datetimes(timezones=st.just(UTC)).map(
            lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "$date", "$bytes", "$escape", "$id"]), inner, max_size=2),
    ),
    max_leaves=8,
)


@given(json_like)
def test_round_trip(value: Any) -> None:
    assert decode(encode(value)) == value


def test_encodings() -> None:
    assert encode(datetime(1970, 1, 1, 0, 0, 0, 5000, UTC)) == {"$date": 5}
    assert encode(b"\x01\x02") == {"$bytes": "AQI="}
    assert encode(2**60) == {"$bigint": str(2**60)} and encode(2**53 - 1) == 2**53 - 1
    assert encode(math.inf) == {"$number": "Infinity"}
    assert encode({"$date": 1}) == {"$escape": {"$date": 1}}
    assert encode({"$id": "x", "$type": "Customer"}) == {"$id": "x", "$type": "Customer"}
    assert math.isnan(decode({"$number": "NaN"}))
    with pytest.raises(TypeError):
        encode(object())
    for bad in [{"$bytes": "***"}, {"$bigint": "x"}, {"$number": "big"}, {"$date": "soon"}]:
        with pytest.raises(BadRequest):
            decode(bad)


any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["$date", "$bytes", "$bigint", "$number", "$escape", "a"]) | st.text(max_size=3),
        inner,
        max_size=3,
    ),
    max_leaves=10,
)


@given(any_json)
@example({"$number": []})
@example({"$date": [1]})
@example({"$escape": [{"$bigint": {}}]})
def test_any_json_decodes_or_is_a_bad_request(value: Any) -> None:
    # what a remote caller sends: a tag with the wrong kind of value is theirs to fix
    try:
        decode(value)
    except BadRequest as refused:
        assert refused.code == "invalid_value"


def test_framing() -> None:
    request = parse_message('{"id": 1, "method": "get", "params": ["k"]}')
    assert (request.id, request.method, request.params) == (1, "get", ["k"])
    for bad, code in [
        ("nope", "invalid_json"),
        ('{"id": 1}', "invalid_message"),
        ('{"id": [1], "method": "x"}', "invalid_message"),
        (b"binary", "invalid_message"),
        ("x" * (MAX_MESSAGE_BYTES + 1), "message_too_large"),
    ]:
        with pytest.raises(BadRequest) as caught:
            parse_message(bad)
        assert caught.value.code == code


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(limit=3, window=10)
    assert [limiter.allow("a", t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", 3)  # per socket
    assert limiter.allow("a", 10.5)  # the first message left the window


def test_rate_limiter_at_its_documented_bound() -> None:
    limiter = RateLimiter()  # 100 messages in any 10 s
    assert all(limiter.allow("a", n * 0.09) for n in range(100))  # 100 within 9 s
    assert not limiter.allow("a", 9.5)  # the 101st inside the window
    assert limiter.allow("a", 10.01)  # the first has left the window
