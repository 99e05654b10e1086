"""Cursors of thing lists: a page's position, the sort key of its last thing in the list's
order, so the next page starts strictly after it whatever was created or deleted meanwhile
(keyset paging, where `offset` reads and discards every row before the page).

A list is ordered by its `order_by` terms, then `created_at`, then `id` (`ThingQuery.
order_sql`), a total order: ids are unique. A cursor holds the last thing's value of each
term as SQLite's `json_extract` sees it, its `created_at` and its id, and the fingerprint of
the query it came from (type, where, order, soft-deleted visibility), so that a cursor used
with another query is refused rather than answering a page of something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dotdo.errors import BadRequest
from dotdo.remote.names import THING_ID
from dotdo.semantic.where.evaluate import MISSING, lookup
from dotdo.values import compact_json, stored_json
from dotdo.wire.codec import parse_json

if TYPE_CHECKING:
    from dotdo.semantic.query import ThingQuery
    from dotdo.semantic.store import ThingRecord

__all__ = [
    "AFTER",
    "Cursor",
    "after_sql",
    "checked_cursor",
    "decode_cursor",
    "fingerprint",
    "next_cursor",
    "page_cursor",
]

AFTER = ":after"
"""The one parameter a cursor's values are read from, as a JSON array: each term's value,
then `created_at`, then the id."""

_CURSOR = re.compile(rf"([0-9a-f]{{12}})~(-?[0-9]{{1,19}})~({THING_ID.pattern})(?:~([A-Za-z0-9_-]*))?")


def _invalid() -> BadRequest:
    return BadRequest("cursor is the `cursor` of a previous page of this list", code="invalid_cursor")


@dataclass(frozen=True)
class Cursor:
    """A decoded cursor: the `fingerprint` of its query (`fingerprint`), the last thing's
    value of each `order_by` term (`values`, JSON values as `json_extract` reads them: a
    missing property is None, an array or object its compact JSON text's value), its
    `created_at` (epoch ms) and `id`. `param` is what `AFTER` binds; `text` the cursor as
    a page answered it."""

    fingerprint: str
    values: tuple[Any, ...]
    created_at: int
    id: str
    param: str
    text: str


def fingerprint(type_name: str, query: ThingQuery) -> str:
    """12 hex digits naming what a list is of and in what order: the type, the where
    clause as compiled (its SQL, operands and the part left to Python), the order and
    whether soft-deleted things match; not `limit`, `select` or `total`, which may change
    from page to page."""
    known = query.fingerprints
    mark = known.get(type_name)
    if mark is None:
        import hashlib  # with the first page that has more, not with every app (ADR 0036)

        where = query.where
        key = (
            f"{type_name}\x00{query.order!r}\x00{query.include_deleted}\x00"
            f"{where.sql}\x00{where.params!r}\x00{where.residual!r}"
        )
        mark = known[type_name] = hashlib.blake2b(
            key.encode("utf-8", "surrogatepass"), digest_size=6
        ).hexdigest()
    return mark


def decode_cursor(text: Any, order: Sequence[tuple[str, bool]]) -> Cursor:
    """The cursor `text` names, for a list with `order` terms; 400 `invalid_cursor` for
    anything no page of such a list answered (its query is checked later, `Things.list`:
    the type is not known here): among them a value no thing holds (`1e999`, an infinity
    to Python's `json`; an integer past 64 bits) and a `created_at` past 64 bits."""
    match = _CURSOR.fullmatch(text) if isinstance(text, str) else None
    if match is None or (match[4] is None) != (not order):
        raise _invalid()
    fingerprint_, created, thing_id, encoded = match.groups()
    values: list[Any] = []
    if encoded is not None:
        import base64
        import binascii

        try:
            decoded = parse_json(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (ValueError, binascii.Error, RecursionError):
            raise _invalid() from None
        if not isinstance(decoded, list) or len(decoded) != len(order):
            raise _invalid()
        values = decoded
    created_at = int(created)
    try:  # what a page's last thing can hold: stored JSON, integers within 64 bits
        param = stored_json([*values, created_at, thing_id], what="cursor", code="invalid_cursor")
    except BadRequest:
        raise _invalid() from None
    return Cursor(fingerprint_, tuple(values), created_at, thing_id, param, text)


def _value(thing: Mapping[str, Any], name: str) -> Any:
    """The value `json_extract(data, '$.<name>')` gives (or the column, for a `$` field),
    as JSON: None when missing or null, else the value itself."""
    value = lookup(thing, name)
    return None if value is MISSING else value


def next_cursor(fingerprint_: str, order: Sequence[tuple[str, bool]], record: ThingRecord) -> str:
    """The cursor after `record` in a list of `fingerprint_` ordered by `order`. The default
    order (none) needs only the record's key; `order_by` terms read its properties (one
    parse of the last thing of a page)."""
    head = f"{fingerprint_}~{record.created_at}~{record.id}"
    if not order:
        return head
    import base64

    thing = record.wire()
    values = compact_json([_value(thing, name) for name, _ in order])
    return f"{head}~{base64.urlsafe_b64encode(values.encode()).decode().rstrip('=')}"


def after_sql(order: Sequence[tuple[str, bool]], cursor: Cursor) -> str:
    """The condition selecting the rows strictly after `cursor` in the list's order, each
    value read from `AFTER`. It follows `ORDER BY` exactly: SQLite orders NULL (a missing
    property) first ascending and last descending, numbers (booleans as 1 and 0) before
    text (arrays and objects as their JSON text), text by its bytes; `=` and `<`/`>` compare
    the same way (no affinity on either side of a property's value). `(created_at, id)` last,
    as a row value: alone (the default order) it is a range of the table's key, one seek."""
    from dotdo.semantic.where import field_sql  # loaded with the first list (ADR 0036)

    count = len(order)
    condition = (
        f"(created_at, id) > (json_extract({AFTER}, '$[{count}]'), json_extract({AFTER}, '$[{count + 1}]'))"
    )
    bound = ""
    for index in range(count - 1, -1, -1):
        name, descending = order[index]
        term = field_sql(name)[0]
        value = f"json_extract({AFTER}, '$[{index}]')"
        if cursor.values[index] is None:
            after = "0" if descending else f"{term} IS NOT NULL"
            same = f"{term} IS NULL"
        else:
            after = f"({term} < {value} OR {term} IS NULL)" if descending else f"{term} > {value}"
            same = f"{term} = {value}"
            if index == 0 and not descending:
                # Implied by the rest; a range an index on the first term can seek by.
                bound = f"{term} >= {value} AND "
        condition = f"({after} OR ({same} AND {condition}))"
    return f"({bound}{condition})"


def checked_cursor(type_name: str, query: ThingQuery) -> str | None:
    """The fingerprint of the list of `type_name` that `query` asks for when it starts after
    a cursor, which must be one of that list's own (else 400 `invalid_cursor`); None when it
    starts at the beginning (`page_cursor` makes it when a page has more)."""
    if query.cursor is None:
        return None
    mark = fingerprint(type_name, query)
    if mark != query.cursor.fingerprint:
        raise BadRequest(
            "cursor is the `cursor` of a page of another list (another type, where, order_by "
            "or include_deleted): page a list with its own",
            code="invalid_cursor",
        )
    return mark


def page_cursor(
    type_name: str, mark: str | None, query: ThingQuery, records: Sequence[ThingRecord], has_more: bool
) -> str | None:
    """The `cursor` a page of `records` of `query`'s list answers (`mark`: its fingerprint
    when known): after its last record when it `has_more`, None on the last page; an empty
    page (`limit` 0) answers the cursor it started after (None at the start)."""
    if not has_more:
        return None
    if not records:
        return None if query.cursor is None else query.cursor.text
    return next_cursor(mark or fingerprint(type_name, query), query.order, records[-1])
