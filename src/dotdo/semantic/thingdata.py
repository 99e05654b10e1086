"""What a thing's data may be: its id, its properties as stored JSON, the `$` fields
a caller may send, JSON Merge Patch (RFC 7386), and its entity tag (RFC 9110 §8.8.3).

Pure functions of their arguments; the thing service (`things.py`) applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dotdo.core.preconditions import EntityTag, Preconditions, Verdict
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import BadRequest, Conflict, PayloadTooLarge, PreconditionFailed
from dotdo.remote.names import THING_ID as _ID
from dotdo.remote.names import THING_ID_RULE
from dotdo.semantic.names import SYSTEM_FIELDS, checked_name
from dotdo.semantic.store import ThingRecord, ThingStore
from dotdo.values import INT64_MAX, MAX_STORED_DEPTH, stored_json

__all__ = [
    "MAX_DEPTH",
    "check_body_id",
    "check_preconditions",
    "check_version",
    "encode_properties",
    "insert_new",
    "merge_patch",
    "split_input",
    "thing_tag",
    "validate_id",
    "version_tag",
]

MAX_DEPTH = MAX_STORED_DEPTH
"""How deep a thing's properties may nest, the properties object counted as the first level
(as `values.MAX_STORED_DEPTH` counts: arrays and objects on the deepest path)."""
_READ_ONLY_FIELDS = frozenset(SYSTEM_FIELDS) - {"$id", "$type", "$version"}


def validate_id(thing_id: Any) -> str:
    """`thing_id` itself when it is 1-128 of letters, digits and `_.:-`, starting with a
    letter or digit; else 400 `invalid_id`."""
    return checked_name(thing_id, _ID, "id", THING_ID_RULE, "invalid_id")


def version_tag(version: int, created_at: int) -> EntityTag:
    """A thing's entity tag, strong (RFC 9110 §8.8.3): `"<version>.<created_at>"`, its
    `$version` and `$created_at` (epoch ms), e.g. `"3.1767225600000"`. Every change of a
    thing's wire form bumps the version, so within one life of a thing equal tags mean
    equal representations; a thing deleted for good and created again under its id
    restarts at version 1, and its creation time tells the two lives apart, so that a
    tag of the old one never matches the new one (`Things` gives a new life a later
    creation time than an old one born in the same millisecond)."""
    return EntityTag(f"{version}.{created_at}")


def thing_tag(thing: Mapping[str, Any]) -> EntityTag:
    """`version_tag` of a thing in its wire form (ThingData: `$version`, `$created_at`)."""
    return version_tag(int(thing["$version"]), int(thing["$created_at"]))


def encode_properties(properties: dict[str, Any]) -> str:
    """The compact JSON text to store for a thing's `properties`.

    400 `invalid_data` for what JSON cannot hold exactly (a non-string key, NaN or
    Infinity, an integer past 64 bits, nesting past MAX_DEPTH, a lone surrogate, a
    non-JSON value), the message starting "Thing data" (`values.stored_json`, the one
    check of every stored value); 413 `thing_too_large` past MAX_VALUE_BYTES (1 MiB) of
    UTF-8.
    """
    text = stored_json(properties, what="Thing data", code="invalid_data")
    # ASCII text is its own UTF-8 (`isascii` reads a flag): no copy to count its bytes.
    size = len(text) if text.isascii() else len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise PayloadTooLarge(f"A thing is at most {MAX_VALUE_BYTES} bytes as JSON", code="thing_too_large")
    return text


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge recursively, null removes a property."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def split_input(type_name: str, data: Any) -> tuple[dict[str, Any], str | None, int | None]:
    """A caller's thing (a JSON object) as `(properties, $id or None, $version or None)`.

    The read-only `$` fields (`$created_at`, ...) are ignored, so a thing read can be
    sent back. 400: `invalid_data` (not an object, a `$` name of no field, a non-string
    key), `invalid_id`, `type_mismatch` (`$type` other than `type_name`),
    `invalid_version` (`$version` not a positive integer within 64 bits).
    """
    # A parsed body is a plain dict with str keys: known by exact type, without the ABC's
    # isinstance (a Python call) and one isinstance a key (ADR 0052).
    if type(data) is not dict and not isinstance(data, Mapping):
        raise BadRequest("A thing is a JSON object", code="invalid_data")
    properties: dict[str, Any] = {}
    thing_id: str | None = None
    version: int | None = None
    for key, value in data.items():
        if type(key) is not str and not isinstance(key, str):
            raise BadRequest("Property names are strings", code="invalid_data")
        if not key.startswith("$"):
            properties[key] = value
        elif key == "$id":
            thing_id = validate_id(value)
        elif key == "$type":
            if value != type_name:
                raise BadRequest(f"$type is {value!r} but the thing is a {type_name}", code="type_mismatch")
        elif key == "$version":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= INT64_MAX:
                raise BadRequest("$version is a positive integer of at most 64 bits", code="invalid_version")
            version = value
        elif key not in _READ_ONLY_FIELDS:
            raise BadRequest(f"Property names may not start with '$' ({key!r})", code="invalid_data")
    return properties, thing_id, version


def check_body_id(body_id: str | None, thing_id: str) -> None:
    """400 `id_mismatch` when a body's `$id` (`body_id`, None when absent) is not the
    `thing_id` its path (or call) names: a write never changes a thing's id."""
    if body_id is not None and body_id != thing_id:
        raise BadRequest(f"$id is {body_id!r} but the path names {thing_id!r}", code="id_mismatch")


def insert_new(store: ThingStore, record: ThingRecord) -> None:
    """Insert `record`, a new thing, into `store`; 409 `thing_exists` when its id is taken,
    the message naming the thing holding it by its type (an id names one thing of the
    object, whatever its type) and saying when that one is soft-deleted."""
    if store.insert(record):
        return
    holder = store.read(record.id)
    message = f"{holder.type if holder else record.type} {record.id!r} already exists"
    if holder is not None and holder.deleted_at is not None:
        message += ", soft-deleted: restore it, or delete it for good first"
    elif holder is not None and holder.type != record.type:
        message += " (an id names one thing of an object, whatever its type)"
    raise Conflict(message, code="thing_exists")


def check_version(record: ThingRecord, expected: int | None) -> None:
    """409 `version_conflict` unless `expected` is None or `record`'s version."""
    if expected is not None and expected != record.version:
        raise Conflict(
            f"{record.type} {record.id!r} is at version {record.version}, not {expected}",
            code="version_conflict",
        )


def check_preconditions(
    condition: Preconditions | None, type_name: str, thing_id: str | None, record: ThingRecord | None
) -> None:
    """412 `precondition_failed` unless the request's preconditions hold for `record`
    (None: no current thing), with the current version and, when there is one, its ETag."""
    if not condition:
        return
    current = None if record is None else version_tag(record.version, record.created_at)
    if condition.evaluate(current) is Verdict.PROCEED:
        return
    header = condition.failing_header(current)
    state = "does not exist" if record is None else f"is at version {record.version} (entity tag {current})"
    raise PreconditionFailed(
        f"{type_name} {thing_id!r} {state}, so {header} is false; nothing was changed",
        current_version=None if record is None else record.version,
        headers={} if current is None else {"etag": str(current)},
    )
