"""A read-only query whose work the text multiplies is refused before it runs, through the
runtime: the object answers at once and goes on answering (ADR 0055)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.runtime import LocalRuntime

THINGS = 2000
"""A 3-way cross join of them is 8 * 10^9 rows: about 12 minutes of the local runtime's CPU
(8 * 10^6 rows took 0.76 s), past Cloudflare's default 30 s a request."""


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def test_a_query_past_the_cost_rules_is_refused_and_the_object_keeps_answering(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for batch in range(THINGS // 500):
            created = c.post("/Customer", json=[{"$id": f"c{batch}-{i}", "n": i} for i in range(500)])
            assert created.status_code == 201, created.text[:300]
        # The client gives up after 30 s: the query, had it run, would still be running.
        three = c.post("/query", json={"sql": "SELECT count(*) AS n FROM things a, things b, things c"})
        assert (three.status_code, error(three)["code"]) == (400, "query_too_costly"), three.text[:300]
        assert "at most 2 row sources" in error(three)["message"]
        for sql in [
            "SELECT length(randomblob(1000000)) AS n FROM things",
            "SELECT length(printf('%.*c', 100000, 'x')) AS n FROM things",
            "SELECT count(*) AS n FROM things a JOIN things b ON 1 WHERE a.id IN things",
            # a parenthesised join list: 27.8 s for a ninth of this join before
            "SELECT count(*) AS n FROM (things a, things b), things c",
        ]:
            refused = c.post("/query", json={"sql": sql})
            assert (refused.status_code, error(refused)["code"]) == (400, "query_too_costly"), sql
        by_rpc = c.post("/rpc", json={"method": "query", "params": ["SELECT zeroblob(10) AS z"]})
        assert (by_rpc.status_code, error(by_rpc)["code"]) == (400, "query_too_costly")
        # Two sources stay admitted (4 * 10^6 pairs here), and a refused query's plan is answered.
        pairs = c.post("/query", json={"sql": "SELECT count(*) AS n FROM things a, things b"})
        assert pairs.json() == {"rows": [{"n": THINGS * THINGS}], "truncated": False}
        three_plan = "EXPLAIN QUERY PLAN SELECT count(*) FROM things a, things b, things c"
        plan = c.post("/query", json={"sql": three_plan})
        assert plan.status_code == 200 and len(plan.json()["rows"]) >= 3, plan.text[:300]
        # A named parameter in SQLite's Tcl form hid the join inside what read as quotes.
        hidden = 'SELECT @a("x) AS v, (SELECT count(*) FROM things p, things q, things r) AS "w", @b("z) AS u'
        smuggled = c.post("/query", json={"sql": hidden, "params": ["1", "2"]})
        assert (smuggled.status_code, error(smuggled)["code"]) == (400, "invalid_sql"), smuggled.text[:300]
        formatted = c.post("/query", json={"sql": "SELECT printf('%.2f', 1.5) AS s"})
        assert formatted.json()["rows"] == [{"s": "1.50"}]


def test_a_refused_query_costs_dostorage_no_checkpoint(runtime: LocalRuntime) -> None:
    # DOStorage checkpoints every acknowledged write before a query reads SQL; one the guard
    # refuses used to pay for that checkpoint first.
    with runtime.client() as c:
        c.post("/_storage/Counter", json={"n": 1}).raise_for_status()
        pending = c.get("/_storage/stats").json()["tiers"]["l1"]["rows_pending"]
        assert pending > 0
        for sql in ["SELECT count(*) FROM things a, things b, things c", "SELECT * FROM dotdo_nouns"]:
            refused = c.post("/_storage/query", json={"sql": sql})
            assert refused.status_code == 400 and error(refused)["code"] in (
                "query_too_costly",
                "invalid_sql",
            )
            assert c.get("/_storage/stats").json()["tiers"]["l1"]["rows_pending"] == pending
        assert c.post("/_storage/query", json={"sql": "SELECT count(*) AS n FROM things"}).json()["rows"] == [
            {"n": 1}
        ]
        assert c.get("/_storage/stats").json()["tiers"]["l1"]["rows_pending"] == 0
