"""Room names are 1-59 of a tag's characters: `?room=` with an empty name, or a name
ending in a newline (which `$` let through), opened a socket before."""

from __future__ import annotations

import pytest

from dotdo.errors import BadRequest
from dotdo.full.rooms import parse_rooms, room_tag


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
