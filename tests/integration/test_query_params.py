"""The framework's routes refuse a query parameter they do not take (400 `invalid_query`
naming it, with the closest one they take), as their bodies refuse a field they do not
take: `GET /Item?as_of=1` answered the current list (`as_of` is a single thing's), and
`GET /approvals?bogus=1` a 200. An app's own routes are the app's: not refused."""

from __future__ import annotations

import pytest

from tests.runtime import LocalRuntime, new_tenant

FULL = "/_full"

# Every route DOFull serves (its own and the layers' below), with a path that reaches it.
ROUTES: list[tuple[str, str]] = [
    ("GET", "/health"),
    ("GET", "/state"),
    ("GET", "/state/k"),
    ("PUT", "/state/k"),
    ("DELETE", "/state/k"),
    ("POST", "/state/transaction"),
    ("GET", "/ws"),
    ("POST", "/rpc"),
    ("POST", "/rpc/pipeline"),
    ("GET", "/ws/rpc"),
    ("POST", "/capnweb"),
    ("GET", "/capnweb"),
    ("POST", "/query"),
    ("GET", "/nouns"),
    ("POST", "/nouns"),
    ("GET", "/verbs"),
    ("POST", "/verbs"),
    ("GET", "/events"),
    ("POST", "/events"),
    ("GET", "/actions"),
    ("POST", "/actions"),
    ("POST", "/Item"),
    ("GET", "/Item"),
    ("GET", "/Item/i1"),
    ("PATCH", "/Item/i1"),
    ("PUT", "/Item/i1"),
    ("DELETE", "/Item/i1"),
    ("POST", "/Item/i1/restore"),
    ("GET", "/Item/i1/owns"),
    ("POST", "/Item/i1/owns"),
    ("GET", "/events/dead"),
    ("POST", "/events/dead/e1/replay"),
    ("GET", "/schedules"),
    ("DELETE", "/schedules/s1"),
    ("POST", "/workflows/anything"),
    ("GET", "/workflows/w1"),
    ("GET", "/stats"),
    ("POST", "/storage/flush"),
    ("POST", "/storage/archive"),
    ("GET", "/approvals"),
    ("GET", "/approvals/a1"),
    ("POST", "/approvals/a1"),
    ("POST", "/fanout"),
    ("POST", "/ai/generate"),
    ("POST", "/ai/embed"),
    ("POST", "/ai/run"),
    ("GET", "/ai/usage"),
    ("GET", "/search/Item"),
    ("POST", "/search/Item/reindex"),
    ("POST", "/_test/alarm"),
    ("POST", "/_test/fault"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_framework_route_refuses_a_query_parameter_it_does_not_take(
    runtime: LocalRuntime, method: str, path: str
) -> None:
    with runtime.client(new_tenant()) as c:
        c.post(f"{FULL}/Item", json={"$id": "i1", "name": "one"})
        refused = c.request(method, f"{FULL}{path}?bogus=1", json={"$id": "i2"})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_query" and "'bogus'" in error["message"], error
        assert error["parameter"] == "bogus"
        # refused before the handler: nothing written
        assert c.get(f"{FULL}/Item/i2").status_code == 404
        assert c.get(f"{FULL}/Item/i1").json()["name"] == "one"


def test_a_single_things_parameter_on_the_list_is_refused(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        c.post(f"{FULL}/Item", json={"$id": "i1"})
        refused = c.get(f"{FULL}/Item?as_of=1")
        assert refused.status_code == 400, refused.text
        assert "'as_of' is not taken by GET /Item" in refused.json()["error"]["message"]
        misspelt = c.get(f"{FULL}/Item?limt=1").json()["error"]
        assert misspelt["suggestion"] == "limit" and "did you mean 'limit'?" in misspelt["message"]
        assert c.get(f"{FULL}/approvals?bogus=1").json()["error"]["code"] == "invalid_query"
        # the parameters each route takes still pass
        assert c.get(f"{FULL}/Item?limit=1&total=exact&where=%7B%7D").status_code == 200
        assert c.get(f"{FULL}/Item/i1?as_of=99999999999999&include_deleted=true").status_code == 200
        assert c.get(f"{FULL}/Item/i1/owns?direction=in&type=Item&limit=5").status_code == 200
        assert c.get(f"{FULL}/approvals?status=pending&limit=5").status_code == 200
        assert c.get(f"{FULL}/events?type=Item.*&subject=Item/i1&since=0&until=1&limit=2").status_code == 200
        assert c.get(f"{FULL}/actions?thing=Item/i1&limit=2").status_code == 200
        assert c.get(f"{FULL}/state?prefix=a&start=a&end=z&limit=2&reverse=true").status_code == 200
        assert c.get(f"{FULL}/events/dead?limit=2").status_code == 200
        assert c.delete(f"{FULL}/Item/i1?hard=true").status_code == 200


def test_an_apps_own_route_takes_any_query_parameter(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:  # HarnessWorkflow's GET /Customer/stats
        assert c.get("/_workflow/Customer/stats?bogus=1").json() == {"type": "Customer", "count": 0}


# Every route DOFull serves whose handler reads no body: one sent to it is refused.
BODYLESS: list[tuple[str, str]] = [
    ("DELETE", "/state/k"),
    ("DELETE", "/Item/i1"),
    ("POST", "/Item/i1/restore"),
    ("POST", "/events/dead/e1/replay"),
    ("DELETE", "/schedules/s1"),
    ("POST", "/storage/flush"),
    ("POST", "/search/Item/reindex"),
]


@pytest.mark.parametrize(("method", "path"), BODYLESS, ids=[f"{m} {p}" for m, p in BODYLESS])
def test_a_route_that_reads_no_body_refuses_one(runtime: LocalRuntime, method: str, path: str) -> None:
    with runtime.client(new_tenant()) as c:
        c.post(f"{FULL}/Item", json={"$id": "i1", "name": "one"})
        c.put(f"{FULL}/state/k", json=1)
        refused = c.request(method, f"{FULL}{path}", json={"before": 1})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "unexpected_body" and f"{method} /" in error["message"], error
        # refused before the handler: nothing deleted
        assert c.get(f"{FULL}/Item/i1").json()["name"] == "one"
        assert c.get(f"{FULL}/state/k").json()["value"] == 1


def test_a_bodyless_route_without_a_body_still_answers(runtime: LocalRuntime) -> None:
    with runtime.client(new_tenant()) as c:
        assert c.post(f"{FULL}/storage/flush").status_code == 200
        assert c.post(f"{FULL}/storage/flush", content=b" \n").status_code == 200
        c.put(f"{FULL}/state/k", json=1)
        assert c.delete(f"{FULL}/state/k").json() == {"key": "k", "deleted": True}
