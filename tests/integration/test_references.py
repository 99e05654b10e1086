"""Thing references across surfaces: `?thing=Type/id` filters the audit log, an edge to a thing
this object does not hold is answered alike by HTTP and RPC, `DELETE /:Noun/:id/:verb` removes
an edge, and a traversal's hop of the wrong shape is refused naming its keys."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from dotdo import Hop
from dotdo.client import Client, RpcError
from tests.runtime import LocalRuntime


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def tenant(client: httpx.Client) -> str:
    return str(client.headers["host"]).split(".")[0]


def rpc(client: httpx.Client, method: str, *params: Any) -> httpx.Response:
    return client.post("/rpc", json={"method": method, "params": list(params)})


def test_the_audit_log_takes_a_thing_as_type_and_id(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Task", json={"$id": "t1", "title": "Write"})
        c.post("/Person", json={"$id": "ada"})
        assert c.post("/actions", json={"subject": "Task/t1", "verb": "start"}).status_code == 201
        assert (
            c.post(
                "/actions", json={"subject": "Person/ada", "verb": "assign", "object": "Task/t1"}
            ).status_code
            == 201
        )

        def verbs(thing: str) -> list[str]:
            response = c.get("/actions", params={"thing": thing})
            assert response.status_code == 200, response.text
            return [entry["verb"] for entry in response.json()["items"]]

        assert verbs("Task/t1") == ["start", "assign"]  # was []: only the bare id matched
        assert verbs("t1") == ["start", "assign"]
        assert verbs("Person/ada") == ["assign"]
        assert verbs("Project/t1") == []  # another type: another thing, which did nothing
        # an empty `?thing=` names no thing: it answered the whole log
        for bad, code in (
            ("Task/", "invalid_id"),
            ("task/t1", "invalid_type"),
            ("t 1", "invalid_id"),
            ("", "invalid_id"),
        ):
            assert error(c.get("/actions", params={"thing": bad})) == (400, code)


def test_the_audit_log_comes_a_page_at_a_time(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for n in range(5):
            c.post("/actions", json={"subject": f"Task/t{n % 2}", "verb": "start"})
        pages = [c.get("/actions", params={"limit": 2}).json()]
        while pages[-1]["has_more"]:  # was {"items"} only: past the limit, nothing reachable
            pages.append(c.get("/actions", params={"limit": 2, "cursor": pages[-1]["cursor"]}).json())
        assert [len(page["items"]) for page in pages] == [2, 2, 1] and pages[-1]["cursor"] is None
        every = [entry["id"] for page in pages for entry in page["items"]]
        assert every == [entry["id"] for entry in c.get("/actions").json()["items"]]
        first = c.get("/actions", params={"thing": "Task/t0", "limit": 2}).json()
        rest = c.get("/actions", params={"thing": "Task/t0", "cursor": first["cursor"]}).json()
        assert len(first["items"]) == 2 and [len(rest["items"]), rest["has_more"]] == [1, False]
        assert error(c.get("/actions", params={"cursor": "nope"})) == (400, "invalid_cursor")


def test_an_edge_to_a_thing_not_here_is_answered_alike_by_http_and_rpc(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Task", json={"$id": "t4"})
        c.post("/Project", json={"$id": "p1", "name": "Launch"})
        assert c.post("/Task/t4/partOf", json={"to": "Project/nope"}).json()["created"] is True
        assert c.post("/Task/t4/partOf", json={"to": "Project/p1"}).status_code == 201

        def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            page = c.get("/Task/t4/partOf").json()
            assert page["total"] == len(page["items"])
            refs = rpc(c, "related", "Task/t4", "partOf").json()["result"]
            return page["items"], refs

        items, refs = both()
        assert refs == [{"$type": "Project", "$id": "nope"}, {"$type": "Project", "$id": "p1"}]
        assert items[0] == {"$type": "Project", "$id": "nope"}  # was left out: total 0 against RPC's 1
        assert items[1]["name"] == "Launch" and items[1]["$version"] == 1
        assert c.delete("/Project/p1").status_code == 200  # a target deleted later: the same rule
        items, refs = both()
        assert items == refs == [{"$type": "Project", "$id": "nope"}, {"$type": "Project", "$id": "p1"}]
        into = c.get("/Project/p1", params={"include_deleted": "true"}).json()
        assert into["$deleted_at"] is not None


def test_delete_removes_an_edge(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        task = c.post("/Task", json={"$id": "t4"}).json()
        for target in ("Project/p1", "Project/p2", "Project/p3"):
            assert c.post("/Task/t4/partOf", json={"to": target}).status_code == 201
        removed = c.delete("/Task/t4/partOf", params={"to": "Project/p1"})  # was 405
        assert removed.status_code == 200, removed.text
        assert removed.json() == {
            "from": {"$type": "Task", "$id": "t4"},
            "verb": "partOf",
            "to": {"$type": "Project", "$id": "p1"},
            "deleted": True,
        }
        again = c.delete("/Task/t4/partOf", params={"to": "Project/p1"})
        assert (again.status_code, again.json()["deleted"]) == (200, False)
        by_body = c.request("DELETE", "/Task/t4/partOf", json={"to": {"$type": "Project", "$id": "p2"}})
        assert by_body.json()["deleted"] is True
        assert c.get("/Task/t4/partOf").json()["items"] == [{"$type": "Project", "$id": "p3"}]
        tag = f'"{task["$version"]}.{task["$created_at"]}"'
        stale = f'"9.{task["$created_at"]}"'
        refused = c.delete("/Task/t4/partOf", params={"to": "Project/p3"}, headers={"if-match": stale})
        assert error(refused) == (412, "precondition_failed")
        guarded = c.delete("/Task/t4/partOf", params={"to": "Project/p3"}, headers={"if-match": tag})
        assert guarded.json()["deleted"] is True
        assert c.get("/Task/t4/partOf").json()["items"] == []
        assert error(c.delete("/Task/t4/partOf")) == (400, "invalid_ref")
        assert error(c.delete("/Task/t4/partOf", params={"to": "nope"})) == (400, "invalid_ref")
        assert error(c.delete("/Task/t4/partOf", params={"to": "Project/"})) == (400, "invalid_id")
        both = c.request("DELETE", "/Task/t4/partOf", params={"to": "Project/p1"}, json={"to": "Project/p1"})
        assert error(both) == (400, "invalid_ref")
        extra = c.request("DELETE", "/Task/t4/partOf", json={"to": "Project/p1", "data": 1})
        assert error(extra) == (400, "invalid_params")
        # a body of whitespace is none, with ?to= as without it (it was "not both" with ?to=)
        assert c.post("/Task/t4/partOf", json={"to": "Project/p5"}).status_code == 201
        spaced = c.request("DELETE", "/Task/t4/partOf", params={"to": "Project/p5"}, content=b" \n")
        assert spaced.status_code == 200 and spaced.json()["deleted"] is True, spaced.text
        assert error(c.request("DELETE", "/Task/t4/partOf", content=b" ")) == (400, "invalid_ref")


def test_a_hop_of_the_wrong_shape_is_refused_naming_its_keys(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "ada"})  # an edge route names a thing this object holds
        c.post("/Order", json={"$id": "o1"})
        c.post("/Customer/ada/placed", json={"to": "Order/o1"})
        c.post("/Order/o1/contains", json={"to": "Product/p1"})
        hops = [{"verb": "placed"}, {"verb": "contains", "direction": "out", "type": "Product"}]
        assert rpc(c, "traverse", "Customer/ada", hops).json()["result"] == [
            {"$type": "Product", "$id": "p1"}
        ]
        for bad in ([["placed", "out"]], [{"verb": "placed", "dir": "out"}], ["placed"]):
            response = rpc(c, "traverse", "Customer/ada", bad)
            assert error(response) == (400, "invalid_traversal"), response.text
            message = response.json()["error"]["message"]
            assert "hops[0]" in message and all(key in message for key in ("verb", "direction", "type"))
        over_workers_rpc = runtime.rpc(tenant(c), "traverse", "Customer/ada", [["placed"]]).json()
        assert "hops[0] is an object" in over_workers_rpc["error"]["message"]  # Workers RPC calls it directly


def test_an_edge_read_or_removed_by_reference_matches_its_type(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Task", json={"$id": "t4"})
        c.post("/Task/t4/partOf", json={"to": "Project/p1"})
        project = [{"$type": "Project", "$id": "p1"}]
        assert rpc(c, "related", "Task/t4", "partOf").json()["result"] == project
        assert rpc(c, "related", "t4", "partOf").json()["result"] == project  # a bare id, as ?thing= takes
        assert rpc(c, "related", "Order/t4", "partOf").json()["result"] == []  # answered Task t4's edges
        assert rpc(c, "traverse", "Order/t4", [{"verb": "partOf"}]).json()["result"] == []
        assert rpc(c, "unrelate", "Task/t4", "partOf", "Order/p1").json()["result"] is False  # removed it
        assert c.delete("/Task/t4/partOf", params={"to": "Order/p1"}).json()["deleted"] is False
        assert c.get("/Task/t4/partOf").json()["items"] == project


def test_ends_whose_ids_repeat_across_types_are_two_edges_on_every_surface(runtime: LocalRuntime) -> None:
    """ADR 0041: an edge is keyed by its ends' types and ids, as every surface reads it."""
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "a"})
        assert c.post("/Customer/a/owns", json={"to": "Order/p1"}).status_code == 201
        assert c.post("/Customer/a/owns", json={"to": "Project/p1"}).status_code == 201  # was 200: "there"
        both = [{"$type": "Order", "$id": "p1"}, {"$type": "Project", "$id": "p1"}]
        assert c.get("/Customer/a/owns").json()["items"] == both
        assert rpc(c, "related", "Customer/a", "owns").json()["result"] == both
        assert rpc(c, "traverse", "Customer/a", [{"verb": "owns", "type": "Project"}]).json()["result"] == [
            both[1]
        ]
        assert rpc(c, "unrelate", "Customer/a", "owns", "Project/p1").json()["result"] is True  # was False
        assert c.get("/Customer/a/owns").json()["items"] == both[:1]
        assert c.delete("/Customer/a/owns", params={"to": "Order/p1"}).json()["deleted"] is True
        assert c.get("/Customer/a/owns").json()["items"] == []


def test_every_edge_route_answers_a_missing_thing_404_where_rpc_takes_any_reference(
    runtime: LocalRuntime,
) -> None:
    """docs/api.md, "A missing target": the path names a thing; GET of its edges was a 404
    while DELETE answered `deleted: false` and POST added the edge."""
    with runtime.client() as c:
        c.post("/Task", json={"$id": "gone"})
        c.delete("/Task/gone")  # soft-deleted: not here for the routes, as for GET
        for thing in ("nobody", "gone"):
            path = f"/Task/{thing}/partOf"
            assert error(c.get(path)) == (404, "thing_not_found")
            assert error(c.post(path, json={"to": "Project/p1"})) == (404, "thing_not_found")  # was 201
            assert error(c.delete(path, params={"to": "Project/p1"})) == (404, "thing_not_found")  # was 200
            assert rpc(c, "related", f"Task/{thing}", "partOf").json()["result"] == []
        assert rpc(c, "relate", "Task/nobody", "partOf", "Project/p1").json()["result"] is True
        assert rpc(c, "unrelate", "Task/nobody", "partOf", "Project/p1").json()["result"] is True
        assert rpc(c, "unrelate", "Task/nobody", "partOf", "Project/p1").json()["result"] is False
        c.put("/state/k", json=1)
        assert c.delete("/state/k").json() == {"key": "k", "deleted": True}
        assert c.delete("/state/k").status_code == 404  # was 200 {"deleted": false}; GET was a 404
        assert rpc(c, "delete", "k").json()["result"] is False


def test_the_python_client_traverses_with_json_hops_or_hops(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "ada"})  # an edge route names a thing this object holds
        c.post("/Order", json={"$id": "o1"})
        c.post("/Customer/ada/placed", json={"to": "Order/o1"})
        c.post("/Order/o1/contains", json={"to": "Product/p1"})
        host = str(c.headers["host"])

    async def run() -> tuple[Any, Any, str]:
        async with Client(f"http://{host}:{runtime.port}") as client:
            ada = client.Customer("ada")
            by_json = await ada.traverse([{"verb": "placed"}, {"verb": "contains", "type": "Product"}])
            by_hop = await ada.traverse([Hop("placed"), Hop("contains", "out", "Product")])
            try:
                await ada.traverse([{"verb": "placed", "kind": "x"}])
            except RpcError as error:
                return by_json, by_hop, error.code
            return by_json, by_hop, "no error"

    by_json, by_hop, code = asyncio.run(run())
    assert by_json == by_hop == [{"$type": "Product", "$id": "p1"}]
    assert code == "invalid_traversal"
