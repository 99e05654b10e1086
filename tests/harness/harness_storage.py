"""The classes bench/storage_rows.py and bench/storage_crash.py measure: DOStorage and the
direct path it replaces (a plain DOSemantic), with nothing declared, so that every row
either writes is the framework's.

    HarnessDirect   DOSemantic (things straight into `things`), with DOStorage's
                    `stats()` / `GET /stats` counters (the SQL facade's own rowsRead /
                    rowsWritten since the instance started): both sides count alike
    HarnessTiered   DOStorage, strict durability, its default options
    HarnessRelaxed  DOStorage in relaxed durability: acknowledged at once, logged every
                    10 s or 1,000 writes (what `tests/integration/test_storage.py` checks
                    through the real runtime)

All three serve `POST /_bench/batch {"type": T, "updates": [{"id", "patch"}, ...]}`: every
update in one `things.transaction` (one request, one SQLite transaction; on DOStorage one
log row), answering `{"versions": [...]}`; with `"state": {"key", "value"}` it also sets
that state key in the same transaction (a write with another table, which DOStorage logs
at once instead of in a request group). HarnessTiered also serves `GET /_bench/log`:
`{"last_seq"}`, the newest log row's sequence number; `POST /_bench/hold`, a request that
stays in the object (a sibling of every group opened meanwhile) until `POST
/_bench/release`; `POST /_bench/commit_delay {"ms"}`, which sets this instance's commit
delay past `TierOptions`' bound (a test that must not race the delay's timer); and `POST
/_bench/rolled_back {"type", "id"}`: two updates of that thing (`n` 2 then 3) and a
create of `<id>-ghost`, each a transaction of the tiers, joined into one plain SQL
transaction that then fails, and a full checkpoint after it (`{"flushed"}`, its rows).
"""

import asyncio
import contextlib

from harness_lifetime import Lifetime

from dotdo import DOSemantic, DOStorage, TierOptions, json_response, rpc


class BatchRoute:
    """Mixed in before a DOSemantic subclass: `POST /_bench/batch` (see the module docstring)."""

    request_rate_limit = 1_000_000  # a benchmark sends thousands of requests in seconds

    def routes(self, router):
        super().routes(router)
        router.post("/_bench/batch", scope="write")(self._bench_batch)

    async def _bench_batch(self, request):
        body = request.json()
        type_name, updates = body["type"], body["updates"]

        def work():
            if "state" in body:  # a row of another table in the same transaction
                self.state.set(body["state"]["key"], body["state"]["value"])
            return [self.things.update(type_name, item["id"], item["patch"]) for item in updates]

        things = self.things.transaction(work)
        return json_response({"versions": [thing["$version"] for thing in things]})


class HarnessDirect(BatchRoute, Lifetime, DOSemantic):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self._started_ms = self._built_at * 1000

    def routes(self, router):
        super().routes(router)
        router.get("/stats", scope="read")(self._bench_stats)

    @rpc(scope="read")
    def stats(self) -> dict:
        """DOStorage's `stats()` without tiers: `{"started_at", "rows_read", "rows_written", "tiers"}`."""
        return {
            "started_at": self._started_ms,
            "rows_read": self.sql.rows_read,
            "rows_written": self.sql.rows_written,
            "tiers": None,
        }

    async def _bench_stats(self, request):
        return json_response(self.stats())


class HarnessTiered(BatchRoute, Lifetime, DOStorage):
    def routes(self, router):
        super().routes(router)
        router.get("/_bench/log", scope="read")(self._bench_log)
        router.post("/_bench/hold", scope="write")(self._bench_hold)
        router.post("/_bench/release", scope="write")(self._bench_release)
        router.post("/_bench/commit_delay", scope="admin")(self._bench_commit_delay)
        router.post("/_bench/rolled_back", scope="write")(self._bench_rolled_back)

    async def _bench_rolled_back(self, request):
        type_name, thing_id = request.json()["type"], request.json()["id"]

        def work():
            self.things.update(type_name, thing_id, {"n": 2})
            self.things.update(type_name, thing_id, {"n": 3})
            self.things.create(type_name, {"$id": f"{thing_id}-ghost"})
            raise KeyError("abort")

        with contextlib.suppress(KeyError):
            self.sql.transaction(work)
        return json_response({"flushed": self.tiers.flush()})

    async def _bench_hold(self, request):
        held = self.__dict__.setdefault("_held", [])
        future = asyncio.get_running_loop().create_future()
        held.append(future)
        await future
        return json_response({"held": True})

    async def _bench_release(self, request):
        held = self.__dict__.get("_held", [])
        released = len(held)
        for future in held:
            future.set_result(None)
        held.clear()
        return json_response({"released": released})

    async def _bench_commit_delay(self, request):
        self.tiers._groups.delay_ms = int(request.json()["ms"])
        return json_response({"ms": self.tiers._groups.delay_ms})

    async def _bench_log(self, request):
        """`{"last_seq"}`: the sequence number of the newest log row (the next write's is
        one more: what a crash script arms `storage_logged:<seq>` with)."""
        return json_response({"last_seq": self.tiers.log.last_seq})


class HarnessRelaxed(BatchRoute, DOStorage):
    storage_options = TierOptions(durability="relaxed", relaxed_flush_ms=10_000, relaxed_max_writes=1_000)
