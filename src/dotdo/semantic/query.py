"""The options of a thing query: where, order, paging, projection, soft-deleted visibility."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dotdo.core.http import decimal_integer
from dotdo.errors import QueryValidationError
from dotdo.semantic.names import QUERY_PARAMS, SYSTEM_FIELDS, field_path_error
from dotdo.wire.codec import decode, parse_json

if TYPE_CHECKING:
    # The where-clause engine (its parser, SQL compiler, evaluator and the LIKE patterns)
    # loads with the first query, not with every object (~15 ms of a cold start under
    # Pyodide, ADR 0036).
    from dotdo.semantic.keyset import Cursor
    from dotdo.semantic.where import Pushdown

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "QUERY_PARAMS",
    "ThingQuery",
    "parse_order_by",
    "parse_select",
    "parse_total",
]

DEFAULT_LIMIT = 100
"""Things on a page when `limit` is not given."""
MAX_LIMIT = 1000
"""Most things on one page."""
MAX_OFFSET = 1_000_000
MAX_ORDER_FIELDS = 8
"""Most `order_by` terms."""

OrderBy = str | Sequence[str | tuple[str, str]] | Mapping[str, str] | None


def _json_text(value: Any, name: str, opening: str, code: str) -> Any:
    """What a text opening with one of `opening`'s characters holds as JSON (a URL gives
    `select` and `order_by` as text, and `where` beside them is JSON, so a list is written
    either way: `name,age` or `["name", "age"]`); any other value as it is. 400 `code`
    when that text is not JSON."""
    if not isinstance(value, str) or not value.lstrip().startswith(tuple(opening)):
        return value
    try:
        return parse_json(value)
    except ValueError as exc:  # json.JSONDecodeError among them
        raise QueryValidationError(
            f"{name} is not valid JSON ({exc}): give it as a JSON array or comma-separated", code=code
        ) from exc


def parse_order_by(order_by: OrderBy) -> tuple[tuple[str, bool], ...]:
    """Order terms as ((field, descending), ...) from any of these forms:

    `"-age,name"`, `"age:desc"`, `["age desc", "name"]`, `[("age", "desc")]`,
    `{"age": "desc", "name": "asc"}`, and each of the last three as JSON text
    (`'["-age", "name"]'`, as a URL gives it).
    """
    order_by = _json_text(order_by, "order_by", "[{", "invalid_order_by")
    if order_by is None or order_by == "":
        return ()
    items: list[Any] = []
    if isinstance(order_by, str):
        items.extend(order_by.split(","))
    elif isinstance(order_by, list | tuple):
        items.extend(order_by)
    elif isinstance(order_by, dict):
        items.extend(order_by.items())
    else:
        raise QueryValidationError(
            f"order_by is a string, a list or an object of fields, not {order_by!r}", code="invalid_order_by"
        )
    if len(items) > MAX_ORDER_FIELDS:
        raise QueryValidationError(
            f"order_by takes at most {MAX_ORDER_FIELDS} fields", code="invalid_order_by"
        )
    result: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, tuple | list) and len(item) == 2:
            name, direction = item
        elif isinstance(item, str):
            text = item.strip()
            if text.startswith("-"):
                name, direction = text[1:], "desc"
            elif ":" in text or " " in text:
                name, _, direction = text.replace(":", " ").partition(" ")
            else:
                name, direction = text, "asc"
        else:
            raise QueryValidationError(f"Invalid order_by entry {item!r}", code="invalid_order_by")
        if not isinstance(direction, str) or direction.strip().lower() not in ("asc", "desc"):
            raise QueryValidationError(
                f"Order direction is 'asc' or 'desc', not {direction!r}", code="invalid_order_by"
            )
        error = field_path_error(name.strip() if isinstance(name, str) else name)
        if error is not None:
            raise QueryValidationError(error, code="invalid_order_by")
        result.append((name.strip(), direction.strip().lower() == "desc"))
    return tuple(result)


def parse_select(select: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Top-level property names to return (the thing's own `$` fields always come back):
    a comma-separated text (`"name,age"`), a sequence of names, or a JSON array of them as
    text (`'["name", "age"]'`, as a URL gives it). 400 `invalid_select` otherwise."""
    select = _json_text(select, "select", "[", "invalid_select")
    if select is None or select == "":
        return None
    if not isinstance(select, str | list | tuple):
        raise QueryValidationError(
            f"select is a list of property names, not {type(select).__name__}", code="invalid_select"
        )
    names = [s.strip() for s in select.split(",")] if isinstance(select, str) else list(select)
    for name in names:
        if isinstance(name, str) and name in SYSTEM_FIELDS:  # a list in a list is unhashable
            continue
        error = field_path_error(name)
        if error is not None or "." in name:
            raise QueryValidationError(
                error or f"select takes top-level property names, not paths ({name!r})", code="invalid_select"
            )
    return tuple(names)


def _bounded_int(value: Any, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        number = decimal_integer(value)
        if number is None:
            raise QueryValidationError(f"{name} is an integer", code=f"invalid_{name}")
        value = number
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise QueryValidationError(f"{name} is an integer from {low} to {high}", code=f"invalid_{name}")
    return value


def parse_total(value: str | None) -> bool:
    """`total=exact` (also `true`, `1`) asks for an exact count of every match; absent,
    empty, `false` or `0` does not, and a page that reaches the end still knows its
    `total` without one (issue 14: counting every match cost a list most of its time)."""
    lowered = (value or "").lower()
    if lowered in ("exact", "true", "1"):
        return True
    if lowered in ("", "false", "0"):
        return False
    raise QueryValidationError("total is exact (or true), or false", code="invalid_query")


def _flag(params: Mapping[str, str | None], name: str, default: bool) -> bool:
    value = (params.get(name) or "").lower()
    if value == "":
        return default
    if value not in ("true", "false", "1", "0"):
        raise QueryValidationError(f"{name} is true or false", code="invalid_query")
    return value in ("true", "1")


_CACHED_PARAMS = tuple(name for name in QUERY_PARAMS if name != "cursor")
"""The parameters `from_params` keeps a parsed query by: all but the page's own cursor."""
_MAX_CACHED_CHARS = 2048
"""Longer parameters are parsed every time: the 256 kept stay under 1 MB of text."""


@dataclass(frozen=True)
class ThingQuery:
    """One checked query: `where` compiled, `order` as `(field, descending)` pairs (the
    creation order, then the id, break ties), `limit` and `offset` counted in things,
    `cursor` the position a page starts after (`keyset.Cursor`, None: the start; never with
    an `offset`), `select` the property names kept (None: all; `$` fields always),
    `include_deleted` whether soft-deleted things match. Build it with `build` or
    `from_params`."""

    where: Pushdown
    order: tuple[tuple[str, bool], ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    select: tuple[str, ...] | None = None
    include_deleted: bool = False
    with_total: bool = False
    """Count every match for `total` (a second query); without it `total` is None unless
    the first page reaches the end (the page counts itself)."""
    index: str | None = None
    """The quoted name of the declared property index the statement reads by (`INDEXED BY`),
    set by the thing service where the clause seeks by an indexed field (`Pushdown.seeks`);
    None: SQLite's choice, the table's key for a list (ADR 0039)."""
    cursor: Cursor | None = None

    @classmethod
    def build(
        cls,
        where: Mapping[str, Any] | None = None,
        order_by: OrderBy = None,
        limit: int | str | None = None,
        offset: int | str | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        with_total: bool = False,
        cursor: str | None = None,
    ) -> ThingQuery:
        """Validate every option; QueryValidationError (400) names the first bad one, 400
        `invalid_cursor` a `cursor` that no page of a list so ordered answered, and
        `invalid_query` a `cursor` with an `offset` above 0 (two starts)."""
        if not isinstance(include_deleted, bool) or not isinstance(with_total, bool):
            raise QueryValidationError("include_deleted and total are true or false", code="invalid_query")
        from dotdo.semantic.where import compile_where

        query = cls(
            where=compile_where(where),
            order=parse_order_by(order_by),
            limit=_bounded_int(limit, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT),
            offset=_bounded_int(offset, "offset", 0, 0, MAX_OFFSET),
            select=parse_select(select),
            include_deleted=include_deleted,
            with_total=with_total,
        )
        return query.after(cursor)

    def after(self, cursor: str | None) -> ThingQuery:
        """This query starting after `cursor` (a page's `cursor`; None or empty: itself).
        400 `invalid_cursor` for a text no page of a list in this order answered;
        `invalid_query` when the query skips an `offset` too (0 skips nothing)."""
        if cursor is None or cursor == "":
            return self
        if self.offset:
            raise QueryValidationError(
                "cursor and offset are two starts of a page: give one", code="invalid_query"
            )
        from dotdo.semantic.keyset import decode_cursor

        return dataclasses.replace(self, cursor=decode_cursor(cursor, self.order))

    @classmethod
    def from_params(cls, params: Mapping[str, str | None]) -> ThingQuery:
        """From URL query parameters: `where` is JSON (operands in the codec's encoding, so
        `{"$bigint": "..."}` is an int, as is an exact number of any size), the rest plain text.
        `total` is counted only when asked for (`total=exact`); see `parse_total`.

        A query is a pure function of these texts and immutable, so the last few hundred
        short ones are kept: a page asked for again skips parsing and compiling its clause."""
        key = tuple(params.get(name) for name in _CACHED_PARAMS)
        if sum(len(text) for text in key if text) > _MAX_CACHED_CHARS:
            query = cls._parse(params)
        else:
            query = _parsed(key)
        # Each page has its own cursor: kept apart, the query of every page is the cached one.
        cursor = params.get("cursor")
        return query.after(cursor) if cursor else query

    @classmethod
    def _parse(cls, params: Mapping[str, str | None]) -> ThingQuery:
        raw_where = params.get("where")
        where: Any = None
        if raw_where:
            try:
                where = decode(parse_json(raw_where))
            except json.JSONDecodeError as exc:
                raise QueryValidationError(f"where is not valid JSON: {exc.msg}") from exc
            except ValueError as exc:  # NaN or Infinity
                raise QueryValidationError(f"where is not valid JSON: {exc}") from exc
        return cls.build(
            where=where,
            order_by=params.get("order_by"),
            limit=params.get("limit"),
            offset=params.get("offset"),
            select=params.get("select"),
            include_deleted=_flag(params, "include_deleted", False),
            with_total=parse_total(params.get("total")),
        )

    @functools.cached_property
    def fingerprints(self) -> dict[str, str]:
        """`keyset.fingerprint` of this query's list, by type name, as computed: a query a
        URL asks for again (`from_params` keeps it) names its cursors without hashing."""
        return {}

    def order_sql(self) -> str:
        """ORDER BY terms; creation order (then id) breaks ties, so paging is stable."""
        from dotdo.semantic.where import field_sql

        terms = [f"{field_sql(name)[0]} {'DESC' if descending else 'ASC'}" for name, descending in self.order]
        return ", ".join([*terms, "created_at ASC", "id ASC"])

    def project(self, thing: dict[str, Any]) -> dict[str, Any]:
        """`thing` (wire form) with only the `select`ed properties and its `$` fields."""
        if self.select is None:
            return thing
        return {k: v for k, v in thing.items() if k.startswith("$") or k in self.select}


@functools.lru_cache(maxsize=256)
def _parsed(key: tuple[str | None, ...]) -> ThingQuery:
    """`ThingQuery._parse` of the parameters `key` holds (in `_CACHED_PARAMS` order), kept for
    the last 256 short ones asked for (an error is raised again, never kept)."""
    return ThingQuery._parse(dict(zip(_CACHED_PARAMS, key, strict=True)))
