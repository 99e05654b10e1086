"""`TierOptions` and `ArchiveOptions`: the bounds of DOStorage's tiers and of its archive
(L3), with documented defaults, checked when they are made (ADRs 0019, 0023, 0024).
`ArchiveOptions` lives here, not beside the archive, so that a class can name its options
without loading the archive, which an object without an `archive_binding` never does
(ADR 0036)."""

from __future__ import annotations

from dataclasses import dataclass

from dotdo.storage.commit import DURABILITY_MODES, STRICT
from dotdo.storage.log import MAX_ROW_BYTES
from dotdo.storage.segments import SEGMENT_BYTES, SEGMENT_EVENTS

__all__ = ["DAY_MS", "ArchiveOptions", "TierOptions", "check_archive_options"]

DAY_MS = 86_400_000


@dataclass(frozen=True)
class TierOptions:
    """The tiers' bounds. Counts are things or rows, sizes bytes, times milliseconds.

    `cache_size` / `cache_bytes`: clean things kept in L0 (dirty ones are not counted:
    they are bounded by `max_dirty` / `max_dirty_bytes`, past which a checkpoint runs).
    `checkpoint_delay_ms`: the longest a write waits in L0 and L1 before a checkpoint.
    `log_slots`: rows of the log ring; a checkpoint runs when a quarter of it is left.
    `segment_events` / `segment_bytes`: when an event segment is sealed (`segments.py`).
    `durability`: "strict" (nothing acknowledged before its log row is committed) or
    "relaxed" (acknowledged at once, logged within `relaxed_flush_ms` or every
    `relaxed_max_writes` transactions, whichever comes first: a crash loses at most that
    window, never part of a transaction; `commit.py`, ADR 0023).
    `commit_delay_ms`: strict mode, when a write opens a group while other requests are
    in the object, the longest the group waits for them to write or finish before its
    row is logged (0 to 1,000; 0: never wait; ADR 0029).
    `overlay_bytes`: the most a query carries of its type's dirty things, as the JSON text
    of its overlay (ADR 0030), from 0 (every query checkpoints them first) to 1,000,000
    (half SQLite's 2 MB string limit on Cloudflare, as a log row); past it the query
    checkpoints them first.
    """

    cache_size: int = 1024
    cache_bytes: int = 16 * 1024 * 1024
    checkpoint_delay_ms: int = 30_000
    max_dirty: int = 1000
    max_dirty_bytes: int = 8 * 1024 * 1024
    log_slots: int = 1024
    max_row_bytes: int = MAX_ROW_BYTES
    segment_events: int = SEGMENT_EVENTS
    segment_bytes: int = SEGMENT_BYTES
    durability: str = STRICT
    relaxed_flush_ms: int = 1000
    relaxed_max_writes: int = 1000
    commit_delay_ms: int = 5
    overlay_bytes: int = MAX_ROW_BYTES

    def __post_init__(self) -> None:
        names = ("cache_size", "cache_bytes", "max_dirty", "max_dirty_bytes", "max_row_bytes")
        if self.durability not in DURABILITY_MODES:
            raise ValueError(f"durability is one of {DURABILITY_MODES}, not {self.durability!r}")
        for name in (*names, "segment_events", "segment_bytes", "relaxed_flush_ms", "relaxed_max_writes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} is at least 1")
        if self.checkpoint_delay_ms < 0:
            raise ValueError("checkpoint_delay_ms is at least 0")
        delay = self.commit_delay_ms
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 1000:
            raise ValueError("commit_delay_ms is from 0 to 1000")
        if not 0 <= self.overlay_bytes <= MAX_ROW_BYTES:
            raise ValueError(f"overlay_bytes is from 0 to {MAX_ROW_BYTES}")
        if self.log_slots < 8:
            raise ValueError("log_slots is at least 8")


@dataclass(frozen=True)
class ArchiveOptions:
    """When and how much to archive. Times are milliseconds, sizes bytes.

    `after_ms`: an event older than this moves to the archive at the next pass (default 30
    days). `interval_ms`: timer passes run at most this often (default a day), so one pass
    takes a day's events rather than one event at a time. `max_events`: past this many
    events held in SQLite a timer pass also archives the oldest excess, whatever their age
    (None: no size bound). `segment_events` / `segment_bytes`: most events and JSON bytes
    of one archived segment (1,000 and 4 MB: well under a Worker's 128 MB memory once
    decoded). They do not seal anything: `TierOptions.segment_events` / `segment_bytes`
    seal event segments (256 events, 256 KiB), only sealed segments are archived, and an
    archived segment joins whole sealed ones while they total at most these (the default
    joins three of 256 events); so neither may be below its `TierOptions` counterpart
    (`check_archive_options`, when a DOStorage class is created).
    `max_segments_per_pass`: most segments one pass writes (the rest waits for the next).
    """

    after_ms: int = 30 * DAY_MS
    interval_ms: int = DAY_MS
    max_events: int | None = None
    segment_events: int = 1000
    segment_bytes: int = 4 * 1024 * 1024
    max_segments_per_pass: int = 16

    def __post_init__(self) -> None:
        for name in ("after_ms", "interval_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is at least 0")
        for name in ("segment_events", "segment_bytes", "max_segments_per_pass"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} is at least 1")
        if self.max_events is not None and self.max_events < 0:
            raise ValueError("max_events is at least 0 (or None)")


def check_archive_options(tiers: TierOptions, archive: ArchiveOptions) -> None:
    """ValueError when `archive` bounds an archived segment below what `tiers` seals at
    (`segment_events`, `segment_bytes`): an archived segment is whole sealed segments
    (`PackedSegments`, ADR 0024), so such a bound could never hold; it would be ignored."""
    for name in ("segment_events", "segment_bytes"):
        bound, sealed_at = getattr(archive, name), getattr(tiers, name)
        if bound < sealed_at:
            raise ValueError(
                f"ArchiveOptions.{name} ({bound}) is below TierOptions.{name} ({sealed_at}): "
                f"event segments are sealed at TierOptions.{name} and archived whole, at least "
                f"one to an archived segment; to archive smaller segments, seal them smaller "
                f"with storage_options = TierOptions({name}={bound})"
            )
