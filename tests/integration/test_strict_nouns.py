"""Names a user got wrong, through the real runtime: `strict_nouns` on HarnessStrict refuses a
noun it does not know on every surface, declared fields refuse a property name, and a handler
whose noun is a typo is logged when the class is defined. Classes without them are unchanged."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.runtime import LocalRuntime, new_tenant

TIKET = {"code": "unknown_noun", "message": "No noun 'Tiket'; did you mean 'Ticket'?", "suggestion": "Ticket"}
STAUTS = {
    "code": "unknown_field",
    "message": "No field 'stauts' on Ticket; did you mean 'status'?",
    "suggestion": "status",
}


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def stored(c: httpx.Client) -> dict[str, Any]:
    """What the strict object's tables hold, read with SQL (not through the checks under test;
    the plumbing tables are not readable through the query API)."""

    def rows(sql: str) -> list[Any]:
        answer = c.post("/_strict/rpc", json={"method": "raw_rows", "params": [sql]}).json()["result"]
        return [list(row.values()) for row in answer]

    return {
        "things": rows("SELECT type, count(*) FROM things GROUP BY type ORDER BY type"),
        "events": rows("SELECT DISTINCT type FROM events ORDER BY type"),
        "edges": rows("SELECT from_type, verb, to_type FROM dotdo_relationships"),
        "actions": rows("SELECT subject_type, verb FROM dotdo_actions"),
    }


def test_http_refuses_an_unknown_noun_with_the_closest_one(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        ticket = c.post("/_strict/Ticket", json={"$id": "t-1", "title": "Printer", "status": "open"})
        assert ticket.status_code == 201
        before = stored(c)
        attempts = [
            c.post("/_strict/Tiket", json={"title": "x"}),
            c.post("/_strict/Tiket", json=[{"title": "x"}, {"title": "y"}]),
            c.get("/_strict/Tiket"),
            c.get("/_strict/Tiket/t-1"),
            c.put("/_strict/Tiket/t-1", json={"title": "x"}),
            c.patch("/_strict/Tiket/t-1", json={"title": "x"}),
            c.delete("/_strict/Tiket/t-1"),
            c.delete("/_strict/Tiket/t-1", params={"hard": "true"}),
            c.post("/_strict/Tiket/t-1/restore"),
            c.get("/_strict/Tiket/t-1/assigned"),
            c.post("/_strict/Tiket/t-1/assigned", json={"to": "Person/p-1"}),
            c.post("/_strict/actions", json={"subject": "Tiket/t-1", "verb": "close"}),
        ]
        for response in attempts:
            assert (response.status_code, error(response)) == (404, TIKET), response.request.url
        # plurals, case and the nouns an edge or an action points at
        plural = c.get("/_strict/Tickets")
        assert (plural.status_code, error(plural)["suggestion"]) == (404, "Ticket")
        assert error(c.post("/_strict/TICKET", json={}))["suggestion"] == "Ticket"
        edge = c.post("/_strict/Ticket/t-1/assigned", json={"to": "Persn/p-1"})
        assert (edge.status_code, error(edge)["suggestion"]) == (404, "Person")
        action = c.post(
            "/_strict/actions", json={"subject": "Ticket/t-1", "verb": "assign", "object": "Peple/p"}
        )
        assert (action.status_code, error(action)["suggestion"]) == (404, "Person")
        related = c.get("/_strict/Ticket/t-1/assigned", params={"type": "Persn"})
        assert (related.status_code, error(related)["suggestion"]) == (404, "Person")
        far = c.post("/_strict/Zebra", json={})
        assert far.status_code == 404 and error(far)["code"] == "unknown_noun"
        assert error(far)["suggestion"] is None and "POST /nouns" in error(far)["message"]
        assert stored(c) == before  # nothing of any refused request was written
        # the declared nouns work as ever
        assert c.post("/_strict/Ticket/t-1/assigned", json={"to": "Person/p-1"}).status_code == 201
        plural = c.get("/_strict/People")  # a path names the noun, not its plural
        assert (plural.status_code, error(plural)["suggestion"]) == (404, "Person")
        assert c.get("/_strict/Person").json()["total"] == 0


def test_a_registered_noun_is_known(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.post("/_strict/Widget", json={"n": 1}).status_code == 404
        assert c.post("/_strict/nouns", json={"name": "Widget"}).status_code == 201
        assert c.post("/_strict/Widget", json={"n": 1}).status_code == 201
        typo = c.post("/_strict/Widgit", json={"n": 1})
        assert (typo.status_code, error(typo)["suggestion"]) == (404, "Widget")
        rpc = c.post("/_strict/rpc", json={"method": "register_noun", "params": ["Gadget"]})
        assert rpc.status_code == 200
        assert c.post("/_strict/Gadget", json={}).status_code == 201


def test_rpc_pipelines_python_and_sockets_refuse_it_too(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        c.post("/_strict/Ticket", json={"$id": "t-1", "title": "Printer"})
        before = stored(c)
        calls: list[tuple[str, list[Any]]] = [
            ("create_thing", ["Tiket", {"title": "x"}]),
            ("create_things", ["Tiket", [{"title": "x"}]]),
            ("upsert_thing", ["Tiket", {"$id": "t-9", "title": "x"}]),
            ("replace_thing", ["Tiket", "t-1", {"title": "x"}]),
            ("update_thing", ["Tiket", "t-1", {"title": "x"}]),
            ("get_thing", ["Tiket", "t-1"]),
            ("list_things", ["Tiket"]),
            ("count_things", ["Tiket"]),
            ("delete_thing", ["Tiket", "t-1"]),
            ("relate", ["Tiket/t-1", "assigned", "Person/p-1"]),
            ("record_action", ["Tiket/t-1", "close"]),
            ("traverse", ["Ticket/t-1", [{"verb": "assigned", "type": "Tiket"}]]),
            ("create_from_python", ["Tiket"]),  # self.Tiket().create(...) in application code
        ]
        for method, params in calls:
            answer = c.post("/_strict/rpc", json={"method": method, "params": params})
            assert (answer.status_code, error(answer)) == (404, TIKET), method
        for target, step in ((["Tiket"], "create"), (["Tiket"], "list"), (["Tiket", "t-1"], "get")):
            body = {"id": "p", "pipeline": {"target": target, "pipeline": [call(step, {"title": "x"})]}}
            if step != "create":
                body["pipeline"]["pipeline"] = [call(step)]
            answer = c.post("/_strict/rpc/pipeline", json=body)
            assert answer.status_code == 404 and answer.json() == {"id": "p", "error": {**TIKET, "step": 0}}
        batch = "\n".join(
            json.dumps(m)
            for m in (["push", ["pipeline", 0, ["createThing"], ["Tiket", {"title": "x"}]]], ["pull", 1])
        )
        capnweb = c.post("/_strict/capnweb", content=batch)
        assert json.loads(capnweb.text) == [
            "reject",
            1,
            ["error", "Error", TIKET["message"], None, {"suggestion": "Ticket", "code": "unknown_noun"}],
        ]
        loopback = socket.create_connection(("127.0.0.1", runtime.port), timeout=30)
        with connect(f"ws://{tenant}.localhost:{runtime.port}/_strict/ws/rpc", sock=loopback) as ws:
            ws.send(json.dumps({"id": 1, "method": "create_thing", "params": ["Tiket", {"title": "x"}]}))
            assert json.loads(ws.recv(timeout=10)) == {"id": 1, "error": TIKET}
        assert stored(c) == before


def call(name: str, *args: Any) -> dict[str, Any]:
    return {"type": "method", "name": name, "args": list(args)}


def test_declared_fields_refuse_a_misspelt_property(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/_strict/Ticket", json={"$id": "t-1", "title": "Printer", "status": "open"})
        before = stored(c)
        attempts = [
            c.get("/_strict/Ticket", params={"where": json.dumps({"stauts": "open"})}),
            c.get("/_strict/Ticket", params={"order_by": "-stauts"}),
            c.get("/_strict/Ticket", params={"select": "title,stauts"}),
            c.post("/_strict/Ticket", json={"title": "x", "stauts": "open"}),
            c.post("/_strict/Ticket", json=[{"title": "ok"}, {"stauts": "open"}]),
            c.patch("/_strict/Ticket/t-1", json={"stauts": "closed"}),
            c.put("/_strict/Ticket/t-1", json={"title": "x", "stauts": "closed"}),
            c.post("/_strict/rpc", json={"method": "count_things", "params": ["Ticket", {"stauts": "open"}]}),
        ]
        for response in attempts:
            assert (response.status_code, error(response)) == (400, STAUTS), response.request.url
        assert stored(c) == before
        # a null in a patch removes the property and stores nothing: it passes under any name
        # (a field no longer declared, which things written before still hold), on each surface
        assert c.patch("/_strict/Ticket/t-1", json={"stauts": None}).status_code == 200
        update = {"method": "update_thing", "params": ["Ticket", "t-1", {"stauts": None}]}
        cleared = c.post("/_strict/rpc", json=update)
        assert cleared.json()["result"]["title"] == "Printer"
        found = c.get(
            "/_strict/Ticket", params={"where": json.dumps({"status": "open"}), "order_by": "-title"}
        )
        assert [t["$id"] for t in found.json()["items"]] == ["t-1"]
        # a URL's list is comma-separated or a JSON array, as `where` beside it is JSON
        for select in ('["title"]', "title"):
            listed = c.get("/_strict/Ticket", params={"select": select, "order_by": '["-title"]'}).json()
            assert [[k for k in t if not k.startswith("$")] for t in listed["items"]] == [["title"]], select
        # a noun without declared fields takes any property
        assert c.post("/_strict/Person", json={"anything": 1}).status_code == 201


def test_a_handler_on_a_misspelt_noun_is_logged_once_when_the_class_is_defined(runtime: LocalRuntime) -> None:
    message = (
        "HarnessStrict: handler on_ticket_updated listens to 'Tikcet.updated', but 'Tikcet' is not a "
        "declared noun; did you mean 'Ticket.updated'?"
    )
    with runtime.client() as c:
        c.post("/_strict/Ticket", json={"$id": "t-1", "title": "a"})  # the class is defined by now
        logged = _log_count(runtime, message, at_least=1)
        assert logged >= 1
        for n in range(3):  # new instances, requests and events do not log it again
            c.patch("/_strict/Ticket/t-1", json={"title": str(n)})
        with runtime.client() as other:
            other.post("/_strict/Ticket", json={"title": "b"})
        counters = c.post(
            "/_strict/rpc",
            json={"method": "counters", "params": ["seen:ticket_created", "seen:ticket_updated"]},
        ).json()["result"]
        assert counters == {
            "seen:ticket_created": ["t-1"],
            "seen:ticket_updated": None,
        }  # the typo never fires
        assert runtime.log_path.read_text(errors="replace").count(message) == logged
        # a run-time handler is checked against the registered nouns, once per class and pattern
        run_time = "HarnessStrict: handler _on_closed listens to 'Tikcet.closed', but 'Tikcet'"
        for _ in range(3):
            assert (
                c.post("/_strict/rpc", json={"method": "subscribe_misspelt", "params": []}).status_code == 200
            )
        assert _log_count(runtime, run_time, at_least=1) == 1


def test_classes_without_strict_nouns_are_unchanged(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for prefix in ("", "/_semantic", "/_workflow"):
            created = c.post(f"{prefix}/Tiket", json={"title": "x", "stauts": "open"})
            assert created.status_code == 201 and created.json()["$type"] == "Tiket"
            listed = c.get(f"{prefix}/Customer", params={"where": json.dumps({"stauts": "open"})})
            assert listed.status_code == 200 and listed.json()["items"] == []
            assert (
                c.post(f"{prefix}/rpc", json={"method": "create_thing", "params": ["Tiket", {}]}).status_code
                == 200
            )


def _log_count(runtime: LocalRuntime, text: str, at_least: int, wait: float = 15.0) -> int:
    """How often `text` is in the server log, once it is there `at_least` times (the runtime
    writes its log asynchronously, so a line can land a moment after the request answered)."""
    deadline = time.monotonic() + wait
    while True:
        count = runtime.log_path.read_text(errors="replace").count(text)
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.1)
