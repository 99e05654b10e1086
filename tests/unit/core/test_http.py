"""JSON from clients: nesting is bounded before the parser recurses into it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo import BadRequest
from dotdo.core.http import MAX_JSON_DEPTH, HttpRequest, parse_json


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


@pytest.mark.parametrize(("opener", "closer"), [("[", "]"), ('{"a":', "}")])
def test_nesting_at_and_past_the_bound(opener: str, closer: str) -> None:
    text = opener * MAX_JSON_DEPTH + "1" + closer * MAX_JSON_DEPTH
    assert parse_json(text) is not None
    with pytest.raises(json.JSONDecodeError, match=f"deeper than {MAX_JSON_DEPTH}"):
        parse_json(opener + text + closer)


def test_far_past_the_bound_is_refused_before_it_is_parsed() -> None:
    with pytest.raises(json.JSONDecodeError, match="deeper than"):
        parse_json(nested(200_000))
    request = HttpRequest("PUT", "http://acme.localhost/state/k", body=nested(200_000).encode())
    with pytest.raises(BadRequest) as refused:
        request.json()
    assert refused.value.code == "invalid_json"


def test_brackets_inside_strings_do_not_count() -> None:
    brackets = "[" * (MAX_JSON_DEPTH * 2)
    text = json.dumps({"s": brackets, "t": 'x\\"[[[', "list": [brackets] * 3})
    assert parse_json(text)["s"] == brackets


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
