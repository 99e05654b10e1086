"""`GET /state/:key` and `PUT /state/:key` answer `{"key", "value"}` from the value's stored
text (`state_routes.entry_text`, ADR 0032): byte for byte what the general path
(`codec.dumps` of the parsed value) writes, for any value, top-level leaves included;
stored text the fast path cannot vouch for takes the general path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings

from dotdo.core.state import validate_key
from dotdo.core.state_routes import entry_text
from dotdo.errors import BadRequest
from dotdo.values import MAX_SAFE_INTEGER
from dotdo.wire.codec import dumps
from dotdo.wire.verbatim import is_own_wire_form
from tests.unit.core.test_state_store import store
from tests.unit.semantic.test_wire_text import _KEYS, _VALUES


def _valid(key: str) -> bool:
    try:
        validate_key(key)
    except BadRequest:
        return False
    return True


_STATE_KEYS = _KEYS.filter(_valid)


@settings(max_examples=500)
@given(key=_STATE_KEYS, value=_VALUES)
def test_a_stored_value_answers_what_the_general_path_writes(key: str, value: Any) -> None:
    state, _ = store()
    stored = state.put(key, value)
    assert state.get_text(key) == stored
    assert entry_text(key, stored) == dumps({"key": key, "value": value})


@pytest.mark.parametrize(
    "value",
    [
        MAX_SAFE_INTEGER + 1,
        -(MAX_SAFE_INTEGER + 1),
        2**63 - 1,
        1234567890123456,
        "$x",
        {"$date": 1},
        [{"$bytes": ""}],
    ],
)
def test_values_the_codec_rewrites_take_the_general_path(value: Any) -> None:
    text = json.dumps(value, separators=(",", ":"))
    assert not is_own_wire_form(text)
    assert entry_text("k", text) == dumps({"key": "k", "value": value})


@pytest.mark.parametrize(
    "text", ["1", "-5", "null", "true", '"a"', "[]", '{"a":[1,2.5,"x"]}', "123456789012345"]
)
def test_plain_values_are_sent_as_stored(text: str) -> None:
    assert is_own_wire_form(text)
    assert entry_text("k", text) == f'{{"key":"k","value":{text}}}'
