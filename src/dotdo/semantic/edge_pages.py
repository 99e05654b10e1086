"""Pages of one thing's edges of one verb, oldest edge first, by cursor: what `related`,
`related_page` and `GET /:Noun/:id/:verb` answer. `Relationships` (`graph.py`) takes
`page` from `EdgePages`.

Edges are ordered by (`created_at`, the other end's id, its type), unique for one thing
and verb (an edge is keyed by both ends' types and ids and its verb, ADR 0041), so a cursor
naming the last edge of a page continues after it whatever was added or removed meanwhile.
A thing named by a bare id may be either end of edges under several types: each other end
is answered once, at its oldest edge. `total` is counted only when
asked, as a list of things counts it (ADR 0028).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.hops import Hop, checked_limit
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.refs import Ref, as_ref, thing_filter
from dotdo.semantic.strict import NounPolicy
from dotdo.semantic.thingdata import validate_id
from dotdo.values import int64_error

__all__ = ["MAX_RELATED", "EdgePages", "edge_cursor"]

MAX_RELATED = 1000
"""Most things one traversal hop, or one page of `related`, answers."""

_CURSOR = re.compile(r"(-?[0-9]{1,19})\.(.+)", re.DOTALL)


def edge_cursor(cursor: Any) -> tuple[int, str, str | None]:
    """A page's `cursor` (`"<created_at>.<Type>/<id>"`: the last edge's creation time in
    epoch ms, the other end's type and id) as (created_at, id, type); the form before ends
    had types in the edge's key, `"<created_at>.<id>"`, as (created_at, id, None), so that a
    listing paged across an upgrade goes on. 400 `invalid_cursor` for anything a page cannot
    have answered (a made-up cursor would answer a wrong page, silently), a time past 64
    bits among them (SQLite refused it as a parameter: 400 `invalid_value`)."""
    match = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
    if match is not None and int64_error(int(match[1])) is None:  # it is bound as an INTEGER
        try:
            if "/" not in match[2]:
                return int(match[1]), validate_id(match[2]), None
            end = as_ref(match[2])
            return int(match[1]), end.id, end.type
        except BadRequest:
            pass
    raise BadRequest("cursor is the `cursor` of a previous page", code="invalid_cursor")


class EdgePages:
    """`page`, for `Relationships`: `_sql` is the object's database (`dotdo_relationships`),
    `_nouns` the noun policy (None: any valid name)."""

    _sql: Sql
    _nouns: NounPolicy | None

    def page(
        self,
        thing: Any,
        verb: str,
        direction: str = "out",
        type_name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        with_total: bool = False,
        *,
        ends: Callable[[list[Ref]], list[Any]] | None = None,
    ) -> dict[str, Any]:
        """The things one `verb` edge away from `thing`: targets (`direction="out"`) or sources
        (`"in"`), of `type_name` only when given, oldest edge first, `limit` (1 to
        MAX_RELATED) a page, after `cursor` (the previous page's). `thing` is named as
        `traverse` takes its start: `"Type/id"` (a thing, `{"$type", "$id"}`, a Ref) follows
        the edges of that type and id, a bare id those of the thing of any type.

        Answers `{"items": [Ref], "total": int | None, "has_more": bool, "cursor": str |
        None}`: `cursor` continues after this page (None when it is the last); `total`
        counts every edge when `with_total`, else only when this first page holds them all
        (None otherwise). 400 `invalid_ref`, `invalid_type`, `invalid_id`, `invalid_verb`,
        `invalid_direction` (`out` or `in`), `invalid_limit`, `invalid_cursor`; 404
        `unknown_noun` for a type not registered, in strict mode. `ends` answers the items
        for the page's references (a route's things), maybe only the first few: the page
        then ends after them, with `has_more` and their cursor."""
        named = thing_filter(thing, "thing")
        Hop(verb, direction).checked()  # a page is one hop's edges of one thing
        for noun in (None if isinstance(named, str) else named.type, type_name):
            if noun is not None:
                validate_type_name(noun)
                if self._nouns is not None:
                    self._nouns.check(noun)
        checked_limit(limit, MAX_RELATED)
        after = None if cursor is None else edge_cursor(cursor)
        near, far = ("from", "to") if direction == "out" else ("to", "from")
        # Each a prefix of an index: (from_id, verb, to_id, from_type, to_type) is the key,
        # (to_id, verb, from_id) the backward index. The order needs every edge of the thing
        # and verb read (no index has created_at), as `related` always did.
        conditions = f"{near}_id = ? AND verb = ?"
        params: list[Any] = [named if isinstance(named, str) else named.id, verb]
        bare = isinstance(named, str)
        if not isinstance(named, str):
            conditions += f" AND {near}_type = ?"
            params.append(named.type)
        if type_name is not None:
            conditions += f" AND {far}_type = ?"
            params.append(type_name)
        # A bare id may name this end under several types, so one other end may have more
        # than one edge here: grouped, it is answered once, at its oldest edge.
        first = "min(created_at)" if bare else "created_at"
        grouped = f" GROUP BY {far}_id, {far}_type" if bare else ""
        seek = ""
        position: tuple[Any, ...] = ()
        if after is not None:
            seek = (
                f"({first}, {far}_id) > (?, ?)"
                if after[2] is None
                else f"({first}, {far}_id, {far}_type) > (?, ?, ?)"
            )
            seek = f" HAVING {seek}" if bare else f" AND {seek}"
            position = after if after[2] is not None else after[:2]
        rows = self._sql.exec(
            f"SELECT {far}_id AS id, {far}_type AS type, {first} AS first FROM dotdo_relationships "
            f"WHERE {conditions}{grouped}{seek} ORDER BY first, {far}_id, {far}_type LIMIT ?",
            *params,
            *position,
            limit + 1,  # one more: whether there is a next page
        )
        has_more = len(rows) > limit
        kept = rows[:limit]
        refs = [Ref(str(r["type"]), str(r["id"])) for r in kept]
        items: list[Any] = refs if ends is None else ends(refs)
        if len(items) < len(kept):  # the ends answered a prefix: the page ends there
            kept, has_more = kept[: len(items)], True
        total: int | None = None
        if with_total:
            found = self._sql.first(
                f"SELECT count(*) AS n FROM (SELECT 1 FROM dotdo_relationships WHERE {conditions}{grouped})",
                *params,
            )
            total = 0 if found is None else int(found["n"])
        elif after is None and not has_more:
            total = len(kept)  # the first page holds every edge: it counts itself
        last = kept[-1] if has_more else None
        return {
            "items": items,
            "total": total,
            "has_more": has_more,
            "cursor": None if last is None else f"{int(last['first'])}.{last['type']}/{last['id']}",
        }
