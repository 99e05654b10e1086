"""Tagged values, WebSocket RPC framing and the per-socket rate bound."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.wire.codec import MAX_JSON_DEPTH, decode, dumps, encode, loads, parse_json
from dotdo.wire.wsrpc import MAX_MESSAGE_BYTES, parse_message

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
        # a field besides id, method and params, refused as POST /rpc refuses it
        ('{"id": 6, "method": "get", "params": ["a"], "extra": 1}', "invalid_message"),
        ('{"id": 6, "method": "get", "param": ["a"]}', "invalid_message"),
    ]:
        with pytest.raises(BadRequest) as caught:
            parse_message(bad)
        assert caught.value.code == code


def test_an_unknown_field_is_named() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_message('{"id": 6, "method": "get", "param": ["a"]}')
    assert caught.value.message == "Unknown field 'param' in the message; it takes id, method, params"


EDGES = [-(2**63), -(2**53) - 1, -(2**53), 2**53 - 1, 2**53, 2**63 - 1, 2**63]


@pytest.mark.parametrize("number", EDGES)
def test_integers_cross_every_json_surface_exactly(number: int) -> None:
    text = dumps({"n": number})
    wire = json.loads(text)["n"]
    assert wire == (number if abs(number) <= 2**53 - 1 else {"$bigint": str(number)})
    assert loads(text) == {"n": number}
    assert loads(f'{{"n": {number}}}') == {"n": number}  # an exact JSON number means the same int


@settings(max_examples=300, derandomize=True)
@given(
    st.recursive(
        st.one_of(st.integers(), st.floats(), st.binary(max_size=4), st.text(max_size=3)),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=8,
    )
)
def test_the_one_encoding_is_strict_json_and_round_trips(value: Any) -> None:
    text = dumps(value)
    parsed = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name} in {text}"))
    assert parsed == encode(value)
    assert _same(loads(text), value)
    for number in _numbers(parsed):  # what a JavaScript client reads is exact
        assert abs(number) <= 2**53 - 1 or isinstance(number, float)


def _same(left: Any, right: Any) -> bool:
    if isinstance(right, float) and math.isnan(right):
        return isinstance(left, float) and math.isnan(left)
    if isinstance(right, list | dict):
        pairs = (
            zip(left.values(), right.values(), strict=True)
            if isinstance(right, dict)
            else zip(left, right, strict=True)
        )
        return type(left) is type(right) and len(left) == len(right) and all(_same(a, b) for a, b in pairs)
    return bool(left == right)


def _numbers(value: Any) -> list[int | float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [n for item in items for n in _numbers(item)]


def test_json_text_in_is_strict() -> None:
    for text in ["NaN", '{"a": Infinity}', "[-Infinity]", "{", "[" * 100_000]:
        with pytest.raises(BadRequest) as refused:
            loads(text)
        assert refused.value.code == "invalid_json"
    with pytest.raises(BadRequest) as refused:
        loads('{"$bigint": "12x"}')
    assert refused.value.code == "invalid_value"
    assert loads('[{"$number": "-Infinity"}, {"$bytes": "AQI="}]') == [-math.inf, b"\x01\x02"]


def test_values_with_no_wire_form_are_the_callers_400() -> None:
    for value in [object(), {1: "a"}, _nested(70), 10**5000]:
        with pytest.raises(BadRequest) as refused:
            dumps(value)
        assert refused.value.code == "unserializable_result"


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ('{"a":', "}")])
def test_nesting_at_and_past_the_bound(opener: str, closer: str) -> None:
    text = opener * MAX_JSON_DEPTH + "1" + closer * MAX_JSON_DEPTH
    assert parse_json(text) is not None
    assert parse_json(text.encode()) == parse_json(text)
    for deeper in (opener + text + closer, (opener + text + closer).encode()):
        with pytest.raises(json.JSONDecodeError, match=f"deeper than {MAX_JSON_DEPTH}"):
            parse_json(deeper)


def test_far_past_the_bound_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(json.JSONDecodeError, match="deeper than"):
        parse_json(nested(200_000))
    with pytest.raises(BadRequest) as refused:
        loads(nested(200_000))
    assert refused.value.code == "invalid_json"


def test_brackets_inside_strings_do_not_count() -> None:
    brackets = "[" * (MAX_JSON_DEPTH * 2)
    text = json.dumps({"s": brackets, "t": 'x\\"[[[', "list": [brackets] * 3})
    assert parse_json(text)["s"] == brackets


def test_bytes_are_read_in_the_encodings_json_allows() -> None:
    text = json.dumps({"s": "\u00e9[" * 600, "n": [[1]]}, ensure_ascii=False)
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32"):
        assert parse_json(text.encode(encoding)) == json.loads(text)


@given(
    st.recursive(
        st.none() | st.text(alphabet='[]{}"\\ab', max_size=6),
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{"\\', max_size=3), inner, max_size=3),
    )
)
def test_whatever_json_loads_takes_within_the_bound_parse_json_takes_too(value: object) -> None:
    text = json.dumps(value)
    assert parse_json(text) == json.loads(text)


ESCAPES = [
    "a",
    "é",
    "\\u0041",
    "\\ud800",
    "\\udfff",
    "\\ud83d",
    "\\ude00",
    "\\ud83d\\ude00",
    "\\\\ud800",
    "\\n",
]


@settings(max_examples=300)
@example(["\\ud800"], False)
@example(["\\ud83d\\ude00"], True)
@given(st.lists(st.sampled_from(ESCAPES), max_size=5), st.booleans())
def test_strings_in_are_unicode_text(parts: list[str], as_key: bool) -> None:
    literal = '"' + "".join(parts) + '"'
    text = f"{{{literal}: 1}}" if as_key else f"[1, {literal}]"
    meant = json.loads(text)  # what the escapes say, surrogates and all
    try:
        json.dumps(meant, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a surrogate no UTF-8 text (SQLite, a socket, a body) can hold
        for sent in (text, text.encode()):
            with pytest.raises(BadRequest) as refused:
                loads(sent)
            assert refused.value.code == "invalid_json" and "unpaired surrogate" in refused.value.message
    else:
        assert loads(text) == meant
        assert dumps(loads(text)).encode("utf-8")


def test_a_refused_message_whose_id_could_be_read_is_answered_with_it() -> None:
    """A client matching answers by id must hear about its call: an unknown field or a
    missing method is refused with the caller's id (it was answered with `null`)."""
    from dotdo.wire.wsrpc import InvalidMessage

    for text, request_id in (
        ('{"id": 20, "method": "get", "params": ["k"], "param": 1}', 20),
        ('{"id": "a", "params": []}', "a"),
        ('{"method": "get", "extra": 1}', None),
    ):
        with pytest.raises(InvalidMessage) as refused:
            parse_message(text)
        assert (refused.value.code, refused.value.request_id) == ("invalid_message", request_id)
