"""L3 in-process (`dotdo.storage.archive`) over the sqlite3 stand-in of `ctx.storage` and a
bucket in memory: the segment format, the index and the manifest, what a pass takes and
leaves, a crash between R2 and SQLite, the timer source, and that event pages and as-of
reads answer the same with any part of the history archived as with none of it."""

from __future__ import annotations

import gzip
import itertools
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import GRAPH_TABLES, EventLog
from dotdo.semantic.history import WRITE_SLACK_MS, thing_state
from dotdo.storage.archive import Archive, ArchiveOptions, events_page, thing_as_of
from dotdo.storage.archive_format import ARCHIVE_TABLES, FORMAT, decode_segment, encode_segment, event_matches
from dotdo.storage.buckets import MemoryBucket
from dotdo.storage.log import STORAGE_TABLES
from dotdo.storage.segments import EventSegments
from dotdo.storage.sources import EventsTable, PackedSegments
from dotdo.values import INT64_MAX, INT64_MIN
from tests.inprocess import T0, run
from tests.storage import Clock, Storage


class Node:
    """One object's event log and archive on `storage`; `restart()` keeps SQLite and the bucket."""

    def __init__(
        self, storage: Storage, bucket: MemoryBucket, clock: Clock, options: ArchiveOptions | None = None
    ) -> None:
        self.storage, self.bucket, self.clock, self.options = storage, bucket, clock, options
        self.sql = Sql(storage)
        migrate(self.sql, [GRAPH_TABLES, ARCHIVE_TABLES], clock())
        ids = storage.__dict__.setdefault("event_ids", itertools.count())
        self.log = EventLog(self.sql, clock, lambda: f"01j{next(ids):023d}")  # ULID-shaped, in order
        self.wakes = 0
        self.archive = Archive(
            self.sql, bucket, "dotdo/acme", EventsTable(self.sql), clock, options, self._woke
        )

    def _woke(self) -> None:
        self.wakes += 1

    def restart(self) -> Node:
        return Node(self.storage, self.bucket, self.clock, self.options)

    def write(self, type_name: str, thing_id: str, version: int, **props: Any) -> dict[str, Any]:
        """A thing write's event, as `Things` records it: the whole thing after the write."""
        now = self.clock()
        thing = {
            "$id": thing_id,
            "$type": type_name,
            "$created_at": T0,
            "$updated_at": now,
            "$version": version,
        }
        thing.update(props)
        self.log.record(f"{type_name}.{'created' if version == 1 else 'updated'}", thing_id, thing)
        return thing

    def all_events(self) -> list[dict[str, Any]]:
        return self.log.list(limit=1000)["items"]


def node(options: ArchiveOptions | None = None) -> Node:
    return Node(Storage(), MemoryBucket(), Clock(T0), options)


def fill(n: Node, count: int, step: int = 1000) -> list[dict[str, Any]]:
    for i in range(count):
        n.log.record("Order.placed", f"o{i % 7}", {"i": i})
        n.clock.advance(step)
    return n.all_events()


# -- the format ---------------------------------------------------------------------------


def test_a_segment_is_gzip_over_one_json_event_a_line_and_the_same_events_give_the_same_bytes() -> None:
    events = [
        {
            "id": "e1",
            "type": "A.b",
            "data": {"ü": [1, 2.5, None]},
            "timestamp": T0,
            "subject": "x",
            "object": None,
        },
        {
            "id": "e2",
            "type": "A.c",
            "data": "line\nbreak",
            "timestamp": T0 + 1,
            "subject": None,
            "object": "y",
        },
    ]
    blob = encode_segment(events)
    lines = gzip.decompress(blob).decode().split("\n")
    assert lines[-1] == "" and [json.loads(line) for line in lines[:-1]] == events
    assert blob == encode_segment(events)  # no time in the gzip header
    assert decode_segment(blob) == events


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "id": st.text(min_size=1),
                "type": st.just("A.b"),
                "data": st.recursive(
                    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=8,
                ),
                "timestamp": st.integers(0, 2**53),
                "subject": st.none() | st.text(),
                "object": st.none() | st.text(),
            }
        ),
        min_size=1,
        max_size=4,
    )
)
def test_any_events_come_back_from_their_segment_as_they_went_in(events: list[dict[str, object]]) -> None:
    """Every text (U+2028, U+0085, U+001C: characters `str.splitlines` breaks at; NUL; line
    breaks) in data, subjects and ids: a segment is split at its own newlines only."""
    assert decode_segment(encode_segment(events)) == events


def test_line_separators_inside_strings_do_not_end_a_line() -> None:
    events = [
        {
            "id": "e1",
            "type": "A.b",
            "data": "a\u2028b\u2029c\x85d\x1ce\x1df\x1eg\x0bh\x0ci\rj",
            "timestamp": T0,
        }
    ]
    assert decode_segment(encode_segment(events)) == events


@pytest.mark.parametrize("blob", [b"", b"not gzip", gzip.compress(b"[1]\n"), gzip.compress(b"{\n")])
def test_decode_refuses_what_is_not_a_segment(blob: bytes) -> None:
    with pytest.raises(ValueError, match="not an archive segment"):
        decode_segment(blob)


def test_event_filters_match_the_event_logs() -> None:
    event = {
        "id": "e1",
        "type": "Order.placed",
        "data": {},
        "timestamp": 100,
        "subject": "o1",
        "object": None,
    }
    assert event_matches(event, "Order.*", "o1", 100, 101)
    assert event_matches(event, "*.placed")
    assert not event_matches(event, "Order.paid")
    assert not event_matches(event, "Ord.*")
    assert not event_matches(event, since=101)
    assert not event_matches(event, until=100)  # until is exclusive
    assert not event_matches(event, subject="o2")
    with pytest.raises(BadRequest):
        event_matches(event, "not a pattern")


def test_a_thing_state_is_only_its_own_write_events() -> None:
    thing = {"$id": "c1", "$type": "Customer", "$version": 2, "name": "Ada"}
    assert thing_state({"type": "Customer.updated", "subject": "c1", "data": thing}, "Customer", "c1") == (
        True,
        thing,
    )
    hard = {"$id": "c1", "$type": "Customer", "hard": True}
    assert thing_state({"type": "Customer.deleted", "subject": "c1", "data": hard}, "Customer", "c1") == (
        True,
        None,
    )
    action = {"subject": {"$type": "Customer", "$id": "c1"}, "verb": "pay", "object": None, "data": None}
    assert thing_state({"type": "Customer.paid", "subject": "c1", "data": action}, "Customer", "c1") == (
        False,
        None,
    )
    assert (
        thing_state({"type": "Order.updated", "subject": "c1", "data": thing}, "Customer", "c1")[0] is False
    )


# -- a pass -------------------------------------------------------------------------------


def test_a_pass_moves_old_events_to_segments_with_an_index_row_each_and_a_manifest() -> None:
    n = node(ArchiveOptions(after_ms=10_000, segment_events=4))
    events = fill(n, 10)  # timestamps T0 .. T0 + 9000
    done = run(n.archive.run(before=T0 + 6_000))  # e0..e5 are older
    assert done["segments"] == 2 and done["events"] == 6
    assert [e["id"] for e in n.all_events()] == [e["id"] for e in events[6:]]
    keys = sorted(k for k in n.bucket.objects if k.endswith(".ndjson.gz"))
    assert keys == [
        "dotdo/acme/events/01j00000000000000000000000-01j00000000000000000000003.ndjson.gz",
        "dotdo/acme/events/01j00000000000000000000004-01j00000000000000000000005.ndjson.gz",
    ]
    assert decode_segment(n.bucket.objects[keys[0]]) == events[:4]
    manifest = json.loads(n.bucket.objects["dotdo/acme/manifest.json"])
    assert manifest["format"] == FORMAT
    assert [(s["first_id"], s["last_id"], s["events"]) for s in manifest["segments"]] == [
        ("01j00000000000000000000000", "01j00000000000000000000003", 4),
        ("01j00000000000000000000004", "01j00000000000000000000005", 2),
    ]
    index = n.sql.exec("SELECT first_id, last_id, first_ts, last_ts, events, key FROM dotdo_archive_segments")
    assert [(r["first_id"], r["first_ts"], r["last_ts"]) for r in index] == [
        ("01j00000000000000000000000", T0, T0 + 3000),
        ("01j00000000000000000000004", T0 + 4000, T0 + 5000),
    ]
    again = n.restart()  # the index is the object's: a new instance reads it
    assert [s.key for s in again.archive.segments] == keys
    assert again.archive.stats()["events"] == 6
    assert again.archive.stats()["bytes"] == sum(len(n.bucket.objects[k]) for k in keys)


def test_a_segment_costs_one_index_row_and_removing_the_batch_no_more_than_it_wrote() -> None:
    n = node(ArchiveOptions(segment_events=50))
    before = n.sql.rows_written
    fill(n, 50)
    inserted = n.sql.rows_written - before
    before = n.sql.rows_written
    run(n.archive.run(before=T0 + 10**9))
    # The DELETE removes each event's row and index entries (what its insert wrote), plus
    # one index row for the whole segment.
    assert n.sql.rows_written - before <= inserted + 1


def test_a_pass_keeps_events_an_unfinished_delivery_names_and_everything_after() -> None:
    n = node()
    events = fill(n, 6)
    n.sql.run("CREATE TABLE dotdo_deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, status TEXT)")
    n.sql.run("INSERT INTO dotdo_deliveries VALUES ('d1', ?, 'pending')", events[3]["id"])
    run(n.archive.run(before=T0 + 10**9))
    assert [e["id"] for e in n.all_events()] == [e["id"] for e in events[3:]]
    n.sql.run("DELETE FROM dotdo_deliveries")
    run(n.archive.run(before=T0 + 10**9))
    assert n.all_events() == []


def test_a_crash_between_the_bucket_and_sqlite_loses_nothing_and_the_next_pass_writes_the_same_segment() -> (
    None
):
    n = node(ArchiveOptions(segment_events=3))
    events = fill(n, 3)

    class Dead(BaseException):
        """The runtime died inside the index transaction (kill -9)."""

    class Crashing(EventsTable):
        def remove(self, first_id: str, last_id: str) -> int:
            super().remove(first_id, last_id)  # rolled back with the transaction
            raise Dead

    n.archive._source = Crashing(n.sql)
    with pytest.raises(Dead):
        run(n.archive.run(before=T0 + 10**9))
    assert n.all_events() == events
    orphan = dict(n.bucket.objects)
    again = n.restart()
    assert again.archive.segments == []
    run(again.archive.run(before=T0 + 10**9))
    assert again.all_events() == []
    key = again.archive.segments[0].key
    assert again.bucket.objects[key] == orphan[key]


def test_the_size_bound_archives_the_oldest_excess_whatever_their_age() -> None:
    n = node(ArchiveOptions(after_ms=10**9, max_events=5, segment_events=100))
    events = fill(n, 8)
    assert run(n.archive.run(size_bound=True))["events"] == 3
    assert [e["id"] for e in n.all_events()] == [e["id"] for e in events[3:]]


def test_the_timer_wakes_when_the_oldest_event_is_due_and_not_again_before_the_interval() -> None:
    n = node(ArchiveOptions(after_ms=60_000, interval_ms=3_600_000))
    assert n.archive.next_wake() is None
    fill(n, 3)
    assert n.archive.next_wake() == T0 + 60_000
    assert run(n.archive.run_due(T0 + 59_999)) == 0
    assert run(n.archive.run_due(T0 + 60_000)) == 1
    assert [e["timestamp"] for e in n.all_events()] == [T0 + 1000, T0 + 2000]
    # The next pass waits for the interval even though an event is already old enough.
    n.clock.advance(10**6)
    assert n.archive.next_wake() == T0 + 60_000 + 3_600_000
    assert n.wakes >= 1


# -- reads answer as if nothing were archived -------------------------------------------------


def pages(n: Node, upper: bool = False, **filters: Any) -> list[dict[str, Any]]:
    """Every page, each next one asked for with the previous page's cursor (in upper case
    with `upper`: an id is one in any case)."""
    got: list[dict[str, Any]] = []
    cursor = None
    limit = filters.pop("limit")
    while True:
        page = run(
            events_page(
                n.log,
                n.archive,
                filters.get("pattern"),
                filters.get("subject"),
                filters.get("since"),
                filters.get("until"),
                cursor,
                limit,
            )
        )
        got.extend(page["items"])
        assert len(page["items"]) <= limit
        assert page["has_more"] is (page["cursor"] is not None)  # as the other pages say it
        assert page["items"] or cursor is None  # a page said more followed: they do
        if page["cursor"] is None:
            return got
        cursor = page["cursor"].upper() if upper else page["cursor"]


@settings(max_examples=40)
@given(
    count=st.integers(0, 40),
    archived=st.integers(0, 40),
    segment=st.integers(1, 9),
    limit=st.integers(1, 12),
    since=st.none() | st.integers(-2, 42),
    until=st.none() | st.integers(-2, 42),
    pattern=st.sampled_from([None, "Order.*", "*.placed", "Order.paid", "Cart.*"]),
    subject=st.sampled_from([None, "o1", "o5"]),
    upper=st.booleans(),
)
@example(
    count=20, archived=10, segment=3, limit=4, since=None, until=None, pattern=None, subject=None, upper=True
)
def test_event_pages_across_the_archive_equal_the_unarchived_log(
    count: int,
    archived: int,
    segment: int,
    limit: int,
    since: int | None,
    until: int | None,
    pattern: str | None,
    subject: str | None,
    upper: bool,
) -> None:
    n = node(ArchiveOptions(segment_events=segment, max_segments_per_pass=100))
    for i in range(count):
        n.log.record("Order.paid" if i % 3 == 0 else "Order.placed", f"o{i % 7}", {"i": i})
        n.clock.advance(1000)
    filters = {
        "pattern": pattern,
        "subject": subject,
        "since": None if since is None else T0 + since * 1000,
        "until": None if until is None else T0 + until * 1000,
    }
    expected = [e for e in n.all_events() if event_matches(e, **filters)]
    run(n.archive.run(before=T0 + archived * 1000))
    assert len(n.all_events()) == max(0, count - archived)
    assert pages(n, upper, limit=limit, **filters) == expected
    assert pages(n.restart(), upper, limit=limit, **filters) == expected


@settings(max_examples=40)
@given(
    writes=st.lists(st.sampled_from(["write", "soft", "restore", "hard", "other"]), max_size=12),
    archived=st.integers(0, 30),
    segment=st.integers(1, 5),
    probes=st.lists(st.integers(-1, 30), min_size=1, max_size=6),
)
def test_as_of_reads_across_the_archive_equal_the_history(
    writes: list[str], archived: int, segment: int, probes: list[int]
) -> None:
    """A model history of one thing (writes, soft deletes, restores, hard deletes, an
    action's event), noise from another thing between, then as-of reads at every probe."""
    n = node(ArchiveOptions(segment_events=segment, max_segments_per_pass=100))
    history: list[tuple[int, dict[str, Any] | None]] = []  # (time, thing after) per write
    version = 0
    alive = False
    for step, kind in enumerate(writes):
        n.clock.advance(1000)
        n.log.record("Noise.made", "n1", {"$id": "n1", "$type": "Noise", "$version": step})
        now = n.clock.advance(1000)
        if kind == "other":
            n.log.record(
                "Customer.paid", "c1", {"subject": {"$id": "c1", "$type": "Customer"}, "verb": "pay"}
            )
            continue
        if kind == "hard":
            if alive:
                n.log.record("Customer.deleted", "c1", {"$id": "c1", "$type": "Customer", "hard": True})
                history.append((now, None))
                alive, version = False, 0
            continue
        version += 1
        thing: dict[str, Any] = {
            "$id": "c1",
            "$type": "Customer",
            "$updated_at": now,
            "$version": version,
            "k": step,
        }
        if kind == "soft":
            thing["$deleted_at"] = now
        n.log.record("Customer.updated", "c1", thing)
        history.append((now, thing))
        alive = True
    run(n.archive.run(before=T0 + archived * 1000))
    current = history[-1][1] if history else None
    for probe in probes:
        at = T0 + probe * 1000
        then = [thing for time, thing in history if time <= at]
        model = then[-1] if then else None
        for include_deleted in (False, True):
            want = None if model is None or ("$deleted_at" in model and not include_deleted) else model
            got = run(thing_as_of(n.log, n.archive, current, "Customer", "c1", at, include_deleted))
            assert got == want, (probe, include_deleted)


def test_an_as_of_read_goes_from_the_newest_segment_back_and_stops_at_the_first_write() -> None:
    n = node(ArchiveOptions(segment_events=2))
    fill(n, 10)
    born = n.write("Customer", "c1", 1, name="Ada")
    n.clock.advance(1000)
    n.write("Customer", "c1", 2, name="Ada L.")
    run(n.archive.run(before=n.clock() + 1))
    n.archive._cache.clear()
    n.bucket.gets = 0
    got = run(thing_as_of(n.log, n.archive, born, "Customer", "c1", born["$updated_at"]))
    assert got == born
    assert n.bucket.gets == 1  # the newest segment held both writes


# -- whole packed event segments (DOStorage's events, ADR 0023) --------------------------------


def test_packed_segments_leave_whole_one_row_each_and_the_open_one_stays() -> None:
    storage, clock, bucket = Storage(), Clock(T0), MemoryBucket()
    sql = Sql(storage)
    migrate(sql, [GRAPH_TABLES, STORAGE_TABLES, ARCHIVE_TABLES], clock())
    segments = EventSegments(sql, max_events=3)
    ids = itertools.count()
    events = []
    for i in range(11):
        events.append(
            {
                "id": f"01j{next(ids):023d}",
                "type": "Order.placed",
                "data": json.dumps({"i": i}),
                "timestamp": clock.advance(1000),
                "subject": f"o{i % 2}",
                "object": None,
            }
        )
    segments.append(events)  # sealed: 3 + 3 + 3, open: 2
    archive = Archive(sql, bucket, "dotdo/acme", PackedSegments(sql), clock, ArchiveOptions(segment_events=7))
    before = sql.rows_written
    done = run(archive.run(before=T0 + 10**9))
    # 7 events allow two packed segments an archive segment: (3 + 3) then (3).
    assert [(s.first_id, s.events) for s in archive.segments] == [(events[0]["id"], 6), (events[6]["id"], 3)]
    assert done["events"] == 9
    assert sql.rows_written - before == 3 + 2  # a row a packed segment deleted, a row an index entry
    left = sql.exec("SELECT seq, sealed, count FROM dotdo_event_segments")
    assert [(r["sealed"], r["count"]) for r in left] == [(0, 2)]
    answered = [{**e, "data": json.loads(e["data"])} for e in events]
    assert decode_segment(bucket.objects[archive.segments[0].key]) == answered[:6]
    log = EventLog(sql, clock, lambda: "unused")
    assert run(events_page(log, archive, None, "o1", None, None, None, 100))["items"] == [
        e for e in answered if e["subject"] == "o1"
    ]


def test_packed_segments_wake_the_timer_only_for_a_sealed_segment_once_its_last_event_is_due() -> None:
    storage, clock, bucket = Storage(), Clock(T0), MemoryBucket()
    sql = Sql(storage)
    migrate(sql, [GRAPH_TABLES, STORAGE_TABLES, ARCHIVE_TABLES], clock())
    segments = EventSegments(sql, max_events=2)
    archive = Archive(sql, bucket, "p", PackedSegments(sql), clock, ArchiveOptions(after_ms=60_000))

    def event(n: int) -> dict[str, Any]:
        return {
            "id": f"01j{n:023d}",
            "type": "A.b",
            "data": "{}",
            "timestamp": T0 + n * 1000,
            "subject": None,
            "object": None,
        }

    segments.append([event(0)])
    assert archive.next_wake() is None  # only an open segment
    segments.append([event(1), event(2)])  # seals (0, 1); 2 is open
    assert archive.next_wake() == T0 + 1000 + 60_000
    assert run(archive.run_due(T0 + 1000 + 60_000)) == 1
    assert archive.stats()["events"] == 2


@pytest.mark.parametrize("as_of", [INT64_MAX, INT64_MAX - WRITE_SLACK_MS, 2**53, INT64_MIN])
def test_as_of_takes_any_64_bit_time(as_of: int) -> None:
    n = node()
    thing = n.write("Customer", "c1", 1, name="Ada")
    run(n.archive.run(before=n.clock() + 1))
    want = None if as_of < thing["$updated_at"] else thing
    assert run(thing_as_of(n.log, n.archive, None, "Customer", "c1", as_of)) == want
    assert run(thing_as_of(n.log, None, None, "Customer", "c1", as_of)) is None  # archived: not in the log
