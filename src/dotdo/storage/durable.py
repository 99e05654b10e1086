"""DOStorage: DOSemantic with its things on tiers (ADR 0019).

Things live in memory (L0), every write is one row of a write-ahead log (L1) in the
transaction of its event, and dirty things reach `things` (L2) in lazy checkpoints that
write each thing once however often it changed. Strict durability: nothing is
acknowledged before its log row is committed.

    class App(DOStorage):
        storage_options = TierOptions(checkpoint_delay_ms=10_000)

`POST /storage/flush` (RPC `flush()`) checkpoints now; `GET /stats` (RPC `stats()`)
gives the rows read and written since the object started and the tiers' figures.

L3, the archive in R2 (ADR 0024), is opt-in per class: name the bucket's binding and old
events (so old versions of things) move there as gzip NDJSON segments:

    class App(DOStorage):
        archive_binding = "ARCHIVE"        # [[r2_buckets]] binding = "ARCHIVE" in wrangler.toml
        archive_options = ArchiveOptions(after_ms=7 * DAY_MS)

`POST /storage/archive` (RPC `archive()`) runs a pass now; `GET /:Noun/:id?as_of=<ms>`
and `GET /events?since=&until=` read the archived history too.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.identity import object_label
from dotdo.core.logs import ObjectLog
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.errors import BadRequest, Conflict
from dotdo.remote.fields import check_fields
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.semantic.durable import DOSemantic
from dotdo.semantic.graph import EventLog
from dotdo.semantic.ids import new_id
from dotdo.semantic.store import ThingStore
from dotdo.semantic.things import validate_id
from dotdo.storage.commit import STRICT
from dotdo.storage.events import TieredEventLog
from dotdo.storage.log import ARCHIVE_TABLES, STORAGE_TABLES
from dotdo.storage.options import ArchiveOptions, check_archive_options
from dotdo.storage.tiers import TieredThingStore, TierOptions
from dotdo.types import JSON
from dotdo.values import int64_error

if TYPE_CHECKING:
    # L3 loads with an object that has an archive_binding, or with its first event page
    # (~10 ms of a cold start under Pyodide, ADR 0036).
    from dotdo.storage.archive import Archive

__all__ = ["DOStorage"]

logger = logging.getLogger("dotdo.storage")


class DOStorage(DOSemantic):
    """DOSemantic with things on L0 (memory), L1 (write-ahead log), L2 (`things`)."""

    storage_options: ClassVar[TierOptions] = TierOptions()
    """The tiers' bounds and the checkpoint delay (`TierOptions`, documented defaults)."""

    archive_binding: ClassVar[str | None] = None
    """The env binding of the R2 bucket L3 archives into (`[[r2_buckets]]`); None: no L3."""

    archive_options: ClassVar[ArchiveOptions] = ArchiveOptions()
    """When and how much L3 archives (`ArchiveOptions`, documented defaults)."""

    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("tiers", "archive"))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A bound the archive cannot keep fails when the class is created, not silently.
        try:
            check_archive_options(cls.storage_options, cls.archive_options)
        except ValueError as error:
            raise TypeError(f"{cls.__name__}: {error}") from error

    def __init__(self, ctx: Any, env: Any) -> None:
        """Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings); registers the
        tiers with the timer service as the source "checkpoints", and the archive (with an
        `archive_binding`) as "archive"."""
        self._started_ms = int(time.time() * 1000)
        super().__init__(ctx, env)
        tiers = self.__dict__.get("tiers")
        if isinstance(tiers, TieredThingStore):
            self.timers.register("checkpoints", tiers)
        self.archive: Archive | None = self._make_archive(env)
        if self.archive is not None:
            self.timers.register("archive", self.archive)

    def _make_archive(self, env: Any) -> Archive | None:
        """L3 over the bucket `archive_binding` names, or None (no binding named, or none
        such in `env`: logged, since the events then stay in SQLite)."""
        if not self.archive_binding:
            return None
        bucket = getattr(env, self.archive_binding, None)
        if bucket is None:
            logger.error("archive_binding %r is not in the env: no archive (L3)", self.archive_binding)
            return None
        from dotdo.storage.archive import Archive
        from dotdo.storage.buckets import R2Bucket
        from dotdo.storage.sources import PackedSegments

        timers = self.timers

        def wake_changed() -> None:
            timers.changed()
            timers.rearm()

        return Archive(
            self.sql,
            R2Bucket(bucket),
            f"dotdo/{self._archive_name()}",
            PackedSegments(self.sql),
            timers.now,
            self.archive_options,
            wake_changed,
            ObjectLog(logger, self._archive_name()),
        )

    def _l3(self) -> Archive | None:
        """The archive, when this object has one."""
        archive = self.__dict__.get("archive")
        if archive is None:
            return None
        from dotdo.storage.archive import Archive

        return archive if isinstance(archive, Archive) else None

    def _archive_name(self) -> str:
        """The object's folder in the bucket: its name (`idFromName`), else its id."""
        return object_label(self.object_name, getattr(self.ctx, "id", None))

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOSemantic's components plus `storage` (`dotdo_storage_log`, `dotdo_storage_mark`,
        `dotdo_event_segments` and the `events` view over it) and `archive`
        (`dotdo_archive_segments`, L3's index)."""
        return [*super().migrations(), STORAGE_TABLES, ARCHIVE_TABLES]

    def thing_store(self) -> ThingStore:
        """The tiers (replaying the log's rows above the mark into L0)."""
        return self._tiers()

    def event_store(self) -> EventLog:
        """Events on the tiers: logged with their transaction's things, checkpointed into
        packed segments (`TieredEventLog`, ADR 0023)."""
        return TieredEventLog(self._tiers(), lambda: int(time.time() * 1000), new_id)

    def _tiers(self) -> TieredThingStore:
        """The one `TieredThingStore` of this object, made on first use."""
        tiers = self.__dict__.get("tiers")
        if isinstance(tiers, TieredThingStore):
            return tiers
        timers = self.timers

        def wake_changed() -> None:
            timers.changed()
            timers.rearm()

        log = ObjectLog(logger, self._archive_name())  # once per object: its lines name it
        self.tiers = TieredThingStore(self.sql, timers.now, self.storage_options, wake_changed, log=log)
        return self.tiers

    async def fetch(self, request: Any) -> Any:
        """DOSemantic's `fetch`; in strict mode the response waits until the writes made so
        far (this request's among them) are in the log, so concurrent requests' writes share
        one row (group commit, ADR 0023). The request is in the object from here to its
        answer: a group opened while other requests are in the object waits for them, at
        most `commit_delay_ms` (ADR 0029)."""
        tiers = self.__dict__.get("tiers")
        if not isinstance(tiers, TieredThingStore) or tiers.options.durability != STRICT:
            return await super().fetch(request)
        with tiers.serving():
            response = await super().fetch(request)
            await tiers.durable()
        return response

    def routes(self, router: Router) -> None:
        """DOSemantic's routes plus `GET /stats` and `POST /storage/flush`."""
        super().routes(router)
        router.get("/stats", scope="read", query=())(self._http_stats)
        # an operator's lever
        router.post("/storage/flush", scope="admin", query=(), body=False)(self._http_flush)
        router.post("/storage/archive", scope="admin", query=())(self._http_archive)

    # -- RPC ---------------------------------------------------------------

    @rpc(scope="admin")
    def flush(self) -> dict[str, int]:
        """Checkpoint every dirty thing into `things` now: `{"rows_written": n}`. Admin: it
        forces the writes the tiers would coalesce (ADR 0018's scope table)."""
        tiers = self.__dict__.get("tiers")
        written = tiers.flush() if isinstance(tiers, TieredThingStore) else 0
        return {"rows_written": written}

    @rpc(scope="read")
    def stats(self) -> dict[str, Any]:
        """`{"started_at", "rows_read", "rows_written", "tiers"}`: rows read and written through
        the SQL facade since this instance started (the cursors' `rowsRead`/`rowsWritten`,
        what Cloudflare bills), and the tiers' figures (`TieredThingStore.stats`; None when
        an application's `thing_store()` put another store in their place)."""
        tiers = self.__dict__.get("tiers")
        figures = tiers.stats() if isinstance(tiers, TieredThingStore) else None
        if figures is not None:
            archive = self._l3()
            figures["l3"] = archive.stats() if archive is not None else None
        return {
            "started_at": self._started_ms,
            "rows_read": self.sql.rows_read,
            "rows_written": self.sql.rows_written,
            "tiers": figures,
        }

    @rpc(scope="admin")
    async def archive_now(self, before: int | None = None) -> dict[str, int]:
        """Run an archive pass now: every event older than `before` (epoch ms; default the
        class's `archive_options.after_ms` ago) moves to L3. `{"segments", "events",
        "bytes"}` written. 409 `archive_disabled` without an `archive_binding`."""
        archive = self._l3()
        if archive is None:
            raise Conflict(
                f"{type(self).__name__} has no archive: set archive_binding to an R2 bucket binding",
                code="archive_disabled",
            )
        return await archive.run(before)

    @rpc(scope="read")
    async def get_thing_as_of(
        self, type_name: str, thing_id: str, as_of: int, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """DOSemantic's as-of read, reaching into L3 when the thing's history at `as_of` is
        older than the events SQLite still holds (segments newest first; those older than
        the thing's birth, when it exists now and was born by then, are skipped)."""
        self.noun(type_name)
        validate_id(thing_id)
        archive = self._l3()
        if archive is None:
            return await super().get_thing_as_of(type_name, thing_id, as_of, include_deleted)
        from dotdo.storage.archive import thing_as_of

        current = self.things.get(type_name, thing_id, include_deleted=True)
        return await thing_as_of(
            self.event_log, archive, current, type_name, thing_id, as_of, include_deleted
        )

    @rpc(scope="read")
    async def list_events(
        self,
        pattern: str | None = None,
        subject: str | None = None,
        since: int | None = None,
        until: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """DOSemantic's event pages, the archived events (L3) first: every archived id is
        older than every event in SQLite, so a page runs on from the archive into SQLite
        with the same cursor (an event id)."""
        from dotdo.storage.archive import events_page

        return await events_page(
            self.event_log,
            self._l3(),
            pattern,
            subject,
            since,
            until,
            cursor,
            limit,
        )

    @rpc(scope="read")
    def query(self, sql: str, params: Sequence[JSON] | Mapping[str, JSON] | None = None) -> dict[str, Any]:
        """DOSemantic's read-only query, after a full checkpoint: raw SQL may read `things`
        (and `events`) in any way, where no overlay can follow it, so every acknowledged
        write is put there first (ADRs 0019, 0030; lists and counts of things use the
        overlay instead and write nothing). A query the guard refuses is refused first, and
        costs no checkpoint."""
        from dotdo.semantic.sqlguard import validate_sql_query

        validate_sql_query(sql)
        tiers = self.__dict__.get("tiers")
        if isinstance(tiers, TieredThingStore):
            tiers.flush()
        return super().query(sql, params)

    # -- HTTP --------------------------------------------------------------

    async def _http_stats(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.stats())

    async def _http_flush(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.flush())

    async def _http_archive(self, request: HttpRequest) -> HttpResponse:
        body = request.json() if request.has_body else {}
        if isinstance(body, dict):
            check_fields(body, ("before",))
        before = body.get("before") if isinstance(body, dict) else "not an object"
        if before is not None and (
            isinstance(before, bool) or not isinstance(before, int) or int64_error(before)
        ):  # a 64-bit integer, as archive_now's argument on RPC (ADR 0037)
            raise BadRequest(
                'Body is {"before": <epoch milliseconds, a 64-bit integer>} or empty', code="invalid_before"
            )
        return json_response(await self.archive_now(before))


seal_rpc_surface(DOStorage)
