"""L3 through the real runtime: the harness's `[[r2_buckets]]` binding is a local R2 bucket
kept with the state, and a DOStorage with `archive_binding` (HarnessArchive, under
/_archive/) moves its events there; as-of reads and event pages then answer from the bucket,
across a restart, exactly as they did from SQLite."""

from __future__ import annotations

from typing import Any

from tests.runtime import LocalRuntime, new_tenant

FAR = 2**50  # epoch ms far in the future: "archive everything sealed so far"


def all_events(c: Any, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = c.get("/_archive/events", params=query)
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["cursor"]
        if cursor is None:
            return items


def test_the_r2_binding_is_a_local_bucket_that_keeps_its_objects_across_a_restart(
    runtime: LocalRuntime,
) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        assert c.put("/_archive/r2/greeting", content=b"hello from R2").status_code == 200
        assert c.get("/_archive/r2/greeting").text == "hello from R2"
        assert c.get("/_archive/r2/nothing").status_code == 404
    runtime.restart()
    with runtime.client(tenant) as c:
        assert c.get("/_archive/r2/greeting").text == "hello from R2"


def test_archived_history_answers_as_of_reads_and_event_ranges_after_a_restart(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        versions = [c.post("/_archive/Counter", json={"n": 0}).json()]
        thing_id = versions[0]["$id"]
        for n in range(1, 8):
            versions.append(c.patch(f"/_archive/Counter/{thing_id}", json={"n": n}).json())
        c.post("/_archive/Counter", json={"other": True}).raise_for_status()
        before = all_events(c)
        assert len(before) == 9

        # Whole sealed event segments move (4 events each here); the open one stays.
        c.post("/_archive/storage/flush").raise_for_status()
        done = c.post("/_archive/storage/archive", json={"before": FAR}).json()
        assert done["events"] == 8 and done["segments"] == 2
        left = c.post("/_archive/query", json={"sql": "SELECT count(*) AS n FROM events"}).json()
        assert left["rows"] == [{"n": 1}]
        l3 = c.get("/_archive/stats").json()["tiers"]["l3"]
        assert l3["segments"] == 2 and l3["events"] == 8 and l3["bytes"] > 0
        assert l3["last_archived_at"] is not None

        # A write after the archive lands in SQLite; pages run from R2 into it.
        versions.append(c.patch(f"/_archive/Counter/{thing_id}", json={"n": 8}).json())
        after = all_events(c, limit=4)
        assert [e["id"] for e in after[:9]] == [e["id"] for e in before]
        assert after[:9] == before and len(after) == 10

    runtime.restart()
    with runtime.client(tenant) as c:
        assert all_events(c, limit=3) == after
        for version in versions:
            got = c.get(f"/_archive/Counter/{thing_id}", params={"as_of": version["$updated_at"]})
            assert got.status_code == 200, got.text
            assert got.json() == version
            assert got.headers["etag"] == f'"{version["$version"]}.{version["$created_at"]}"'
        # RPC answers the same (the Python client's `get(as_of=)` and `events()` call these).
        rpc = c.post(
            "/_archive/rpc",
            json={"method": "get_thing_as_of", "params": ["Counter", thing_id, versions[3]["$updated_at"]]},
        )
        assert rpc.json()["result"] == versions[3]
        rpc = c.post(
            "/_archive/rpc", json={"method": "list_events", "params": [None, thing_id, None, None, None, 4]}
        )
        assert rpc.json()["result"]["items"] == [e for e in after if e["subject"] == thing_id][:4]
        missing = c.get(f"/_archive/Counter/{thing_id}", params={"as_of": versions[0]["$created_at"] - 1})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "thing_not_found"
        # since/until (ms, until exclusive) reach archived events.
        since, until = versions[2]["$updated_at"], versions[5]["$updated_at"]
        ranged = all_events(c, since=since, until=until, subject=thing_id)
        assert ranged == [e for e in after if since <= e["timestamp"] < until and e["subject"] == thing_id]
        assert ranged


def test_as_of_and_event_ranges_refuse_bad_values(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/_archive/Counter", json={"n": 1}).json()
        for value in ("", "soon", "1.5", "-", str(2**63)):
            got = c.get(f"/_archive/Counter/{thing['$id']}", params={"as_of": value})
            assert got.status_code == 400 and got.json()["error"]["code"] == "invalid_as_of", value
        got = c.get("/_archive/events", params={"until": "tomorrow"})
        assert got.status_code == 400 and got.json()["error"]["code"] == "invalid_until"
        for before in ("now", 2**63, -(2**63) - 1):  # a 64-bit integer, as on RPC (ADR 0037)
            got = c.post("/_archive/storage/archive", json={"before": before})
            assert got.status_code == 400 and got.json()["error"]["code"] == "invalid_before", before
        got = c.post("/_storage/storage/archive")
        assert got.status_code == 409 and got.json()["error"]["code"] == "archive_disabled"
        # Before the archive and without one, as-of reads come from SQLite's events.
        plain = c.post("/_storage/Counter", json={"n": 1}).json()
        c.patch(f"/_storage/Counter/{plain['$id']}", json={"n": 2}).raise_for_status()
        got = c.get(f"/_storage/Counter/{plain['$id']}", params={"as_of": plain["$updated_at"]})
        assert got.json() == plain


def test_the_timer_archives_sealed_segments_once_they_are_old_enough(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for n in range(5):
            c.post("/_archive/Counter", json={"n": n}).raise_for_status()
        c.post("/_archive/storage/flush").raise_for_status()  # 4 events sealed, 1 open
        l3 = c.get("/_archive/stats").json()["tiers"]["l3"]
        assert l3["segments"] == 0 and l3["next_archive_at"] is not None
        early = c.post("/_archive/_test/alarm", json={"now": l3["next_archive_at"] - 1}).json()
        assert early["archive"] == 0
        due = c.post("/_archive/_test/alarm", json={"now": l3["next_archive_at"]}).json()
        assert due["archive"] == 1
        l3 = c.get("/_archive/stats").json()["tiers"]["l3"]
        assert l3["segments"] == 1 and l3["events"] == 4
        assert len(all_events(c)) == 5
