"""Room names are 1-59 of a tag's characters: `?room=` with an empty name, or a name
ending in a newline (which `$` let through), opened a socket before."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from dotdo.errors import BadRequest
from dotdo.full.rooms import parse_rooms, relay_data, room_tag
from dotdo.wire.codec import is_plain


@pytest.mark.parametrize("raw", [[""], [","], ["a,"], ["a,,b"], ["x" * 60], ["a b"]])
def test_a_bad_or_empty_room_name_is_refused(raw: list[str]) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_rooms(raw)
    assert raised.value.code == "invalid_room"


def test_room_names_give_distinct_tags_in_order() -> None:
    assert parse_rooms(["b,a", " a ", "c"]) == ["room:b", "room:a", "room:c"]
    assert room_tag("x" * 59) == "room:" + "x" * 59
    with pytest.raises(BadRequest):
        room_tag("lobby\n")  # `broadcast_to_room` takes names as given


def test_a_relayed_room_message_is_plain_json_or_a_400() -> None:
    """A relay sent its data over Workers RPC unchecked: data with no wire form (an accessor
    a pipeline made), or a date, failed to clone there and was a 500 `internal_error`."""
    assert relay_data({"n": [1, "a", None, 2.5, True], "$id": "x"}) == {
        "n": [1, "a", None, 2.5, True],
        "$id": "x",
    }
    assert relay_data(("a", 1)) == ["a", 1]
    for data in (object(), {"when": datetime(2026, 1, 1, tzinfo=UTC)}, b"x", 2**60, math.nan, {"$date": 5}):
        with pytest.raises(BadRequest) as raised:
            relay_data(data)
        assert raised.value.code == "unserializable_result", data


def test_a_relayed_room_message_holds_no_constructor_key() -> None:
    """Workers RPC's Python conversion (the SDK's `python_from_rpc`) fails on an object whose
    own `constructor` is a value: the owner answered a 500 for plain JSON."""
    for data, path in (({"car": {"constructor": "Ferrari"}}, "$.car"), ([1, {"constructor": 1}], "$[1]")):
        with pytest.raises(BadRequest) as raised:
            relay_data(data)
        assert raised.value.code == "unserializable_result"
        assert f"no key 'constructor' (at {path})" in raised.value.message
    assert relay_data({"constructors": ["Ferrari"], "maker": "constructor"}) == {
        "constructors": ["Ferrari"],
        "maker": "constructor",
    }


def test_a_wire_form_is_plain_unless_a_tag_is_in_it() -> None:
    assert is_plain({"a": [1, {"b": "c"}], "$date": 1, "d": None})  # two keys: no tag
    for tagged in ({"$date": 1}, [{"$bytes": ""}], {"a": {"$escape": {"$date": 1}}}):
        assert not is_plain(tagged)
