"""L3: the cold archive. Old events (and so old versions of things: every write's event
carries the whole thing after it) move out of SQLite into an R2 bucket as segments of
gzip-compressed newline-delimited JSON, with a manifest (ADR 0024).

- A **segment** is a contiguous run of events in id (ULID) order, one JSON object a line
  in the shape `GET /events` answers (`id`, `type`, `data`, `timestamp`, `subject`,
  `object`), gzip-compressed with a fixed header time, so the same events always give the
  same bytes and a segment written again after a crash is the same object. Its key is
  `<prefix>/events/<first id>-<last id>.ndjson.gz`.
- The **manifest** (`<prefix>/manifest.json`) lists every segment with its id and time
  range, for a reader that has the bucket and not the object (a recovery, an export).
- The **index** (`dotdo_archive_segments`, one row a segment, in the object's SQLite) is
  what reads use: which segments hold which ids and times, without touching R2.

A pass takes sealed batches from an `EventSource` (today the `events` table; every event
is immutable once written), writes the segment to R2, then in one SQLite transaction adds
its index row and removes the batch. A crash between the two leaves the events in SQLite
and an orphan segment that the next pass overwrites with the same bytes, so nothing is
lost or read twice. Passes run on the timer service (source `archive`: when the oldest
event is `after_ms` old, at most once every `interval_ms`, and also past `max_events`
events held) and on demand (`run(before=...)`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from dotdo.core.logs import Log
from dotdo.core.page_bytes import MAX_PAGE_BYTES, text_bytes
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.eventtypes import validate_pattern
from dotdo.semantic.graph import MAX_EVENTS, EventLog
from dotdo.semantic.history import WRITE_SLACK_MS, thing_at, thing_state, written_at
from dotdo.semantic.ids import id_cursor, id_page
from dotdo.storage.archive_format import FORMAT, SegmentInfo, decode_segment, encode_segment, event_matches
from dotdo.storage.buckets import Bucket
from dotdo.storage.options import DAY_MS, ArchiveOptions
from dotdo.storage.sources import EventSource

__all__ = [
    "DAY_MS",
    "Archive",
    "ArchiveOptions",
    "events_page",
    "thing_as_of",
]

logger = logging.getLogger("dotdo.storage")

# -- the archive ------------------------------------------------------------------------------


class Archive:
    """L3 over `sql` (the index), `bucket` (the segments and the manifest, under `prefix`)
    and `source` (the events to archive); `clock` gives epoch ms (the timer service's
    `now`), `options` the bounds. `on_wake_changed` is called when the next pass's time
    moves; `log` takes its lines (`dotdo.storage`, or its object's `ObjectLog`). A timer
    source: `next_wake` / `run_due` (registered as `archive`)."""

    def __init__(
        self,
        sql: Sql,
        bucket: Bucket,
        prefix: str,
        source: EventSource,
        clock: Callable[[], int],
        options: ArchiveOptions | None = None,
        on_wake_changed: Callable[[], None] = lambda: None,
        log: Log = logger,
    ) -> None:
        """Reads the index (one row read a segment)."""
        self._log = log
        self._sql = sql
        self.bucket = bucket
        self.prefix = prefix.rstrip("/")
        self._source = source
        self._clock = clock
        self.options = options or ArchiveOptions()
        self._on_wake_changed = on_wake_changed
        self._lock = asyncio.Lock()
        self._oldest: int | None = None
        self._oldest_known = False
        self._last_pass: int | None = None
        self._cache: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.last_archived_at: int | None = None
        self.segments: list[SegmentInfo] = [
            SegmentInfo(
                str(r["key"]),
                str(r["first_id"]),
                str(r["last_id"]),
                int(r["first_ts"]),
                int(r["last_ts"]),
                int(r["events"]),
                int(r["bytes"]),
                int(r["archived_at"]),
            )
            for r in sql.exec(
                "SELECT key, first_id, last_id, first_ts, last_ts, events, bytes, archived_at "
                "FROM dotdo_archive_segments ORDER BY first_id"
            )
        ]
        if self.segments:
            self.last_archived_at = max(s.archived_at for s in self.segments)

    @property
    def manifest_key(self) -> str:
        """The manifest's key in the bucket."""
        return f"{self.prefix}/manifest.json"

    def segment_key(self, first_id: str, last_id: str) -> str:
        """The key of the segment holding `first_id`..`last_id`."""
        return f"{self.prefix}/events/{first_id}-{last_id}.ndjson.gz"

    def manifest(self) -> dict[str, Any]:
        """`{"format", "prefix", "segments": [SegmentInfo.to_dict(), ...]}`, oldest first."""
        return {"format": FORMAT, "prefix": self.prefix, "segments": [s.to_dict() for s in self.segments]}

    # -- writing ----------------------------------------------------------------------

    async def run(self, before: int | None = None, *, size_bound: bool = False) -> dict[str, int]:
        """One pass: archive the events older than `before` (epoch ms; default `after_ms`
        ago), and with `size_bound` also the oldest beyond `max_events`, in segments, at
        most `max_segments_per_pass`. Answers `{"segments", "events", "bytes"}` written.
        A pass already running is waited for first (two never take the same batch)."""
        async with self._lock:
            # An event is due when it is `after_ms` old: its timestamp at most now - after_ms.
            cutoff = self._clock() - self.options.after_ms + 1 if before is None else before
            excess = 0
            if size_bound and self.options.max_events is not None:
                excess = max(0, self._source.held() - self.options.max_events)
            done = {"segments": 0, "events": 0, "bytes": 0}
            for _ in range(self.options.max_segments_per_pass):
                batch = self._source.sealed(
                    None if excess > 0 else cutoff,
                    min(self.options.segment_events, excess) if excess > 0 else self.options.segment_events,
                    self.options.segment_bytes,
                )
                if not batch:
                    break
                info = await self._write(batch)
                excess = max(0, excess - info.events)
                done["segments"] += 1
                done["events"] += info.events
                done["bytes"] += info.bytes
            self._last_pass = self._clock()
            if done["segments"]:
                await self.bucket.put(self.manifest_key, json.dumps(self.manifest()).encode())
                self._log.info("archived %d events in %d segments", done["events"], done["segments"])
            self._oldest_known = False
            self._on_wake_changed()
            return done

    async def _write(self, batch: list[dict[str, Any]]) -> SegmentInfo:
        blob = encode_segment(batch)
        first, last = batch[0], batch[-1]
        info = SegmentInfo(
            key=self.segment_key(first["id"], last["id"]),
            first_id=first["id"],
            last_id=last["id"],
            first_ts=min(int(e["timestamp"]) for e in batch),
            last_ts=max(int(e["timestamp"]) for e in batch),
            events=len(batch),
            bytes=len(blob),
            archived_at=self._clock(),
        )
        # R2 first: until the index row commits, the events are still read from SQLite.
        await self.bucket.put(info.key, blob)

        def commit() -> None:
            self._sql.run(
                "INSERT OR REPLACE INTO dotdo_archive_segments (first_id, last_id, first_ts, last_ts, "
                "events, bytes, key, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                info.first_id,
                info.last_id,
                info.first_ts,
                info.last_ts,
                info.events,
                info.bytes,
                info.key,
                info.archived_at,
            )
            self._source.remove(info.first_id, info.last_id)

        self._sql.transaction(commit)
        self.segments.append(info)
        self._cache[info.key] = batch
        self._trim_cache()
        self.last_archived_at = info.archived_at
        return info

    # -- the timer source -------------------------------------------------------------

    def next_wake(self) -> int | None:
        """When the oldest batch the source can give whole is `after_ms` old (`oldest`), but
        not sooner than `interval_ms` after the last pass (epoch ms); None when there is none."""
        # With none held, ask again each time (an empty read costs no row): the first event
        # is written by another layer, and any re-arm after it (a checkpoint's) finds it.
        if not self._oldest_known or self._oldest is None:
            self._oldest = self._source.oldest()
            self._oldest_known = True
        if self._oldest is None:
            return None
        wake = self._oldest + self.options.after_ms
        if self._last_pass is not None:
            wake = max(wake, self._last_pass + self.options.interval_ms)
        return wake

    async def run_due(self, now: int) -> int:
        """Run a pass if one is due at `now`; the segments it wrote."""
        wake = self.next_wake()
        if wake is None or wake > now:
            return 0
        done = await self.run(now - self.options.after_ms + 1, size_bound=True)
        self._last_pass = now
        return done["segments"]

    # -- reading ----------------------------------------------------------------------

    def _trim_cache(self) -> None:
        while len(self._cache) > 4:  # a page of events spans a few segments at most
            self._cache.popitem(last=False)

    async def read(self, info: SegmentInfo) -> list[dict[str, Any]]:
        """The events of one segment (from a small cache of recent ones, else from R2);
        RuntimeError when the bucket has lost it."""
        cached = self._cache.get(info.key)
        if cached is not None:
            self._cache.move_to_end(info.key)
            return cached
        blob = await self.bucket.get(info.key)
        if blob is None:
            raise RuntimeError(f"archive segment {info.key} is missing from the bucket")
        events = decode_segment(blob)
        self._cache[info.key] = events
        self._trim_cache()
        return events

    def covering(self, since: int | None, until: int | None, after_id: str | None) -> list[SegmentInfo]:
        """The segments that may hold events with `since <= timestamp < until` and an id
        past `after_id`, oldest first (the index only; no R2 read)."""
        return [
            s
            for s in self.segments
            if (after_id is None or s.last_id > after_id)
            and (since is None or s.last_ts >= since)
            and (until is None or s.first_ts < until)
        ]

    @property
    def last_id(self) -> str | None:
        """The id of the newest archived event (every event in SQLite is newer)."""
        return self.segments[-1].last_id if self.segments else None

    async def events(
        self,
        pattern: str | None,
        subject: str | None,
        since: int | None,
        until: int | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """At most `limit` archived events after `cursor` that pass the filters
        (`event_matches`), in id order, and the bytes of their JSON; None in place of the
        bytes when they stop early for them: before the event that would take them past
        MAX_PAGE_BYTES (the first one always kept), as `Sql.page` cuts a page."""
        found: list[dict[str, Any]] = []
        size = 0
        for info in self.covering(since, until, cursor):
            for event in await self.read(info):
                if cursor is not None and event["id"] <= cursor:
                    continue
                if event_matches(event, pattern, subject, since, until):
                    grown = size + text_bytes(json.dumps(event, ensure_ascii=False))
                    if found and grown > MAX_PAGE_BYTES:
                        return found, None
                    found.append(event)
                    size = grown
                    if len(found) == limit:
                        return found, size
        return found, size

    async def thing_at(
        self, type_name: str, thing_id: str, as_of: int, not_before: int | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """`thing_state` of the last write event of the thing at or before `as_of` among the
        archived segments (newest first; segments ending before `not_before`, when the
        thing is known to be younger, are skipped); `(False, None)` when none has one."""
        for info in reversed(self.segments):
            if info.first_ts > as_of + WRITE_SLACK_MS:
                continue
            if not_before is not None and info.last_ts < not_before:
                break
            for event in reversed(await self.read(info)):
                if written_at(event) > as_of:
                    continue
                found, thing = thing_state(event, type_name, thing_id)
                if found:
                    return True, thing
        return False, None

    def stats(self) -> dict[str, Any]:
        """`{"segments", "events", "bytes", "last_archived_at", "next_archive_at"}`: what L3
        holds (compressed bytes) and when it last and next runs (epoch ms or None)."""
        return {
            "segments": len(self.segments),
            "events": sum(s.events for s in self.segments),
            "bytes": sum(s.bytes for s in self.segments),
            "last_archived_at": self.last_archived_at,
            "next_archive_at": self.next_wake(),
        }


async def events_page(
    log: EventLog,
    archive: Archive | None,
    pattern: str | None,
    subject: str | None,
    since: int | None,
    until: int | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """One `GET /events` page over the archive then `log` (every archived id is older than
    every id in SQLite, so a page runs on from one into the other with the same cursor, an
    event id): `{"items", "has_more", "cursor"}` (`id_page`), cut by its bytes
    (MAX_PAGE_BYTES) over both parts.
    400 `invalid_limit`, `invalid_event_pattern`, `invalid_cursor` as `EventLog.list`."""
    if cursor:
        cursor = id_cursor(cursor)  # before it is compared with the archive's ids
    if archive is None or not archive.segments or (cursor and cursor >= archive.segments[-1].last_id):
        return log.list(pattern, subject, since, cursor, limit, until)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_EVENTS:
        raise BadRequest(f"limit is an integer from 1 to {MAX_EVENTS}", code="invalid_limit")
    if pattern:
        validate_pattern(pattern)
    archived, size = await archive.events(pattern, subject, since, until, cursor, limit + 1)
    if size is None or len(archived) > limit:
        return id_page(archived, limit, more=True)
    # The live events follow every archived one; with the page full of archived ones, one
    # live event says whether it is the last. The live part gets the bytes left.
    live = log.list(pattern, subject, since, cursor, max(limit - len(archived), 1), until, used_bytes=size)
    return id_page(archived + live["items"], limit, more=live["has_more"])


async def thing_as_of(
    log: EventLog,
    archive: Archive | None,
    current: Mapping[str, Any] | None,
    type_name: str,
    thing_id: str,
    as_of: int,
    include_deleted: bool = False,
) -> dict[str, Any] | None:
    """The thing as it was at `as_of` (epoch ms): from its write events in the event log (`log`),
    else from the archive (segments newest first). `current` is the thing now (soft-deleted
    included) or None: when it was born by `as_of`, segments older than its birth are
    skipped; born later or gone, an earlier life under the same id may be anywhere in the
    archive. None when it did not exist then, was hard-deleted, or was soft-deleted and
    not `include_deleted`."""
    found, thing = thing_at(log, type_name, thing_id, as_of)
    if not found and archive is not None and archive.segments:
        born = current.get("$created_at") if current is not None else None
        not_before = born if isinstance(born, int) and born <= as_of else None
        found, thing = await archive.thing_at(type_name, thing_id, as_of, not_before)
    if thing is None or (thing.get("$deleted_at") is not None and not include_deleted):
        return None
    return thing
