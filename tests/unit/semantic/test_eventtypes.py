"""A sent event's subject and object: None or a string of at most 256 characters with no
lone surrogate, else a 400 naming which (`invalid_subject`, `invalid_object`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.errors import BadRequest
from dotdo.semantic.eventtypes import MAX_EVENT_REF_CHARS, validate_event_ref


@given(st.one_of(st.none(), st.text(max_size=MAX_EVENT_REF_CHARS)))  # hypothesis' text: no lone surrogate
def test_a_reference_within_the_bound_is_itself(value: str | None) -> None:
    assert validate_event_ref(value, "subject") == value


@pytest.mark.parametrize("role", ["subject", "object"])
@pytest.mark.parametrize(
    "value", ["s" * (MAX_EVENT_REF_CHARS + 1), "x" * 3_000_000, "a\ud800", 5, {"$id": "a"}]
)
def test_anything_else_is_a_400_naming_the_role(role: str, value: object) -> None:
    with pytest.raises(BadRequest) as refused:
        validate_event_ref(value, role)
    assert refused.value.code == f"invalid_{role}"
    assert len(str(refused.value)) < 300
    str(refused.value).encode()  # the message holds no lone surrogate itself
