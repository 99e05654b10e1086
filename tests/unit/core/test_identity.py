"""An object keeps its name: Cloudflare names an instance (`ctx.id.name`) only when a named
stub made it, so an instance its alarm woke learns the name from its storage. Tokens name
their object by it; without this, every tenant token was refused (403 token_wrong_target)
by an object woken by its alarm after a restart."""

from __future__ import annotations

from dataclasses import dataclass

from dotdo.core.identity import IDENTITY_MIGRATIONS, ObjectIdentity
from dotdo.core.migrations import Component, migrate
from dotdo.core.sql import Sql
from tests.storage import Storage


@dataclass
class Named:
    name: str


class Unnamed:  # what an alarm's wake gets: an id with no name
    pass


def sql_of(storage: Storage) -> Sql:
    sql = Sql(storage)
    migrate(sql, [Component("identity", IDENTITY_MIGRATIONS)], 1)
    return sql


def test_a_wake_without_a_name_reads_the_one_a_named_wake_stored() -> None:
    storage = Storage()
    assert ObjectIdentity(sql_of(storage), Named("acme")).name() == "acme"
    assert ObjectIdentity(sql_of(storage), Unnamed()).name() == "acme"  # the alarm's wake
    assert ObjectIdentity(sql_of(storage), None).name() == "acme"


def test_an_object_never_reached_by_name_has_none() -> None:
    assert ObjectIdentity(sql_of(Storage()), Unnamed()).name() is None


def test_the_name_is_written_once() -> None:
    sql = sql_of(Storage())
    first = ObjectIdentity(sql, Named("acme"))
    before = sql.rows_written
    assert first.name() == first.name() == "acme"
    assert sql.rows_written == before + 1
    again = ObjectIdentity(sql, Named("acme"))  # a later named wake: nothing written
    assert again.name() == "acme" and sql.rows_written == before + 1
