"""The name grammar (`dotdo.remote.names`, and the field names of `dotdo.semantic.names`) is
stated once: the client, the event types, the run ids, the keyset cursor, the verb check and
the declared fields read it, so that a change to one rule reaches every place it is used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dotdo
from dotdo.client import Client
from dotdo.errors import BadRequest
from dotdo.remote.names import TENANT, THING_ID, THING_ID_RULE, TYPE_NAME, VERB, is_object_name
from dotdo.semantic.eventtypes import validate_event_type
from dotdo.semantic.names import FIELD_NAME, validate_verb
from dotdo.semantic.object_names import object_name

SOURCE = Path(dotdo.__file__).parent


@pytest.mark.parametrize(
    ("text", "home"),
    [
        (TENANT.pattern, "remote/names.py"),
        (TYPE_NAME.pattern, "remote/names.py"),
        (THING_ID.pattern, "remote/names.py"),
        (VERB.pattern, "remote/names.py"),
        (THING_ID_RULE, "remote/names.py"),
        (FIELD_NAME.pattern, "semantic/names.py"),
    ],
)
def test_each_rule_is_written_in_one_module(text: str, home: str) -> None:
    """A copy of a pattern (the client's type name, the run id, the keyset cursor's id, the
    event type's noun and verb, a declared field) agreed with its source only until one of
    the two changed."""
    holders = sorted(
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*")
        if path.suffix in (".py", ".mjs", ".js") and text in path.read_text(encoding="utf-8")
    )
    assert holders == [home]


def test_the_readers_take_what_the_patterns_take() -> None:
    """One sample a side of each rule, through the modules that read it."""
    longest = "A" + "b" * 63
    assert TYPE_NAME.fullmatch(longest) and not TYPE_NAME.fullmatch(longest + "c")
    assert validate_event_type(f"{longest}.{'v' * 64}") == f"{longest}.{'v' * 64}"
    assert validate_verb("signUp") == "signUp"
    client = Client("http://example.test")
    assert client.Customer is not None
    with pytest.raises(AttributeError):
        _ = client.customer
    assert re.fullmatch(THING_ID, "a" * 128) and not re.fullmatch(THING_ID, "a" * 129)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="aZ9-_./:\x00 ", max_size=12))
def test_the_object_name_check_and_its_messages_read_the_forms_alike(name: str) -> None:
    """`is_object_name` (a token's target, a stub's name) and `object_name` (the check whose
    messages say which part is wrong) read one grammar: a name is taken by both or by
    neither."""
    try:
        object_name(name, "owner", "invalid_owner")
    except BadRequest:
        taken = False
    else:
        taken = True
    assert is_object_name(name) is taken
