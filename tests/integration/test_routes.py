"""Route precedence through the runtime (ADR 0011): an app's routes against the
framework's catch-alls, on HarnessWorkflow (all three layers' routes)."""

from __future__ import annotations

from tests.runtime import LocalRuntime


def test_app_routes_win_over_the_framework_catch_alls(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.post("/_workflow/Customer", json={"$id": "abc", "name": "Ada"}).status_code == 201
        assert c.post("/_workflow/Customer", json={"name": "Bob"}).status_code == 201

        # Registered after super().routes(router), as the README does.
        stats = c.get("/_workflow/Customer/stats")
        assert (stats.status_code, stats.json()) == (200, {"type": "Customer", "count": 2})
        assert c.head("/_workflow/Customer/stats").status_code == 200
        # Registered before super().routes(router).
        summary = c.get("/_workflow/Customer/abc/summary")
        assert (summary.status_code, summary.json()) == (200, {"id": "abc", "name": "Ada"})

        # The framework's routes still answer the rest.
        thing = c.get("/_workflow/Customer/abc")
        assert (thing.status_code, thing.json()["name"]) == (200, "Ada")
        assert c.get("/_workflow/Customer/abc/knows").json()["items"] == []
        assert c.get("/_workflow/Customer").json()["total"] == 2
        assert c.get("/_workflow/events/dead").status_code == 200
        missing = c.get("/_workflow/Customer/nobody")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "thing_not_found")

        # A method only a catch-all has still reaches it; a 405 lists every route's methods.
        assert c.delete("/_workflow/Customer/stats").status_code == 404  # no thing "stats"
        wrong = c.post("/_workflow/Customer/stats")
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "DELETE, GET, HEAD, PATCH, PUT"
