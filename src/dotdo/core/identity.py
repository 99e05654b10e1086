"""The object's own name, kept so that an object its alarm woke still knows it.

Cloudflare gives a Durable Object its name (`ctx.id.name`) only when the instance was
made for a call through a stub from `idFromName` / `getByName`; an instance the alarm
woke has no name for its whole life, even when named requests reach it afterwards
(https://developers.cloudflare.com/durable-objects/api/id/#name). The name decides which
capability tokens the object accepts (their `target`), where its archive lives and which
room it owns, so the first wake that has it stores it (one row, written once), and a
wake without it reads it back.
"""

from __future__ import annotations

from typing import Any

from dotdo.core.migrations import Migration
from dotdo.core.sql import Sql

__all__ = ["IDENTITY_MIGRATIONS", "ObjectIdentity", "object_label"]

IDENTITY_MIGRATIONS = (
    Migration(
        1,
        (
            "CREATE TABLE IF NOT EXISTS dotdo_identity "
            "(slot INTEGER PRIMARY KEY CHECK (slot = 0), name TEXT NOT NULL)",
        ),
    ),
)


class ObjectIdentity:
    """The name of the object whose id is `object_id` (`ctx.id`), over its `sql`."""

    def __init__(self, sql: Sql, object_id: Any) -> None:
        self._sql = sql
        self._id = object_id
        self._name: str | None = None
        self._known = False

    def name(self) -> str | None:
        """The name the object was addressed by: the runtime's when it gave one (stored
        if new), else the one stored by an earlier wake; None for an object never reached
        by name (`newUniqueId`), or never by name since this was introduced."""
        if self._known:
            return self._name
        given = getattr(self._id, "name", None)
        stored = self._stored()
        if isinstance(given, str):
            if stored != given:
                self._sql.run(
                    "INSERT INTO dotdo_identity (slot, name) VALUES (0, ?) "
                    "ON CONFLICT(slot) DO UPDATE SET name = excluded.name",
                    given,
                )
            self._name = given
        else:
            self._name = stored
        self._known = True
        return self._name

    def _stored(self) -> str | None:
        rows = self._sql.exec("SELECT name FROM dotdo_identity WHERE slot = 0")
        for row in rows:
            return str(row["name"])
        return None


def object_label(name: str | None, object_id: Any) -> str:
    """How the object is named where a name is needed (its log lines, its archive's
    folder): `name` (`ObjectIdentity.name`), else its id as hex (`ctx.id.toString()`)."""
    if name is not None:
        return name
    to_string = getattr(object_id, "toString", None)
    return str(to_string()) if callable(to_string) else str(object_id)
