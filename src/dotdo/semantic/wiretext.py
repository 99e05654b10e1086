"""A thing's answer as JSON text, written from its stored properties without parsing them
where that text is sure to be what the general path (`codec.dumps` of `ThingRecord.wire`)
would write (ADR 0032)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dotdo.values import MAX_SAFE_INTEGER
from dotdo.wire.codec import dumps
from dotdo.wire.verbatim import is_own_wire_form, json_string

if TYPE_CHECKING:
    from dotdo.semantic.store import ThingRecord

__all__ = ["page_text", "thing_text"]

# `data` is written by `thingdata.encode_properties`; `dotdo.wire.verbatim` says when such a
# text is its own wire form.
_safe = range(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1).__contains__


def _verbatim(data: str) -> bool:
    """Is `data` (a thing's stored properties) its own wire form (`is_own_wire_form`), and
    an object with at least one property?"""
    return data[:2] == '{"' and is_own_wire_form(data)


def thing_text(record: ThingRecord) -> str:
    """`codec.dumps(record.wire())`: the `$` fields (`$deleted_at` only when set), then the
    properties. When `record.data` is its own wire form (`_verbatim`) and the `$` numbers
    are within 2**53, its text follows the `$` fields as it is; else the general path.
    Raises as `codec.dumps` does (BadRequest `unserializable_result`)."""
    data = record.data
    deleted = record.deleted_at
    if (
        _safe(record.created_at)
        and _safe(record.updated_at)
        and (deleted is None or _safe(deleted))
        and _safe(record.version)
        and (data == "{}" or _verbatim(data))
    ):
        deleted_field = "" if deleted is None else f',"$deleted_at":{deleted}'
        return (
            f'{{"$id":{json_string(record.id)},"$type":{json_string(record.type)},'
            f'"$created_at":{record.created_at},"$updated_at":{record.updated_at}{deleted_field},'
            f'"$version":{record.version}{"}" if data == "{}" else "," + data[1:]}'
        )
    return dumps(record.wire())


def page_text(
    records: Sequence[ThingRecord], total: int | None, has_more: bool, cursor: str | None = None
) -> str:
    """`codec.dumps` of a list's answer, `{"items": [...], "total": ..., "has_more": ...,
    "cursor": ...}`, each item written by `thing_text`; `cursor` is a `keyset` cursor (its
    characters need no escape in JSON) or None."""
    items = ",".join([thing_text(record) for record in records])
    counted = "null" if total is None else str(total)
    more = "true" if has_more else "false"
    after = "null" if cursor is None else f'"{cursor}"'
    return f'{{"items":[{items}],"total":{counted},"has_more":{more},"cursor":{after}}}'
