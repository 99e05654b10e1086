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

__all__ = ["IdGenerator", "is_ulid", "new_id"]

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1
_POOL_BYTES = 1280
"""Random bytes drawn at once: 128 ids' random parts (10 bytes each)."""
_ULID = re.compile(r"[0-9a-hjkmnp-tv-z]{26}")


def is_ulid(text: object) -> bool:
    """Whether `text` has the shape of an id this module makes (26 characters of
    lower-case Crockford base32), as a cursor naming one must."""
    return isinstance(text, str) and _ULID.fullmatch(text) is not None


_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]
"""Every 10-bit value as its two characters: an id is 13 lookups, not 26."""
_TIME_MASK = (1 << 50) - 1  # 10 characters of time


def _encode(ms: int, random_part: int) -> str:
    """`ms` in 10 characters (its low 50 bits), then `random_part` in 16 (80 bits)."""
    value = (ms & _TIME_MASK) << _RANDOM_BITS | random_part
    pairs = []
    for _ in range(13):
        pairs.append(_PAIRS[value & 1023])
        value >>= 10
    return "".join(reversed(pairs))


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
