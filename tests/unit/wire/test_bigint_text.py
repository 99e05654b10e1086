"""A `$bigint` (and Cap'n Web `["bigint", ...]`) is a JSON integer's digits and nothing else:
`int()` alone took `"+7"`, `" 7 "`, `"1_000"` and other scripts' digits, so a value the
client never wrote was stored."""

from __future__ import annotations

import json

import pytest

from dotdo.errors import BadRequest, ProtocolError
from dotdo.wire.capnweb_parts import literal as _literal
from dotdo.wire.codec import bigint, loads

LENIENT = ["-0", "+7", " 7", "7 ", "1_000", "\u0663", "007", "-", "", "0x10", "1e3", "--1"]


@pytest.mark.parametrize("text", LENIENT)
def test_text_int_alone_would_take_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        bigint(text)
    with pytest.raises(BadRequest) as refused:
        loads(json.dumps({"n": {"$bigint": text}}))
    assert refused.value.code == "invalid_value"
    with pytest.raises(ProtocolError, match="invalid bigint value"):
        _literal("bigint", [text])


@pytest.mark.parametrize("text", ["0", "7", "-12345678901234567890", "9" * 100])
def test_a_json_integers_digits_are_read(text: str) -> None:
    assert bigint(text) == int(text)
    assert loads(json.dumps({"n": {"$bigint": text}})) == {"n": int(text)}
    assert _literal("bigint", [text]) == int(text)


def test_an_integer_past_the_digit_limit_is_named_and_never_echoed() -> None:
    """A 900,000-digit `$bigint` was echoed whole in its 400, with Python's advice on
    `sys.set_int_max_str_digits`; a 5,000-digit JSON number was "not valid JSON"."""
    with pytest.raises(BadRequest) as refused:
        loads(json.dumps({"n": {"$bigint": "9" * 900_000}}))
    assert refused.value.code == "invalid_value"
    assert "more than 4,300 digits" in refused.value.message
    assert len(refused.value.message) < 200 and "sys." not in refused.value.message
    with pytest.raises(BadRequest) as refused:
        loads('{"n": ' + "9" * 5000 + "}")
    assert (refused.value.code, refused.value.message) == (
        "invalid_json",
        "Request body holds an integer of more than 4,300 digits",
    )
    assert bigint("9" * 4300) == int("9" * 4300)


def test_every_json_entry_point_names_an_integer_past_the_digit_limit() -> None:
    """Python's own message (its advice on `sys.set_int_max_str_digits`) reached the socket
    and the where clause; `parse_json` names the limit for every caller."""
    from dotdo.semantic.query import ThingQuery
    from dotdo.wire.wsrpc import parse_message

    text = '{"n": ' + "9" * 5000 + "}"
    with pytest.raises(BadRequest) as refused:
        parse_message(text)
    assert refused.value.message == "message is not JSON: an integer of more than 4,300 digits"
    with pytest.raises(BadRequest) as refused:
        ThingQuery.from_params({"where": text})
    assert "an integer of more than 4,300 digits" in refused.value.message
    assert "sys." not in refused.value.message


def test_a_bad_tag_is_quoted_as_json_and_a_date_out_of_range_says_which_years() -> None:
    """The messages named Python's values and types: `None`, "too large to convert to C int"."""
    with pytest.raises(BadRequest) as refused:
        loads('{"n": {"$bigint": null}}')
    assert refused.value.message == "$bigint value null is invalid"
    with pytest.raises(BadRequest) as refused:
        loads('{"n": {"$date": 1e30}}')
    assert refused.value.message == "$date value 1e+30 is invalid: a date is within the years 1 to 9999"


@pytest.mark.parametrize(
    "args", [["E"], ["E", "m", None, {}, 5], [{"a": 1}, "m"], ["E", [1]], ["E", "m", None, {}, 6, 7, 8]]
)
def test_a_capnweb_error_expression_of_another_shape_ends_the_session(args: list[object]) -> None:
    with pytest.raises(ProtocolError, match="an error is"):
        _literal("error", args)
