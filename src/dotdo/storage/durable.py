"""DOStorage: DOSemantic with its things on tiers (ADR 0019).

Things live in memory (L0), every write is one row of a write-ahead log (L1) in the
transaction of its event, and dirty things reach `things` (L2) in lazy checkpoints that
write each thing once however often it changed. Strict durability: nothing is
acknowledged before its log row is committed.

    class App(DOStorage):
        storage_options = TierOptions(checkpoint_delay_ms=10_000)

`POST /storage/flush` (RPC `flush()`) checkpoints now; `GET /stats` (RPC `stats()`)
gives the rows read and written since the object started and the tiers' figures.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from dotdo.core.http import HttpRequest, HttpResponse, json_response
from dotdo.core.migrations import Component
from dotdo.core.namespace import Layer
from dotdo.core.router import Router
from dotdo.remote.marks import rpc, seal_rpc_surface
from dotdo.semantic.durable import DOSemantic
from dotdo.semantic.graph import EventLog
from dotdo.semantic.ids import new_id
from dotdo.semantic.store import ThingStore
from dotdo.storage.commit import STRICT, acknowledging_after_commit
from dotdo.storage.events import TieredEventLog
from dotdo.storage.log import STORAGE_TABLES
from dotdo.storage.tiers import TieredThingStore, TierOptions
from dotdo.types import JSON

__all__ = ["DOStorage"]


class DOStorage(DOSemantic):
    """DOSemantic with things on L0 (memory), L1 (write-ahead log), L2 (`things`)."""

    storage_options: ClassVar[TierOptions] = TierOptions()
    """The tiers' bounds and the checkpoint delay (`TierOptions`, documented defaults)."""

    _dotdo_layer: ClassVar[Layer] = Layer.of(attributes=("tiers",))

    def __init__(self, ctx: Any, env: Any) -> None:
        """Made by the runtime with `ctx` (the DurableObjectState) and `env` (the bindings); registers the
        tiers with the timer service as the source "checkpoints"."""
        self._started_ms = int(time.time() * 1000)
        super().__init__(ctx, env)
        tiers = self.__dict__.get("tiers")
        if isinstance(tiers, TieredThingStore):
            self.timers.register("checkpoints", tiers)

    # -- hooks -------------------------------------------------------------

    def migrations(self) -> builtins.list[Component]:
        """DOSemantic's components plus `storage` (`dotdo_storage_log`, `dotdo_storage_mark`,
        `dotdo_event_segments` and the `events` view over it)."""
        return [*super().migrations(), STORAGE_TABLES]

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

        self.tiers = TieredThingStore(self.sql, timers.now, self.storage_options, wake_changed)
        return self.tiers

    async def fetch(self, request: Any) -> Any:
        """DOSemantic's `fetch`; in strict mode the response waits until the writes made so
        far (this request's among them) are in the log, so concurrent requests' writes share
        one row (group commit, ADR 0023)."""
        tiers = self.__dict__.get("tiers")
        if not isinstance(tiers, TieredThingStore) or tiers.options.durability != STRICT:
            return await super().fetch(request)
        with acknowledging_after_commit():
            response = await super().fetch(request)
        await tiers.durable()
        return response

    def routes(self, router: Router) -> None:
        """DOSemantic's routes plus `GET /stats` and `POST /storage/flush`."""
        super().routes(router)
        router.get("/stats", scope="read")(self._http_stats)
        router.post("/storage/flush", scope="admin")(self._http_flush)  # an operator's lever

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
        return {
            "started_at": self._started_ms,
            "rows_read": self.sql.rows_read,
            "rows_written": self.sql.rows_written,
            "tiers": tiers.stats() if isinstance(tiers, TieredThingStore) else None,
        }

    @rpc(scope="read")
    def query(self, sql: str, params: Sequence[JSON] | None = None) -> dict[str, Any]:
        """DOSemantic's read-only query, after a checkpoint: raw SQL reads `things` itself,
        so every acknowledged write is there first (flush-before-query, ADR 0019)."""
        tiers = self.__dict__.get("tiers")
        if isinstance(tiers, TieredThingStore):
            tiers.flush()
        return super().query(sql, params)

    # -- HTTP --------------------------------------------------------------

    async def _http_stats(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.stats())

    async def _http_flush(self, request: HttpRequest) -> HttpResponse:
        return json_response(self.flush())


seal_rpc_surface(DOStorage)
