"""L3's segment format and index (ADR 0024): a segment is a contiguous run of events in id
(ULID) order, one JSON object a line in the shape `GET /events` answers (`id`, `type`,
`data`, `timestamp`, `subject`, `object`), gzip-compressed (RFC 1952) with a fixed header
time, so the same events always give the same bytes. The object's index of segments is the
table `dotdo_archive_segments` (one row a segment); the bucket's manifest lists the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dotdo.semantic.eventtypes import validate_pattern
from dotdo.storage.log import ARCHIVE_TABLES

__all__ = ["ARCHIVE_TABLES", "FORMAT", "SegmentInfo", "decode_segment", "encode_segment", "event_matches"]

FORMAT = "dotdo.events.ndjson.gz/1"
"""The manifest's `format`: a segment is gzip (RFC 1952) over NDJSON, one event a line."""


@dataclass(frozen=True)
class SegmentInfo:
    """One archived segment as the index and the manifest hold it: its key in the bucket,
    its first and last event ids and timestamps (epoch ms), how many events, its
    compressed size in bytes and when it was archived (epoch ms)."""

    key: str
    first_id: str
    last_id: str
    first_ts: int
    last_ts: int
    events: int
    bytes: int
    archived_at: int

    def to_dict(self) -> dict[str, Any]:
        """The manifest's entry: every field by name."""
        return asdict(self)


# -- the segment format ----------------------------------------------------------------


def encode_segment(events: Sequence[Mapping[str, Any]]) -> bytes:
    """`events` (objects in `GET /events`' item shape) as gzip-compressed NDJSON: one
    compact JSON object a line, each line ending in `\\n`. The gzip header's time is 0, so
    equal events give equal bytes (a segment archived again after a crash is identical)."""
    text = "".join(json.dumps(dict(e), separators=(",", ":"), ensure_ascii=False) + "\n" for e in events)
    import gzip  # here, not at import: only archiving needs it (~12 ms of a cold start)

    return gzip.compress(text.encode(), mtime=0)


def decode_segment(blob: bytes) -> list[dict[str, Any]]:
    """The events of a segment, in order; ValueError when `blob` is not one (a segment
    holds at least one event)."""
    try:
        import gzip

        text = gzip.decompress(blob).decode()
        # Lines end at "\n" only: `splitlines` also breaks at U+2028, U+0085, U+001C and the
        # like, which a JSON string written with ensure_ascii=False holds as they are.
        events = [json.loads(line) for line in text.split("\n") if line]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not an archive segment: {error}") from error
    if not events or not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in events):
        raise ValueError("not an archive segment: a segment holds one event a line, at least one")
    return events


def event_matches(
    event: Mapping[str, Any],
    pattern: str | None = None,
    subject: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> bool:
    """Whether an event passes `GET /events`' filters (`EventLog.list`'s rules): `pattern`
    `Noun.verb` with `*` for either part, `subject`, `since <= timestamp < until` (ms).
    400 `invalid_event_pattern` for a bad pattern."""
    if pattern:
        noun, _, verb = validate_pattern(pattern).partition(".")
        event_noun, _, event_verb = str(event["type"]).partition(".")
        if noun != "*" and event_noun != noun:
            return False
        if verb != "*" and event_verb != verb:
            return False
    if subject and event.get("subject") != subject:
        return False
    timestamp = int(event["timestamp"])
    if since is not None and timestamp < since:
        return False
    return until is None or timestamp < until
