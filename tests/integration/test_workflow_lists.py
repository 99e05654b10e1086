"""Workflow runs and delayed sends are listed a page at a time (`GET /workflows`,
`list_workflows`, `GET /events/scheduled`, `scheduled_sends`): before, `GET /workflows` was a
404 and a delayed send appeared nowhere until the alarm sent it."""

from __future__ import annotations

import time

from tests.runtime import LocalRuntime, new_tenant


def test_runs_are_paged_by_id_and_filtered_by_status_and_name(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        done = c.post("/_workflow/workflows/checkout", json={"input": {"id": "o-1"}, "id": "a-done"}).json()
        assert done["status"] == "completed"
        spec = {"input": {"fail_times": 2, "limit": 3}, "id": "b-waiting"}
        assert c.post("/_workflow/workflows/flaky_flow", json=spec).json()["status"] == "waiting"
        every = c.get("/_workflow/workflows").json()
        assert [(run["id"], run["status"]) for run in every["items"]] == [
            ("a-done", "completed"),
            ("b-waiting", "waiting"),
        ]
        assert "result" not in every["items"][0] and every["has_more"] is False
        waiting = c.get("/_workflow/workflows", params={"status": "waiting"}).json()["items"]
        assert [run["id"] for run in waiting] == ["b-waiting"] and waiting[0]["next_at"] > 0
        by_name = c.post("/_workflow/rpc", json={"method": "list_workflows", "params": {"name": "checkout"}})
        assert [run["id"] for run in by_name.json()["result"]["items"]] == ["a-done"]
        first = c.get("/_workflow/workflows", params={"limit": 1}).json()
        assert [run["id"] for run in first["items"]] == ["a-done"] and first["has_more"]
        second = c.get("/_workflow/workflows", params={"limit": 1, "cursor": first["cursor"]}).json()
        assert [run["id"] for run in second["items"]] == ["b-waiting"] and second["cursor"] is None
        for params, status, code in (
            ({"status": "paused"}, 400, "invalid_status"),
            ({"name": "nope"}, 404, "workflow_not_found"),
            ({"limit": 0}, 400, "invalid_limit"),
            ({"cursor": "a/b"}, 400, "invalid_cursor"),
            ({"cursor": "zzz"}, 400, "invalid_cursor"),  # an id's shape, but no run's
        ):
            refused = c.get("/_workflow/workflows", params=params)
            assert (refused.status_code, refused.json()["error"]["code"]) == (status, code), params


def test_delayed_sends_are_listed_until_they_are_sent(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        before = int(time.time() * 1000)
        sent = c.post("/_workflow/events", json={"type": "Reminder.due", "data": {"n": 1}, "delay": 3600})
        assert sent.status_code == 201 and sent.json()["scheduled"] is True
        page = c.get("/_workflow/events/scheduled").json()
        assert [send["id"] for send in page["items"]] == [sent.json()["id"]]
        item = page["items"][0]
        assert (item["type"], item["data"], item["subject"]) == ("Reminder.due", {"n": 1}, None)
        assert before + 3_600_000 <= item["due_at"] <= int(time.time() * 1000) + 3_600_000
        rpc = c.post("/_workflow/rpc", json={"method": "scheduled_sends", "params": [10]}).json()
        assert rpc["result"] == page
        ran = c.post("/_workflow/_test/alarm", json={"now": item["due_at"]}).json()
        assert ran["sends"] == 1
        assert c.get("/_workflow/events/scheduled").json() == {"items": [], "has_more": False, "cursor": None}
        bad = c.get("/_workflow/events/scheduled", params={"cursor": "nope"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_cursor")


def test_delayed_sends_are_listed_next_due_first_and_can_be_cancelled(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        later = c.post("/_workflow/events", json={"type": "Reminder.due", "delay": 7200}).json()["id"]
        sooner = c.post("/_workflow/events", json={"type": "Reminder.due", "delay": 60}).json()["id"]
        first = c.get("/_workflow/events/scheduled", params={"limit": 1}).json()
        assert [send["id"] for send in first["items"]] == [sooner] and first["has_more"]
        second = c.get("/_workflow/events/scheduled", params={"limit": 1, "cursor": first["cursor"]}).json()
        assert [send["id"] for send in second["items"]] == [later] and second["cursor"] is None
        cancelled = c.delete(f"/_workflow/events/scheduled/{sooner.upper()}")  # an id in any case
        assert cancelled.json() == {"id": sooner.upper(), "cancelled": True}
        again = c.delete(f"/_workflow/events/scheduled/{sooner}")
        assert (again.status_code, again.json()["error"]["code"]) == (404, "scheduled_send_not_found")
        assert c.post("/_workflow/rpc", json={"method": "cancel_send", "params": [later]}).json() == {
            "result": True
        }
        assert c.get("/_workflow/events/scheduled").json()["items"] == []
        ran = c.post("/_workflow/_test/alarm", json={"now": int(time.time() * 1000) + 3 * 3_600_000}).json()
        assert ran["sends"] == 0  # neither was sent
