"""`loads` leaves out `decode` when its text cannot hold a tag nor nest past `MAX_DEPTH`,
and parses with one decoder made once: its answer, errors included, is the one that
`json.loads` then `decode` gave, for any text."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.errors import BadRequest
from dotdo.wire import codec
from dotdo.wire.codec import MAX_DEPTH, MAX_JSON_DEPTH, decode, loads


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def reference_loads(text: str | bytes) -> Any:
    """`loads` as it was: `json.loads` with a decoder of its own each call, then `decode`."""
    try:
        if isinstance(text, bytes | bytearray):
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
            codec._check_depth(text)
        try:
            value = json.loads(text, parse_constant=_no_constant)
        except RecursionError as exc:
            raise ValueError("JSON is nested too deeply") from exc
        escape = codec._SURROGATE_ESCAPE.search(text)
        if escape is not None:
            found = codec._unpaired_surrogate(value)
            if found is not None:
                raise json.JSONDecodeError(
                    f"a string holds the unpaired surrogate U+{ord(found):04X}, which is not Unicode text",
                    text,
                    escape.start(),
                )
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc.msg}", code="invalid_json") from exc
    except ValueError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from exc
    return decode(value)


def typed(value: Any) -> Any:
    """`value` with every node's type spelled out: equal answers of different types differ."""
    if isinstance(value, dict):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def outcome(function: Any, text: str | bytes) -> Any:
    try:
        return ("value", typed(function(text)))
    except BadRequest as error:
        return ("error", error.code, error.message)


TAGS = ["$date", "$bytes", "$bigint", "$number", "$escape"]
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.sampled_from([*TAGS, "1e400", "NaN", "aGk=", "12345678901234567890"]),
)
KEYS = st.one_of(st.text(max_size=3), st.sampled_from([*TAGS, "$id"]))
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(KEYS, inner, min_size=1, max_size=1),  # a tag's shape, right or wrong
        st.dictionaries(KEYS, inner, max_size=3),
    ),
    max_leaves=20,
)


@st.composite
def texts(draw: st.DrawFn) -> str | bytes:
    value = draw(VALUES)
    text = json.dumps(
        value, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([None, (",", ":")]))
    )
    edit = draw(st.sampled_from(["none", "escape", "number", "cut", "bom", "bytes", "utf16"]))
    if edit == "escape":  # `"\u0024date"` is the key `$date`
        text = text.replace('"$', '"\\u0024')
    elif edit == "number":
        text = text.replace(
            "0", draw(st.sampled_from(["1e400", "NaN", "-Infinity", "99999999999999999999"])), 1
        )
    elif edit == "cut" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif edit == "bom":
        text = "\ufeff" + text
    elif edit == "bytes":
        return text.encode("utf-8", "surrogatepass")
    elif edit == "utf16":
        return text.encode("utf-16-le", "surrogatepass")
    return text


@settings(max_examples=600)
@given(texts())
def test_loads_answers_as_json_loads_then_decode(text: str | bytes) -> None:
    assert outcome(loads, text) == outcome(reference_loads, text)


@given(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), st.sampled_from(['"x"', "7", "null", "[]", "{}"]))
def test_the_depth_bound_of_decode_holds_without_a_tag(depth: int, leaf: str) -> None:
    for opener, closer in (("[", "]"), ('{"k":', "}")):
        text = opener * depth + leaf + closer * depth
        assert outcome(loads, text) == outcome(reference_loads, text)


def test_a_tag_is_decoded_however_its_key_is_spelled() -> None:
    assert loads('{"when": {"$date": 0}}')["when"].year == 1970
    assert loads('{"when": {"\\u0024date": 0}}')["when"].year == 1970
    assert loads('{"n": {"$big\\u0069nt": "12"}}') == {"n": 12}
    assert loads('{"s": "$date", "t": {"$dates": 1}}') == {"s": "$date", "t": {"$dates": 1}}
