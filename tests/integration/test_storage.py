"""DOStorage (the harness binds it plainly, under /_storage/) through the real runtime:
rows written per update, /stats, /storage/flush, and queries that see unflushed writes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.runtime import LocalRuntime, new_tenant

SELECT_DATA = "SELECT data FROM things WHERE id = ?"


def test_hot_updates_cost_a_log_row_each_and_one_checkpoint_row(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/_storage/Counter", json={"n": 0}).json()
        c.post("/_storage/storage/flush").raise_for_status()
        before = c.get("/_storage/stats").json()
        for n in range(1, 21):
            assert c.patch(f"/_storage/Counter/{thing['$id']}", json={"n": n}).status_code == 200
        after = c.get("/_storage/stats").json()
        assert after["tiers"]["l1"]["rows_pending"] == 20
        assert after["tiers"]["l0"]["dirty"] == 1
        # A query sees the last acknowledged write before any checkpoint ran, and runs none.
        found = c.get("/_storage/Counter", params={"where": '{"n": 20}'}).json()
        assert [t["$id"] for t in found["items"]] == [thing["$id"]]
        flushed = c.post("/_storage/storage/flush").json()
        # The thing's row (its index entries untouched), the events' segment row, the mark.
        assert flushed["rows_written"] == 3
        stats = c.get("/_storage/stats").json()
        assert stats["tiers"]["l1"]["rows_pending"] == 0
        assert stats["rows_read"] >= before["rows_read"]
        assert stats["rows_written"] > before["rows_written"]
        raw = c.post("/_storage/query", json={"sql": SELECT_DATA, "params": [thing["$id"]]})
        assert raw.json()["rows"] == [{"data": '{"n":20}'}]


def test_raw_sql_sees_an_unflushed_write(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/_storage/Counter", json={"n": 7}).json()
        raw = c.post("/_storage/query", json={"sql": SELECT_DATA, "params": [thing["$id"]]})
        assert raw.json()["rows"] == [{"data": '{"n":7}'}]


def test_events_are_read_the_same_before_and_after_a_checkpoint(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/_storage/Counter", json={"n": 0}).json()
        for n in range(1, 4):
            c.patch(f"/_storage/Counter/{thing['$id']}", json={"n": n}).raise_for_status()
        other = c.post("/_storage/Gauge", json={"v": 1}).json()
        stats = c.get("/_storage/stats").json()
        assert stats["tiers"]["l1"]["events_pending"] == 5
        assert stats["tiers"]["l2"]["segments"] == 0

        def reads() -> list[object]:
            by_type = c.get("/_storage/events", params={"type": "Counter.updated", "limit": 2}).json()
            rest = c.get(
                "/_storage/events", params={"type": "Counter.updated", "cursor": by_type["cursor"]}
            ).json()
            by_subject = c.get("/_storage/events", params={"subject": other["$id"]}).json()
            return [by_type, rest, by_subject]

        unflushed = reads()
        assert [e["data"]["n"] for e in unflushed[0]["items"] + unflushed[1]["items"]] == [1, 2, 3]
        assert [e["type"] for e in unflushed[2]["items"]] == ["Gauge.created"]
        # The read-only query reads `events` (a view over the segments) after a checkpoint.
        rows = c.post(
            "/_storage/query",
            json={"sql": "SELECT type, subject, json_extract(data, '$.n') AS n FROM events ORDER BY id"},
        ).json()["rows"]
        assert rows == [
            {"type": "Counter.created", "subject": thing["$id"], "n": 0},
            *({"type": "Counter.updated", "subject": thing["$id"], "n": n} for n in (1, 2, 3)),
            {"type": "Gauge.created", "subject": other["$id"], "n": None},
        ]
        assert c.get("/_storage/stats").json()["tiers"]["l2"]["segments"] == 1
        assert reads() == unflushed


def test_a_hot_key_update_costs_at_most_1_1_rows_checkpoints_included(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        ids = [c.post("/_storage/Counter", json={"n": 0}).json()["$id"] for _ in range(5)]
        c.post("/_storage/storage/flush").raise_for_status()
        before = c.get("/_storage/stats").json()["rows_written"]
        for n in range(150):
            c.patch(f"/_storage/Counter/{ids[n % 5]}", json={"n": n}).raise_for_status()
        c.post("/_storage/storage/flush").raise_for_status()
        # One log row a request (the thing and its event); the checkpoint: each thing's row
        # and the index rows it moves, one segment row for the 150 events, the mark.
        written = c.get("/_storage/stats").json()["rows_written"] - before
        assert written / 150 <= 1.1


def test_a_checkpoint_writes_one_row_for_each_updated_thing(runtime: LocalRuntime) -> None:
    """SQLite's own count: a thing already in `things`, updated, costs the checkpoint its
    row and no index entry (its `type` and `created_at` are matched, not assigned)."""
    with runtime.client() as c:
        c.post("/_storage/Counter", json=[{"$id": f"c{n}", "n": 0} for n in range(40)]).raise_for_status()
        c.post("/_storage/storage/flush").raise_for_status()
        for n in range(40):
            c.patch(f"/_storage/Counter/c{n}", json={"n": 1}).raise_for_status()
        flushed = c.post("/_storage/storage/flush").json()["rows_written"]
        assert flushed <= 40 + 2  # each thing's row, the events' segment row, the mark


def test_unflushed_writes_and_events_are_replayed_after_a_restart(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        thing = c.post("/_storage/Counter", json={"n": 1}).json()
        c.patch(f"/_storage/Counter/{thing['$id']}", json={"n": 2}).raise_for_status()
        events = c.get("/_storage/events").json()
    runtime.restart()
    with runtime.client(tenant) as c:
        assert c.get(f"/_storage/Counter/{thing['$id']}").json()["n"] == 2
        assert c.get("/_storage/events").json() == events
        rows = c.post("/_storage/query", json={"sql": "SELECT count(*) AS n FROM events"}).json()["rows"]
        assert rows == [{"n": 2}]


def test_concurrent_updates_are_all_acknowledged_durable_at_no_more_rows(runtime: LocalRuntime) -> None:
    tenant = new_tenant()

    async def load() -> list[Any]:
        async with runtime.async_client(tenant) as c:
            thing = (await c.post("/_storage/Counter", json={"n": 0})).json()
            await c.post("/_storage/storage/flush")
            before = (await c.get("/_storage/stats")).json()
            for wave in range(5):
                answers = await asyncio.gather(
                    *(c.patch(f"/_storage/Counter/{thing['$id']}", json={f"k{i}": wave}) for i in range(8))
                )
                assert [a.status_code for a in answers] == [200] * 8
            after = (await c.get("/_storage/stats")).json()
            appended = [s["tiers"]["l1"]["rows_appended"] for s in (before, after)]
            return [*appended, thing["$id"]]

    first, last, thing_id = asyncio.run(load())
    assert last - first <= 40  # one row per request at most; fewer when requests share a turn
    runtime.restart()
    with runtime.client(tenant) as c:
        thing = c.get(f"/_storage/Counter/{thing_id}").json()
        assert {k: thing[k] for k in (f"k{i}" for i in range(8))} == {f"k{i}": 4 for i in range(8)}
        assert thing["$version"] == 41
        events = c.get("/_storage/events", params={"type": "Counter.updated", "limit": 100}).json()
        assert len(events["items"]) == 40


def test_concurrent_strict_patches_share_one_log_row_while_a_sibling_is_in_the_object(
    runtime: LocalRuntime,
) -> None:
    """The commit delay with siblings (ADR 0029): a request held in the object keeps the
    group of 8 concurrent PATCHes open until it answers; then one log row holds them all.
    The delay is raised for this object only, so the test never races its timer; the
    figures are read by Workers RPC, which does not wait for the group as a request does."""
    tenant = new_tenant()

    async def load() -> tuple[dict[str, Any], dict[str, Any], list[int]]:
        async with runtime.async_client(tenant) as c:

            async def figures() -> dict[str, Any]:
                body = {"binding": "TIERED", "name": tenant, "method": "stats", "params": []}
                answer = (await c.post("/_harness/rpc", json=body)).json()
                return dict(answer["result"]["tiers"]["l1"])

            async def until(condition: str, check: Any) -> dict[str, Any]:
                deadline = time.monotonic() + 60
                while not check(current := await figures()):
                    assert time.monotonic() < deadline, f"never: {condition}"
                    await asyncio.sleep(0.05)
                return current

            thing = (await c.post("/_tiered/Counter", json={"n": 0})).json()
            (await c.post("/_tiered/_bench/commit_delay", json={"ms": 600_000})).raise_for_status()
            hold = asyncio.create_task(c.post("/_tiered/_bench/hold", timeout=120))
            before = await until("the held request is in the object", lambda f: f["requests"] == 1)
            path = f"/_tiered/Counter/{thing['$id']}"
            patches = [asyncio.create_task(c.patch(path, json={f"k{i}": i}, timeout=120)) for i in range(8)]
            await until("the 8 writes wait in one group", lambda f: f["group_writes"] == 8)
            (await c.post("/_tiered/_bench/release")).raise_for_status()
            answers = await asyncio.gather(*patches, hold)
            after = await figures()
            return before, after, [a.status_code for a in answers]

    before, after, statuses = asyncio.run(load())
    assert statuses == [200] * 9
    assert after["rows_appended"] - before["rows_appended"] == 1
    assert after["groups_logged"] - before["groups_logged"] == 1
    assert after["group_writes_logged"] - before["group_writes_logged"] == 8
    assert after["groups_delayed"] - before["groups_delayed"] == 1
    assert after["group_delays_expired"] == before["group_delays_expired"]
    runtime.restart()
    with runtime.client(tenant) as c:
        thing = c.get("/_tiered/Counter", params={"limit": 1}).json()["items"][0]
        assert {k: thing[k] for k in (f"k{i}" for i in range(8))} == {f"k{i}": i for i in range(8)}


def test_relaxed_writes_are_acknowledged_at_once_and_logged_within_the_window(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        thing = c.post("/_relaxed/Counter", json={"n": 0}).json()
        c.post("/_relaxed/storage/flush").raise_for_status()
        before = c.get("/_relaxed/stats").json()
        assert c.patch(f"/_relaxed/Counter/{thing['$id']}", json={"n": 1}).status_code == 200
        held = c.get("/_relaxed/stats").json()
        assert held["tiers"]["l1"]["group_writes"] == 1
        assert held["rows_written"] == before["rows_written"]  # acknowledged before any row
        assert c.get(f"/_relaxed/Counter/{thing['$id']}").json()["n"] == 1
        # The timer service logs the group within relaxed_flush_ms (10 s): poll, never sleep blind.
        deadline = time.monotonic() + 60
        while c.get("/_relaxed/stats").json()["tiers"]["l1"]["group_writes"]:
            assert time.monotonic() < deadline, "the relaxed window was never logged"
            time.sleep(0.2)
        assert c.get("/_relaxed/stats").json()["tiers"]["l1"]["rows_pending"] >= 1
    runtime.restart()
    with runtime.client(tenant) as c:
        assert c.get(f"/_relaxed/Counter/{thing['$id']}").json()["n"] == 1


def test_a_query_reads_unflushed_writes_and_checkpoints_nothing(runtime: LocalRuntime) -> None:
    for prefix in ("/_storage", "/_relaxed"):
        with runtime.client() as c:
            ids = [c.post(f"{prefix}/Counter", json={"n": n, "g": n % 2}).json()["$id"] for n in range(4)]
            c.post(f"{prefix}/storage/flush").raise_for_status()
            c.patch(f"{prefix}/Counter/{ids[0]}", json={"n": 10}).raise_for_status()
            c.patch(f"{prefix}/Counter/{ids[1]}", json={"g": 0}).raise_for_status()
            c.delete(f"{prefix}/Counter/{ids[2]}", params={"hard": "true"}).raise_for_status()
            new = c.post(f"{prefix}/Counter", json={"n": 5, "g": 0}).json()["$id"]
            before = c.get(f"{prefix}/stats").json()
            assert before["tiers"]["l0"]["dirty"] == 4
            params = {"where": '{"g": 0}', "order_by": "-n", "limit": 2, "total": "exact"}
            found = c.get(f"{prefix}/Counter", params=params).json()
            assert [t["$id"] for t in found["items"]] == [ids[0], new], prefix
            assert (found["total"], found["has_more"]) == (3, True)
            after = c.get(f"{prefix}/stats").json()
            assert after["tiers"]["l2"]["checkpoints"] == before["tiers"]["l2"]["checkpoints"], prefix
            assert after["tiers"]["l2"]["query_checkpoints"] == 0
            assert after["tiers"]["l2"]["overlaid_queries"] >= 2  # the page and the count
            assert after["tiers"]["l0"]["dirty"] == 4
            if prefix == "/_storage":  # strict: nothing is left to log, so the query wrote nothing
                assert after["rows_written"] == before["rows_written"]


def test_operations_in_a_plain_transaction_that_fails_are_undone_whole(runtime: LocalRuntime) -> None:
    """Each operation is a transaction of the tiers joined into the plain one: undone last
    first, the thing is as before all of them, in L0 and in `things` after the checkpoint."""
    with runtime.client() as c:
        thing = c.post("/_tiered/Counter", json={"n": 1}).json()
        answer = c.post("/_tiered/_bench/rolled_back", json={"type": "Counter", "id": thing["$id"]})
        assert answer.status_code == 200
        got = c.get(f"/_tiered/Counter/{thing['$id']}").json()
        assert (got["n"], got["$version"]) == (1, 1)
        assert c.get(f"/_tiered/Counter/{thing['$id']}-ghost").status_code == 404
        stats = c.get("/_tiered/stats").json()["tiers"]
        assert (stats["l0"]["dirty"], stats["l2"]["next_checkpoint_at"]) == (0, None)
