"""Key-value state on the object's SQLite database (the `state` table, JSON values).

Keys are non-empty strings of at most 512 UTF-8 bytes, ordered by their bytes.
`list` pages with an opaque cursor (the last key returned), so a walk over the
whole key space never skips or repeats a key, whatever is written meanwhile.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dotdo.core.migrations import Migration, without_rowid
from dotdo.core.page_rows import PageColumns
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest, PayloadTooLarge
from dotdo.remote.fields import check_fields
from dotdo.types import JSON
from dotdo.values import LONE_SURROGATE, stored_json
from dotdo.wire.codec import parse_json

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_LIST_LIMIT",
    "MAX_VALUE_BYTES",
    "STATE_MIGRATIONS",
    "ListPage",
    "StateStore",
    "decode_cursor",
    "encode_cursor",
    "prefix_upper_bound",
    "validate_key",
    "validate_operations",
]

MAX_KEY_BYTES = 512
"""Longest key, in UTF-8 bytes."""
MAX_VALUE_BYTES = 1024 * 1024
"""Largest value (and thing), in bytes of its JSON text: 1 MiB."""
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
"""Most keys one `list` page holds."""
MAX_BATCH = 1000
"""Most operations one transaction (or `set_many` / `delete_many`) applies."""

# A value set to what it is already writes nothing (SQLite counts the row otherwise).
_UPSERT = (
    "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value "
    "WHERE state.value IS NOT excluded.value"
)
_PAGE_COLUMNS = PageColumns(
    ("key", "value"),
    key="key",
    by_key="SELECT key, value FROM state WHERE key IN (SELECT value FROM json_each(?))",
)
"""A `list` page's entries (`Sql.page`); the larger ones read by key."""

STATE_MIGRATIONS = (
    Migration(1, ("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",)),
    # One b-tree keyed by the key: a new key writes one row, not two (ADR 0020).
    Migration(2, (without_rowid("state", "key TEXT PRIMARY KEY, value TEXT NOT NULL"),)),
)


def validate_key(key: Any) -> str:
    """`key` itself when it is a non-empty string of at most MAX_KEY_BYTES UTF-8 bytes,
    without NUL or unpaired surrogates; else 400 `invalid_key`."""
    if not isinstance(key, str) or not key:
        raise BadRequest("A key is a non-empty string", code="invalid_key")
    if "\x00" in key or LONE_SURROGATE.search(key):
        raise BadRequest("A key may not contain NUL or unpaired surrogates", code="invalid_key")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise BadRequest(f"A key is at most {MAX_KEY_BYTES} bytes", code="invalid_key")
    return key


def encode_value(value: JSON) -> str:
    """The JSON text a state value is stored as (`dotdo.values.stored_json`: integers
    within 64 bits, finite numbers); 400 `invalid_value` otherwise, 413 past MAX_VALUE_BYTES."""
    text = stored_json(value, what="Value", code="invalid_value")
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise PayloadTooLarge(f"A value is at most {MAX_VALUE_BYTES} bytes as JSON", code="value_too_large")
    return text


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (None: no bound).

    SQLite compares TEXT by UTF-8 bytes, which orders like code points, so bumping
    the last code point gives an index-friendly range `prefix <= key < bound`.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None


def encode_cursor(key: str) -> str:
    """The opaque cursor after `key`: URL-safe base64 of `["<key>"]`, unpadded."""
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key an `encode_cursor` cursor names; 400 `invalid_cursor` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = parse_json(base64.urlsafe_b64decode(padded.encode()).decode())
        if isinstance(decoded, list) and len(decoded) == 1 and isinstance(decoded[0], str):
            return decoded[0]
    except (ValueError, UnicodeDecodeError):
        pass
    raise BadRequest("cursor is not one this server issued", code="invalid_cursor")


_OPERATION_FIELDS = {"set": ("op", "key", "value"), "delete": ("op", "key")}
"""The fields each kind of operation reads: any other (`"extra"`, a delete's `"value"`) is
refused as the body's own unknown fields are, never dropped in silence."""


def validate_operations(operations: Any) -> list[tuple[str, str, str | None]]:
    """Check a transaction's operations; returns (op, key, encoded value) triples. 400
    `invalid_operations` for a list or an operation of the wrong shape, `invalid_params`
    for a field the operation does not read (`check_fields`: a delete's `value`), and
    `validate_key`'s and `encode_value`'s errors."""
    if not isinstance(operations, list) or not operations:
        raise BadRequest("operations is a non-empty list", code="invalid_operations")
    if len(operations) > MAX_BATCH:
        raise BadRequest(f"At most {MAX_BATCH} operations per transaction", code="invalid_operations")
    checked: list[tuple[str, str, str | None]] = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise BadRequest(f"operations[{index}] is not an object", code="invalid_operations")
        op = operation.get("op")
        if op in _OPERATION_FIELDS:
            check_fields(operation, _OPERATION_FIELDS[op], what=f"operations[{index}]")
        if op == "set":
            if "value" not in operation:
                raise BadRequest(f"operations[{index}] has no value", code="invalid_operations")
            checked.append(("set", validate_key(operation.get("key")), encode_value(operation["value"])))
        elif op == "delete":
            checked.append(("delete", validate_key(operation.get("key")), None))
        else:
            raise BadRequest(
                f"operations[{index}].op must be 'set' or 'delete', not {op!r}", code="invalid_operations"
            )
    return checked


@dataclass(frozen=True)
class ListPage:
    """One page of `list`: `(key, value)` pairs in order, and the cursor of the next page
    (None on the last)."""

    items: list[tuple[str, JSON]]
    cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        """`{"items": [{"key", "value"}, ...], "has_more": bool, "cursor": str | None}`, as
        `GET /state` answers (`has_more` as every page with a cursor has it)."""
        items = [{"key": k, "value": v} for k, v in self.items]
        return {"items": items, "has_more": self.cursor is not None, "cursor": self.cursor}


class StateStore:
    """`get` / `set` / `delete` / `list` / batches / transactions over the `state` table
    of `sql`. Keys are checked by `validate_key`, values by `encode_value`."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def get(self, key: str, default: Any = None) -> Any:
        """The value under `key`, or `default` when there is none (a stored null is None)."""
        text = self.get_text(key)
        return default if text is None else json.loads(text)

    def get_text(self, key: str) -> str | None:
        """The stored JSON text of the value under `key` (compact, as `encode_value` wrote
        it), or None when there is none."""
        row = self._sql.first("SELECT value FROM state WHERE key = ?", validate_key(key))
        return None if row is None else str(row["value"])

    def set(self, key: str, value: JSON) -> None:
        """Store `value` under `key`, replacing any; 400 `invalid_key` / `invalid_value`,
        413 `value_too_large`."""
        self.put(key, value)

    def put(self, key: str, value: JSON) -> str:
        """`set`, answering the JSON text stored (what `get_text` answers next)."""
        encoded = encode_value(value)
        self._sql.run(_UPSERT, validate_key(key), encoded)
        return encoded

    def delete(self, key: str) -> bool:
        """Remove `key`; False when it was not there."""
        return self._sql.run("DELETE FROM state WHERE key = ?", validate_key(key)) > 0

    def set_many(self, entries: Mapping[str, JSON]) -> int:
        """Store every entry, all or none; how many (at most MAX_BATCH, else 400
        `invalid_operations`)."""
        operations = [{"op": "set", "key": k, "value": v} for k, v in entries.items()]
        return self.transaction(operations) if operations else 0

    def delete_many(self, keys: Sequence[str]) -> int:
        """Remove every key, all or none; how many were there."""
        if not keys:
            return 0
        checked = validate_operations([{"op": "delete", "key": k} for k in keys])

        def work() -> int:
            return sum(self._sql.run("DELETE FROM state WHERE key = ?", key) for _, key, _ in checked)

        return self._sql.transaction(work)

    def transaction(self, operations: Any) -> int:
        """Apply set/delete operations all-or-nothing; returns how many were applied."""
        checked = validate_operations(operations)

        def work() -> int:
            for op, key, encoded in checked:
                if op == "set":
                    self._sql.run(_UPSERT, key, encoded)
                else:
                    self._sql.run("DELETE FROM state WHERE key = ?", key)
            return len(checked)

        return self._sql.transaction(work)

    def list(
        self,
        *,
        prefix: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int = DEFAULT_LIST_LIMIT,
        reverse: bool = False,
        cursor: str | None = None,
    ) -> ListPage:
        """Keys in byte order (or reversed): `start` inclusive, `end` exclusive, `prefix` literal;
        at most `limit` entries, fewer where their values pass MAX_PAGE_BYTES (`Sql.page`:
        the page's cursor continues after its last key)."""
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIST_LIMIT:
            raise BadRequest(f"limit is an integer from 1 to {MAX_LIST_LIMIT}", code="invalid_limit")
        lower: list[tuple[str, str]] = []  # (operator, bound)
        upper: list[tuple[str, str]] = []
        if prefix:
            lower.append((">=", prefix))
            bound = prefix_upper_bound(prefix)
            if bound is not None:
                upper.append(("<", bound))
        if start is not None:
            lower.append((">=", start))
        if end is not None:
            upper.append(("<", end))
        if cursor is not None:
            after = decode_cursor(cursor)
            (upper if reverse else lower).append(("<" if reverse else ">", after))
        clauses = [f"key {op} ?" for op, _ in lower + upper]
        params: list[Any] = [bound for _, bound in lower + upper]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "DESC" if reverse else "ASC"
        rows, cut = self._sql.page(
            f"SELECT key, value FROM state {where} ORDER BY key {order} LIMIT ?",
            *params,
            limit + 1,
            columns=_PAGE_COLUMNS,
            rows=limit + 1,
        )
        more = cut or len(rows) > limit
        rows = rows[:limit]
        items = [(str(r["key"]), json.loads(r["value"])) for r in rows]
        next_cursor = encode_cursor(items[-1][0]) if more and items else None
        return ListPage(items, next_cursor)
