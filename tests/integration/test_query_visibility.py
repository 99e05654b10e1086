"""The read-only query sees the document's tables and the app's own, never dotdo's plumbing,
Cloudflare's or SQLite's tables; every component's tables sit on their own version track."""

from __future__ import annotations

from typing import Any

import httpx

from tests.runtime import LocalRuntime

HIDDEN = [
    "SELECT * FROM dotdo_nouns",
    'SELECT * FROM "DOTDO_NOUNS"',
    "SELECT * FROM main.dotdo_relationships",
    "SELECT * FROM things JOIN [dotdo_actions] ON 1",
    "SELECT 1 WHERE 'Person' IN 'dotdo_nouns'",
    "SELECT * FROM dotdo_schema",
    "SELECT * FROM dotdo_alarm",
    "SELECT * FROM dotdo_deliveries",
    "SELECT value FROM dotdo_sockets",  # sockets' capability tokens
    "SELECT * FROM _dotdo_schema",
    "SELECT * FROM _cf_KV",
    "SELECT name FROM sqlite_master",
    "SELECT name FROM pragma_table_list",
]


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def test_plumbing_is_refused_and_the_documents_tables_are_read(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.post("/Customer", json={"$id": "ada", "name": "Ada"}).status_code == 201
        assert c.post("/nouns", json={"name": "Person", "plural": "People"}).status_code == 201
        for sql in HIDDEN:
            refused = c.post("/query", json={"sql": sql})
            assert (refused.status_code, error(refused)["code"]) == (400, "invalid_sql"), sql
            assert "is internal and not readable through query" in error(refused)["message"]
        named = error(c.post("/query", json={"sql": "SELECT * FROM dotdo_nouns"}))["message"]
        assert named.startswith("'dotdo_nouns' is internal")
        by_rpc = c.post("/rpc", json={"method": "query", "params": ["SELECT * FROM dotdo_verbs"]})
        assert (by_rpc.status_code, error(by_rpc)["code"]) == (400, "invalid_sql")
        things = c.post("/query", json={"sql": "SELECT id, type FROM things"})
        assert things.json() == {"rows": [{"id": "ada", "type": "Customer"}], "truncated": False}
        for table in ("state", "events", "schedules", "action_log"):
            assert c.post("/query", json={"sql": f"SELECT count(*) FROM {table}"}).status_code == 200, table
        assert c.get("/nouns").json()["items"][0]["plural"] == "People"  # the renamed table works


def test_an_apps_own_table_is_read_and_every_component_has_its_track(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        notes = c.post("/_semantic/query", json={"sql": "SELECT id, body FROM notes"})
        assert notes.json() == {"rows": [{"id": 1, "body": "written once, by version 2"}], "truncated": False}

        def raw(sql: str) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = c.post(
                "/_semantic/rpc", json={"method": "raw_rows", "params": [sql]}
            ).json()["result"]
            return rows

        tracks = {row["component"]: row["version"] for row in raw("SELECT * FROM dotdo_schema")}
        assert tracks == {
            "core": 2,
            "alarm": 1,
            "sockets": 1,
            "identity": 1,
            "things": 2,
            "registry": 2,
            "graph": 3,
            "harness_notes": 2,
        }
        names = {row["name"] for row in raw("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {
            "dotdo_nouns",
            "dotdo_verbs",
            "dotdo_relationships",
            "dotdo_actions",
            "dotdo_alarm",
            "dotdo_sockets",
            "notes",
        } <= names
        assert not {"nouns", "verbs", "relationships", "actions", "_dotdo_schema"} & names


def test_explain_query_plan_shows_the_index_a_select_uses(runtime: LocalRuntime) -> None:
    # A user could not see that a declared index serves a query: EXPLAIN was refused.
    with runtime.client() as c:
        registered = c.post("/nouns", json={"name": "Widget", "indexes": ["sku"]})
        assert registered.status_code == 201, registered.text
        assert c.post("/Widget", json={"$id": "w1", "sku": "A-1"}).status_code == 201
        select = "SELECT id FROM things WHERE type = ? AND json_extract(data, '$.sku') = ?"
        plan = c.post("/query", json={"sql": f"EXPLAIN QUERY PLAN {select}", "params": ["Widget", "A-1"]})
        assert plan.status_code == 200, plan.text
        assert any("things_Widget_sku" in row["detail"] for row in plan.json()["rows"]), plan.json()
        assert c.post("/query", json={"sql": select, "params": ["Widget", "A-1"]}).json()["rows"] == [
            {"id": "w1"}
        ]
        bytecode = c.post("/query", json={"sql": "EXPLAIN SELECT 1"})
        assert (bytecode.status_code, error(bytecode)["code"]) == (400, "invalid_sql")
