"""DOStorage (the harness binds it plainly, under /_storage/) through the real runtime:
rows written per update, /stats, /storage/flush, and queries that see unflushed writes."""

from __future__ import annotations

from tests.runtime import LocalRuntime

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
        # A query sees the last acknowledged write before any checkpoint ran on its own.
        found = c.get("/_storage/Counter", params={"where": '{"n": 20}'}).json()
        assert [t["$id"] for t in found["items"]] == [thing["$id"]]
        flushed = c.post("/_storage/storage/flush").json()
        assert flushed["rows_written"] <= 1
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
