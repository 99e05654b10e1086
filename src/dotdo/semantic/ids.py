"""Thing ids: unique, and sortable by creation time as plain strings.

An id is a ULID in lower-case Crockford base32: 48 bits of milliseconds since
the epoch, then 80 random bits. Within one millisecond the random part counts
up from the previous id, so ids made by one object are strictly increasing.
Randomness is drawn when an id is made, never at import (Pyodide forbids it), from the
system's source in blocks of `_POOL_BYTES` (each draw is a call out of Pyodide to
`crypto.getRandomValues`).
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from dotdo.errors import BadRequest

__all__ = [
    "IdGenerator",
    "canonical_id",
    "id_cursor",
    "id_page",
    "made_id",
    "new_id",
    "timed_cursor",
    "timed_page",
]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_POOL_BYTES = 1280
"""Random bytes drawn at once: 128 ids' random parts (10 bytes each)."""
_ULID = re.compile(r"[0-9a-hjkmnp-tv-z]{26}")


def canonical_id(text: object) -> str | None:
    """`text` as this module writes it (lower case) when it is an id in any case, else None.

    Crockford's base32, the ULID's alphabet, is case-insensitive on input (the ULID spec,
    https://github.com/ulid/spec, "Case insensitive"; https://www.crockford.com/base32.html):
    `01JB...` and `01jb...` are one id. Only the case is folded: `I`, `L`, `O` and `U` are
    not in the alphabet, and an id holding them is not one this module made. Only ASCII is
    folded: the alphabet is ASCII, and Unicode's folding would take the Kelvin sign `K`
    (U+212A) for `k`, so that a text no client meant as an id named one.

    The one rule of ADR 0045: every place an id dotdo makes enters reads it through here
    (`id_cursor`, `made_id`; a run id, which a caller may choose, exactly first)."""
    if not isinstance(text, str) or len(text) != 26 or not text.isascii():
        return None
    lowered = text.lower()
    return lowered if _ULID.fullmatch(lowered) is not None else None


def made_id(text: str) -> str:
    """An id only dotdo makes (an approval's, a dead letter's) as it is stored: folded to
    lower case when it is one in any case (`canonical_id`), else `text` as given, which
    then names nothing (the caller's lookup answers its 404)."""
    return canonical_id(text) or text


def id_cursor(cursor: object) -> str:
    """A page's cursor that names an id (the last item's: events, actions) in the form the
    ids are stored and compared in, so that a cursor in upper case answers the same next page
    (`canonical_id`). 400 `invalid_cursor` for anything else: a made-up cursor would answer
    an empty or a wrong page, silently."""
    canonical = canonical_id(cursor)
    if canonical is None:
        raise BadRequest(
            "cursor is the `cursor` of a previous page: an id of 26 Crockford base32 characters",
            code="invalid_cursor",
        )
    return canonical


def timed_cursor(cursor: object) -> tuple[int, str]:
    """The `(time, id)` a page's cursor `<time>.<id>` names, for a list ordered by a time and
    then its items' ids (delayed sends by `due_at`, approvals by `requested_at`; epoch ms).
    400 `invalid_cursor` for anything else (`id_cursor`)."""
    at, dot, item_id = cursor.partition(".") if isinstance(cursor, str) else ("", "", "")
    if not (dot and at.isascii() and at.isdigit() and len(at) <= 18):
        raise BadRequest("cursor is the `cursor` of a previous page", code="invalid_cursor")
    return int(at), id_cursor(item_id)


def id_page(items: list[dict[str, Any]], limit: int, *, more: bool = False) -> dict[str, Any]:
    """The one builder of a page keyed by its items' ids (events, actions, schedules):
    `{"items", "has_more", "cursor"}` from up to `limit + 1` items in id order: the first
    `limit`, `has_more` when there were more (or `more` says so: items read from two places,
    or a page cut by its bytes, `Sql.page`), `cursor` the last one's id as text then, None
    on the last page (and on a part of a page that holds none: the whole page's cursor
    comes from its other part)."""
    has_more = more or len(items) > limit
    items = items[:limit]
    cursor = str(items[-1]["id"]) if has_more and items else None
    return {"items": items, "has_more": has_more, "cursor": cursor}


def timed_page(
    items: list[dict[str, Any]], limit: int, time_key: str, *, more: bool = False
) -> dict[str, Any]:
    """`id_page` for a list ordered by a time (the items' `time_key`, epoch ms), then id: its
    cursor names the last item's place, `<time>.<id>` (`timed_cursor` reads it back)."""
    page = id_page(items, limit, more=more)
    if page["cursor"] is not None:
        page["cursor"] = f"{page['items'][-1][time_key]}.{page['cursor']}"
    return page


_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]
"""Every 10-bit value as its two characters: an id is 13 lookups, not 26."""
_TIME_MASK = (1 << 50) - 1  # 10 characters of time


def _encode(ms: int, random_part: int) -> str:
    """`ms` in 10 characters (its low 50 bits), then `random_part` in 16 (80 bits)."""
    v = (ms & _TIME_MASK) << _RANDOM_BITS | random_part
    p = _PAIRS
    # Written out, most significant first: no loop, list or reversal. Every event takes an
    # id (a create's too), and so does a thing created without an `$id`.
    # fmt: off
    return "".join((
        p[v >> 120 & 1023], p[v >> 110 & 1023], p[v >> 100 & 1023], p[v >> 90 & 1023],
        p[v >> 80 & 1023], p[v >> 70 & 1023], p[v >> 60 & 1023], p[v >> 50 & 1023],
        p[v >> 40 & 1023], p[v >> 30 & 1023], p[v >> 20 & 1023], p[v >> 10 & 1023], p[v & 1023],
    ))
    # fmt: on


class IdGenerator:
    """Monotonic ULIDs: each id sorts after the one before it from the same generator."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_random = 0
        self._pool = b""  # random bytes not used yet: none until the first id
        self._used = 0

    def __call__(self, now_ms: int | None = None) -> str:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= self._last_ms:
            # Same (or an earlier, if the clock stepped back) millisecond: count up, so order holds.
            ms = self._last_ms
            random_part = self._last_random + 1
            if random_part > _RANDOM_MAX:
                ms += 1
                random_part = self._random_bits()
        else:
            random_part = self._random_bits()
        self._last_ms, self._last_random = ms, random_part
        return _encode(ms, random_part)

    def _random_bits(self) -> int:
        """79 random bits, as `secrets.randbits(79)` draws them (10 bytes of the system's
        source, the lowest bit dropped). One bit of headroom keeps the count-up from
        overflowing in practice."""
        if self._used + 10 > len(self._pool):
            self._pool, self._used = os.urandom(_POOL_BYTES), 0
        chunk = self._pool[self._used : self._used + 10]
        self._used += 10
        return int.from_bytes(chunk, "big") >> 1


new_id = IdGenerator()
"""The process-wide generator (its state is two integers; no randomness until called)."""
