"""Thing ids (`semantic/ids.py`): written two characters a lookup, they are the ULID text
that writing one character at a time gave, and they sort as they are made; their random
parts are read from the system's source a block at a time, never before the first id."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.errors import BadRequest
from dotdo.semantic.ids import IdGenerator, _encode, canonical_id, id_cursor, id_page, made_id

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def reference_encode(value: int, length: int) -> str:
    """One character of Crockford base32 per 5 bits, as ids were written before."""
    chars = []
    for _ in range(length):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@given(
    st.one_of(st.integers(0, 2**48), st.sampled_from([0, 2**50 - 1, 2**50, 2**60, -1])),
    st.one_of(st.integers(0, 2**80 - 1), st.sampled_from([0, 2**79, 2**80 - 1])),
)
def test_an_id_is_its_time_then_its_random_part_in_base32(ms: int, random_part: int) -> None:
    assert _encode(ms, random_part) == reference_encode(ms, 10) + reference_encode(random_part, 16)


def test_ids_sort_as_they_are_made_within_and_across_milliseconds() -> None:
    ids = IdGenerator()
    made = [ids(ms) for ms in (1_767_225_600_000, 1_767_225_600_000, 1_767_225_600_001, 1_767_225_599_000)]
    assert made == sorted(made) and len(set(made)) == 4 and all(canonical_id(i) == i for i in made)


def test_random_parts_come_from_the_system_source_in_blocks_and_never_before_the_first_id() -> None:
    drawn: list[bytes] = []

    def urandom(size: int) -> bytes:
        block = bytes((len(drawn) * 7 + i) % 256 for i in range(size))
        drawn.append(block)
        return block

    with mock.patch("dotdo.semantic.ids.os.urandom", urandom):
        ids = IdGenerator()
        assert drawn == []
        made = [ids(1_767_225_600_000 + n) for n in range(300)]  # a new millisecond each: 300 draws
    assert len(drawn) == 3  # 128 random parts a block
    stream = b"".join(drawn)
    for n, one in enumerate(made):
        chunk = stream[n * 10 : n * 10 + 10]  # as secrets.randbits(79) reads 10 bytes
        assert one[10:] == reference_encode(int.from_bytes(chunk, "big") >> 1, 16)


@given(
    st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1), st.lists(st.booleans(), min_size=26, max_size=26)
)
def test_an_id_in_any_case_is_the_same_id(ms: int, random_part: int, upper: list[bool]) -> None:
    """Crockford base32 is case-insensitive on input (the ULID spec): any mix of cases
    names the id as it was made, and a cursor of it is that id."""
    made = _encode(ms, random_part)
    mixed = "".join(c.upper() if u else c for c, u in zip(made, upper, strict=True))
    assert canonical_id(mixed) == made == id_cursor(mixed)


@pytest.mark.parametrize(
    "text",
    ["", "01j", "01J" + "I" * 23, "01j" + "l" * 23, "01J" + "O" * 23, "01J" + "U" * 23, " " * 26, 7, None],
)
def test_what_is_no_id_in_any_case_is_no_cursor(text: object) -> None:
    assert canonical_id(text) is None
    with pytest.raises(BadRequest) as raised:
        id_cursor(text)
    assert raised.value.code == "invalid_cursor" and "26 Crockford base32 characters" in str(raised.value)


KELVIN = "\u212a"
"""The Kelvin sign, the one character outside ASCII that `str.lower()` makes an ASCII letter (`k`)."""


def test_only_ascii_is_folded() -> None:
    """Crockford base32 is ASCII: a text holding the Kelvin sign where an id has `k` names
    no id, as a cursor (400) or as an approval's or a dead letter's id (as given, so that
    its lookup answers 404); `str.lower()` alone made it that id."""
    made = "01jbk" + "0" * 21
    assert canonical_id(made.upper()) == made == made_id(made.upper())
    lookalike = made.replace("k", KELVIN)
    assert len(lookalike) == 26 and lookalike.lower() == made
    assert canonical_id(lookalike) is None and made_id(lookalike) == lookalike
    with pytest.raises(BadRequest) as raised:
        id_cursor(lookalike)
    assert raised.value.code == "invalid_cursor"


def test_an_id_a_caller_may_choose_is_left_as_given() -> None:
    """`made_id` folds ids only: a text of another shape is returned as it came."""
    for text in ("ACME", "01j", "01J" + "U" * 23, "c-1"):
        assert made_id(text) == text


def test_a_page_keyed_by_ids_says_whether_more_follow_and_where_the_next_starts() -> None:
    """Events, actions and schedules page alike: `id_page` builds each of their pages."""
    items: list[dict[str, Any]] = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert id_page(items, 2) == {"items": items[:2], "has_more": True, "cursor": "b"}
    assert id_page(items, 3) == {"items": items, "has_more": False, "cursor": None}
    assert id_page([], 3) == {"items": [], "has_more": False, "cursor": None}
    # Read from two places (the archive, then SQLite): the second says more follow.
    assert id_page(items[:1], 2, more=True) == {"items": items[:1], "has_more": True, "cursor": "a"}
    assert id_page([{"id": 7}, {"id": 8}], 1)["cursor"] == "7"  # the cursor is text
