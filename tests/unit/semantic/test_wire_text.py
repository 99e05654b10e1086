"""A thing's answer written from its stored text (`ThingRecord.wire_text`, `Things.list_text`,
ADR 0032) is the very text the general path writes (`codec.dumps` of the wire dict), for
any properties, on rows flushed to `things` and on records still in DOStorage's overlay;
stored text the fast path cannot vouch for takes the general path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotdo.errors import BadRequest
from dotdo.semantic.query import ThingQuery
from dotdo.semantic.store import ThingRecord
from dotdo.semantic.thingdata import encode_properties
from dotdo.values import MAX_SAFE_INTEGER
from dotdo.wire.codec import dumps
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.storage.test_tiers import Node

_TAGS = ["$date", "$bytes", "$bigint", "$number", "$escape"]
_KEYS = st.sampled_from(["a", "b", "name", "$x", "$", "\u00e9", "k\x01", "\\u0024date", *_TAGS]) | st.text(
    max_size=6
)
_INTEGERS = st.sampled_from(
    [0, -1, MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 2**63 - 1, -(2**63), 10**15]
) | st.integers(min_value=-(2**63), max_value=2**63 - 1)
_STRINGS = st.sampled_from(
    ['"$date":', "$5", "\\u0024", "NaN", "Infinity", "1234567890123456789", "\x00\n\t", "\u2028", "[{"]
) | st.text(max_size=12)
_LEAVES = (
    st.none()
    | st.booleans()
    | _INTEGERS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.30000000000000004, 1234567890123456.5, 1e16, -0.0, 5e-324])
    | _STRINGS
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(_KEYS, inner, max_size=4)
    | st.dictionaries(st.sampled_from(_TAGS), inner, min_size=1, max_size=1),  # escaped when sent
    max_leaves=12,
)
_PROPERTIES = st.dictionaries(
    st.text(max_size=6).filter(lambda key: not key.startswith("$")), _VALUES, max_size=5
)


@settings(max_examples=500)
@given(properties=_PROPERTIES, deleted=st.booleans())
def test_a_record_answers_what_the_general_path_writes(properties: dict[str, Any], deleted: bool) -> None:
    record = ThingRecord(
        "c1", "Customer", encode_properties(properties), T0, T0 + 1, T0 + 2 if deleted else None, 2
    )
    assert record.wire_text() == dumps(record.wire())


def _node() -> Node:
    return Node(Storage(), Clock(T0), tiered=True)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(things=st.lists(_PROPERTIES, min_size=1, max_size=8), flush_after=st.integers(0, 8), data=st.data())
def test_lists_and_reads_answer_what_the_general_path_writes(
    things: list[dict[str, Any]], flush_after: int, data: st.DataObject
) -> None:
    node = _node()
    for index, properties in enumerate(things):
        if index == flush_after:
            node.tiers.flush()  # the rows before are in `things`, the rest in the overlay
        record, thing = node.things.create_record("Customer", {"$id": f"c{index:02}", **properties})
        assert record.wire_text() == dumps(thing)  # POST's answer
    if data.draw(st.booleans()):
        node.things.update("Customer", "c00", data.draw(_PROPERTIES))
    for index in data.draw(st.sets(st.integers(0, len(things) - 1))):
        node.things.soft_delete("Customer", f"c{index:02}")
    for params in (
        {"limit": "3"},
        {"limit": "50", "include_deleted": "true"},
        {"limit": "2", "offset": "1", "total": "exact", "order_by": "-$created_at"},
    ):
        query = ThingQuery.from_params(params)
        assert node.things.list_text("Customer", query) == dumps(node.things.list("Customer", query))
    for index in range(len(things)):
        record = node.things.get_record("Customer", f"c{index:02}", include_deleted=True)
        assert record is not None
        assert record.wire_text() == dumps(node.things.get("Customer", f"c{index:02}", include_deleted=True))


def test_a_projection_and_a_residual_clause_take_the_general_path() -> None:
    node = _node()
    node.things.create("Customer", {"$id": "c1", "name": "ann", "tags": ["x"], "n": 2**60})
    node.things.create("Customer", {"$id": "c2", "name": "bob", "tags": [], "n": 1})
    for params in (
        {"select": "name"},
        {"where": json.dumps({"name": {"$regex": "^a"}})},
        {"where": json.dumps({"name": "ann"}), "select": "n"},
    ):
        query = ThingQuery.from_params(params)
        assert node.things.list_text("Customer", query) == dumps(node.things.list("Customer", query))


@pytest.mark.parametrize(
    "data",
    [
        "{}",
        '{"a":1}',
        '{ "a": 1 }',
        '{"a": {"$date": 1}}',
        '{"a":{"\\u0024date":1}}',
        '{"a":NaN}',
        '{"a":[-Infinity]}',
        '{"a":12345678901234567890}',
        '{"a":[1,\n9007199254740993]}',
        '{"a":-9007199254740992}',
        '{"a":9007199254740991}',
        '{"a":"\\ud83d\\ude00"}',
        '{"a":' + "[" * 70 + "]" * 70 + "}",
    ],
)
def test_stored_text_it_cannot_vouch_for_answers_as_the_general_path(data: str) -> None:
    """Text an older writer may have left (white space, tags, NaN, huge integers, escapes,
    deep nesting): the same answer as `codec.dumps`, or the same error."""
    record = ThingRecord("c1", "Customer", data, T0, T0 + 1, None, 3)
    try:
        expected = dumps(record.wire())
    except BadRequest as exc:
        with pytest.raises(BadRequest) as raised:
            record.wire_text()
        assert raised.value.code == exc.code
        return
    assert json.loads(record.wire_text()) == json.loads(expected)


def test_the_fast_path_writes_the_fields_in_wire_order() -> None:
    record = ThingRecord("c1", "Customer", '{"b":1,"a":"x"}', T0, T0 + 1, T0 + 2, 3)
    assert record.wire_text() == (
        f'{{"$id":"c1","$type":"Customer","$created_at":{T0},"$updated_at":{T0 + 1},'
        f'"$deleted_at":{T0 + 2},"$version":3,"b":1,"a":"x"}}'
    )
    assert record.wire_text() == dumps(record.wire())
    assert ThingRecord("c1", "Customer", "{}", T0, T0, None, 1).wire_text() == dumps(
        ThingRecord("c1", "Customer", "{}", T0, T0, None, 1).wire()
    )
