"""The state store on SQLite (CPython's, behind the runtime's stand-in): a value set to what it
is already writes nothing and stays as it was; keys keep their byte order in the rebuilt
table."""

from __future__ import annotations

from dotdo.core.migrations import Component, migrate
from dotdo.core.sql import Sql
from dotdo.core.state import STATE_MIGRATIONS, StateStore
from tests.storage import Storage


def store() -> tuple[StateStore, Sql]:
    sql = Sql(Storage())
    migrate(sql, [Component("core", STATE_MIGRATIONS)], 1)
    return StateStore(sql), sql


def test_setting_the_same_value_again_writes_nothing_and_keeps_it() -> None:
    state, sql = store()
    state.set("k", {"n": 1})
    before = sql.rows_written
    state.set("k", {"n": 1})
    assert sql.rows_written == before
    assert state.get("k") == {"n": 1}
    state.set("k", {"n": 2})
    assert sql.rows_written == before + 1 and state.get("k") == {"n": 2}
    assert state.transaction([{"op": "set", "key": "k", "value": {"n": 2}}]) == 1  # still counted as applied
    assert sql.rows_written == before + 1


def test_keys_list_in_byte_order() -> None:
    state, _ = store()
    keys = ["b", "a", "\u00e9", "A", "ab", "\U0001f600"]
    state.set_many({key: key for key in keys})
    assert [key for key, _ in state.list().items] == sorted(keys, key=str.encode)


def test_a_state_page_says_whether_more_follow_as_every_cursor_page_does() -> None:
    """`GET /state`'s page had no `has_more` where the action, edge and event pages do."""
    state, _ = store()
    for key in "abcde":
        state.set(key, 1)
    first = state.list(limit=2).to_dict()
    assert first["has_more"] is True and first["cursor"] is not None
    last = state.list(limit=3, cursor=first["cursor"]).to_dict()
    assert [item["key"] for item in last["items"]] == ["c", "d", "e"]
    assert last["has_more"] is False and last["cursor"] is None
