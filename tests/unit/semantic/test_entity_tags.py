"""A thing's entity tag (`thingdata.version_tag`) names one representation across the
thing's lives: a thing deleted for good and created again under its id restarts at
version 1, and its creation time keeps the new life's tags apart from the old one's
(RFC 9110 §8.8.1), also when both lives are created within one millisecond."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.core.preconditions import Preconditions
from dotdo.core.sql import Sql
from dotdo.errors import PreconditionFailed
from dotdo.semantic.store import THING_TABLES, SqliteThingStore
from dotdo.semantic.thingdata import thing_tag, version_tag
from dotdo.semantic.things import Things
from tests.storage import Storage

T0 = 1_767_225_600_000


class NoEvents:
    def emit(
        self, event_type: str, data: object = None, subject: str | None = None, object: str | None = None
    ) -> str:
        return "event"


class Clock:
    """workerd's clock: it stands still until moved (it does not move while a request computes)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def things(clock: Clock) -> Things:
    sql = Sql(Storage())
    for migration in THING_TABLES.migrations:
        for statement in migration.statements:
            if isinstance(statement, str):
                sql.run(statement)
            else:
                statement(sql)
    return Things(SqliteThingStore(sql), NoEvents(), clock)


def test_the_tag_is_the_version_and_the_creation_time() -> None:
    assert str(version_tag(3, T0)) == f'"3.{T0}"'
    thing = {"$id": "d1", "$type": "Doc", "$created_at": T0, "$updated_at": T0 + 5, "$version": 2}
    assert thing_tag(thing) == version_tag(2, T0) and not thing_tag(thing).weak


def test_a_life_created_in_the_millisecond_the_old_one_was_gets_a_later_creation_time() -> None:
    clock = Clock()
    docs = things(clock)
    lives = [docs.create("Doc", {"$id": "d1", "title": "first"})]
    for title in ("second", "third"):  # erased and created again, the clock standing still
        assert docs.delete("Doc", "d1")
        lives.append(docs.create("Doc", {"$id": "d1", "title": title}))
    assert [life["$created_at"] for life in lives] == [T0, T0 + 1, T0 + 2]
    assert all(life["$version"] == 1 and life["$updated_at"] == life["$created_at"] for life in lives)
    assert len({str(thing_tag(life)) for life in lives}) == 3
    for old in lives[:2]:
        try:
            docs.update(
                "Doc", "d1", {"title": "x"}, condition=Preconditions.from_headers(str(thing_tag(old)), None)
            )
        except PreconditionFailed as refused:
            assert refused.headers == {"etag": str(thing_tag(lives[2]))}
        else:
            raise AssertionError("a tag of an erased life matched the thing now")
    clock.now += 1_000  # a later millisecond: the clock's own time again
    assert docs.delete("Doc", "d1")
    assert docs.create("Doc", {"$id": "d1"})["$created_at"] == T0 + 1_000


OPS = st.lists(st.sampled_from(["create", "update", "soft", "restore", "erase", "tick"]), max_size=40)


@settings(max_examples=200)
@given(ops=OPS)
def test_equal_tags_are_equal_representations(ops: list[str]) -> None:
    """Whatever writes happen to one id, in whichever milliseconds, a tag never names two
    different representations (RFC 9110 §8.8.1, strong validators)."""
    clock = Clock()
    docs = things(clock)
    seen: dict[str, dict[str, Any]] = {}

    def answered(thing: dict[str, Any]) -> None:
        tag = str(thing_tag(thing))
        assert seen.setdefault(tag, thing) == thing, (tag, seen[tag], thing)

    for n, op in enumerate(ops):
        current = docs.get("Doc", "d1", True)
        if op == "tick":
            clock.now += 1
        elif op == "create" and current is None:
            answered(docs.create("Doc", {"$id": "d1", "n": n}))
        elif op == "update" and current is not None and "$deleted_at" not in current:
            answered(docs.update("Doc", "d1", {"n": n}))
        elif op == "soft" and current is not None:
            answered(docs.soft_delete("Doc", "d1"))
        elif op == "restore" and current is not None and "$deleted_at" in current:
            answered(docs.restore("Doc", "d1"))
        elif op == "erase" and current is not None:
            assert docs.delete("Doc", "d1")


def test_a_failed_if_match_names_the_current_entity_tag() -> None:
    """A client that sent the bare version (`"1"`) learns the tag's form from the 412."""
    docs = things(Clock())
    docs.create("Doc", {"$id": "d1", "title": "x"})
    try:
        docs.update("Doc", "d1", {"title": "y"}, condition=Preconditions.from_headers('"1"', None))
    except PreconditionFailed as failed:
        assert f'is at version 1 (entity tag "1.{T0}"), so If-Match is false' in str(failed)
    else:
        raise AssertionError("the update should have failed its precondition")


def test_a_batch_s_preconditions_hold_for_the_things_before_it() -> None:
    """`If-None-Match: *` on `[{"$id": "c"}, {"$id": "c"}]` was a 412 describing "Doc 'c' is
    at version 1" with an entity tag, for a thing its own batch had just created (and never
    committed); without the header the batch is a 409 `thing_exists`, and so it is with it."""
    from dotdo.errors import Conflict

    docs = things(Clock())
    absent = Preconditions.from_headers(None, "*")
    for condition in (None, absent):
        try:
            docs.create_many("Doc", [{"$id": "c"}, {"$id": "c"}], condition=condition)
        except Conflict as refused:
            assert refused.code == "thing_exists"
        else:
            raise AssertionError("a batch creating one id twice should fail")
        assert docs.get("Doc", "c") is None
    created = docs.create_many("Doc", [{"$id": "a"}, {"$id": "b"}], condition=absent)
    assert [doc["$id"] for doc in created] == ["a", "b"]
    try:  # a thing there before the batch still fails its precondition, whichever item names it
        docs.create_many("Doc", [{"$id": "d"}, {"$id": "b"}], condition=absent)
    except PreconditionFailed as failed:
        assert failed.current_version == 1
    else:
        raise AssertionError("b existed before the batch")
    assert docs.get("Doc", "d") is None
