"""Conditional requests on every write of a thing (RFC 9110 §13): If-Match, If-None-Match.

A false precondition is a 412 `precondition_failed` carrying the current version,
and nothing is written: the thing, its edges and its events are as they were.
An expected version in a body or an RPC argument stays a 409 `version_conflict`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant


def etag(thing: dict[str, Any], version: int | None = None) -> str:
    """The thing's entity tag (`"<version>.<created_at>"`), at `version` if given."""
    return f'"{thing["$version"] if version is None else version}.{thing["$created_at"]}"'


def make_thing(c: httpx.Client, thing_id: str) -> dict[str, Any]:
    """`Doc/<id>` at version 2: created, then patched."""
    assert c.post("/Doc", json={"$id": thing_id, "title": "draft"}).status_code == 201
    patched = c.patch(f"/Doc/{thing_id}", json={"title": "final"})
    assert patched.status_code == 200
    thing: dict[str, Any] = patched.json()
    return thing


def make_deleted_thing(c: httpx.Client, thing_id: str) -> dict[str, Any]:
    """`Doc/<id>` at version 3: created, patched, soft-deleted."""
    make_thing(c, thing_id)
    deleted = c.delete(f"/Doc/{thing_id}")
    assert deleted.status_code == 200
    thing: dict[str, Any] = deleted.json()
    return thing


@dataclass(frozen=True)
class Route:
    name: str
    setup: Callable[[httpx.Client, str], dict[str, Any]]
    send: Callable[[httpx.Client, str, dict[str, str]], httpx.Response]
    bumps_version: bool = True


ROUTES = [
    Route("PATCH", make_thing, lambda c, i, h: c.patch(f"/Doc/{i}", json={"title": "x"}, headers=h)),
    Route("PUT", make_thing, lambda c, i, h: c.put(f"/Doc/{i}", json={"body": "x"}, headers=h)),
    Route("DELETE", make_thing, lambda c, i, h: c.delete(f"/Doc/{i}", headers=h)),
    Route(
        "DELETE hard", make_thing, lambda c, i, h: c.delete(f"/Doc/{i}", params={"hard": "true"}, headers=h)
    ),
    Route("restore", make_deleted_thing, lambda c, i, h: c.post(f"/Doc/{i}/restore", headers=h)),
    Route(
        "relate",
        make_thing,
        lambda c, i, h: c.post(f"/Doc/{i}/cites", json={"to": "Doc/other"}, headers=h),
        bumps_version=False,
    ),
]


@dataclass(frozen=True)
class Tags:
    now: str
    """The thing's current tag, quoted: `"2.1767225600000"`."""
    stale: str
    """The tag its previous version had."""
    unquoted: str
    """The current tag without its quotes (a malformed header)."""


@dataclass(frozen=True)
class Case:
    name: str
    headers: Callable[[Tags], dict[str, str]]
    """The request's headers, given the thing's current and previous tags."""
    status: int
    """200/201 for "it was done"; else the error status."""
    code: str | None = None


FAILED = "precondition_failed"
CASES = [
    Case("matching strong tag", lambda t: {"if-match": t.now}, 200),
    Case("stale tag", lambda t: {"if-match": t.stale}, 412, FAILED),
    Case("the version alone", lambda t: {"if-match": t.now.split(".")[0] + '"'}, 412, FAILED),
    Case("weak tag", lambda t: {"if-match": f"W/{t.now}"}, 412, FAILED),
    Case("list with the tag", lambda t: {"if-match": f'"99", W/"98", {t.now}'}, 200),
    Case("list without it", lambda t: {"if-match": f'"99", W/{t.now}, {t.stale}'}, 412, FAILED),
    Case("If-Match *", lambda t: {"if-match": "*"}, 200),
    Case("If-None-Match *", lambda t: {"if-none-match": "*"}, 412, FAILED),
    Case("If-None-Match weak match", lambda t: {"if-none-match": f"W/{t.now}"}, 412, FAILED),
    Case("If-None-Match other tag", lambda t: {"if-none-match": t.stale}, 200),
    Case("both, If-Match false", lambda t: {"if-match": '"99"', "if-none-match": '"98"'}, 412, FAILED),
    Case("malformed: unquoted", lambda t: {"if-match": t.unquoted}, 400, "invalid_precondition"),
    Case("malformed: star in a list", lambda t: {"if-match": f"*, {t.now}"}, 400, "invalid_precondition"),
    Case("malformed If-None-Match", lambda t: {"if-none-match": "W/x"}, 400, "invalid_precondition"),
]  # fmt: skip


def snapshot(c: httpx.Client, thing_id: str) -> tuple[int, Any, Any, int]:
    """What a write could change: the stored thing, its edges, and its events."""
    thing = c.get(f"/Doc/{thing_id}", params={"include_deleted": "true"})
    edges = c.get(f"/Doc/{thing_id}/cites").json() if thing.status_code == 200 else None
    events = c.get("/events", params={"subject": thing_id, "limit": "100"}).json()["items"]
    return thing.status_code, thing.json(), edges, len(events)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
def test_every_write_route_honours_preconditions(runtime: LocalRuntime, route: Route, case: Case) -> None:
    with runtime.client() as c:
        c.post("/Doc", json={"$id": "other"})
        before = route.setup(c, "d1")
        version = before["$version"]
        tags = Tags(etag(before), etag(before, version - 1), etag(before).strip('"'))
        state = snapshot(c, "d1")
        response = route.send(c, "d1", case.headers(tags))
        if case.status == 200:
            assert response.status_code in (200, 201), response.text
            after = snapshot(c, "d1")
            assert after != state
            if route.bumps_version and after[0] == 200:
                assert after[1]["$version"] == version + 1
            if "$version" in response.json():
                assert response.headers["etag"] == etag(response.json())
            return
        assert response.status_code == case.status, response.text
        error = response.json()["error"]
        assert error["code"] == case.code
        if case.status == 412:
            assert error["current_version"] == version
            assert response.headers["etag"] == tags.now
        assert snapshot(c, "d1") == state  # nothing written: thing, edges, events


def test_the_issue_example_a_stale_delete_deletes_nothing(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = make_thing(c, "d1")
        for params in ({}, {"hard": "true"}):
            refused = c.delete("/Doc/d1", params=params, headers={"if-match": etag(thing, 1)})
            assert refused.status_code == 412
            assert refused.json()["error"] == {
                "code": "precondition_failed",
                "message": refused.json()["error"]["message"],
                "current_version": 2,
            }
            kept = c.get("/Doc/d1")
            assert (
                kept.status_code == 200 and kept.json()["title"] == "final" and kept.json()["$version"] == 2
            )
        deleted = c.delete("/Doc/d1", headers={"if-match": etag(thing, 2)})
        assert deleted.status_code == 200 and deleted.headers["etag"] == etag(thing, 3)
        restored = c.post("/Doc/d1/restore", headers={"if-match": etag(thing, 3)})
        assert restored.status_code == 200 and restored.headers["etag"] == etag(thing, 4)
        gone = c.delete("/Doc/d1", params={"hard": "true"}, headers={"if-match": etag(thing, 4)})
        assert gone.status_code == 200 and gone.json()["deleted"] is True
        assert c.get("/Doc/d1", params={"include_deleted": "true"}).status_code == 404


def test_if_none_match_star_on_create(runtime: LocalRuntime) -> None:
    only_new = {"if-none-match": "*"}
    with runtime.client() as c:
        created = c.post("/Doc", json={"$id": "d1", "title": "a"}, headers=only_new)
        assert created.status_code == 201 and created.headers["etag"] == etag(created.json(), 1)
        c.patch("/Doc/d1", json={"title": "b"})
        again = c.post("/Doc", json={"$id": "d1", "title": "c"}, headers=only_new)
        assert again.status_code == 412 and again.json()["error"]["current_version"] == 2
        assert c.get("/Doc/d1").json()["title"] == "b"
        # without a caller id there is no thing yet: the condition holds
        assert c.post("/Doc", json={"title": "d"}, headers=only_new).status_code == 201
        # a batch: one taken id refuses the whole batch
        batch = c.post("/Doc", json=[{"$id": "d2"}, {"$id": "d1"}], headers=only_new)
        assert batch.status_code == 412 and batch.json()["error"]["current_version"] == 2
        assert c.get("/Doc/d2").status_code == 404
        assert c.post("/Doc", json=[{"$id": "d2"}, {"$id": "d3"}], headers=only_new).status_code == 201
        # If-Match on a create: there is no current thing to match
        must_exist = c.post("/Doc", json={"$id": "d4"}, headers={"if-match": "*"})
        assert must_exist.status_code == 412 and must_exist.json()["error"]["current_version"] is None
        assert c.get("/Doc/d4").status_code == 404
        # a soft-deleted thing is not a current one; its id is still taken
        c.delete("/Doc/d3")
        taken = c.post("/Doc", json={"$id": "d3"}, headers=only_new)
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "thing_exists"
        # the PUT counterpart: If-None-Match * never replaces an existing thing
        put = c.put("/Doc/d1", json={"title": "e"}, headers=only_new)
        assert put.status_code == 412 and c.get("/Doc/d1").json()["title"] == "b"


def test_get_answers_304_and_412(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = make_thing(c, "d1")
        now, old = etag(thing), etag(thing, 1)
        for value in (now, f"W/{now}", f"{old}, {now}", "*"):
            unchanged = c.get("/Doc/d1", headers={"if-none-match": value})
            assert (
                unchanged.status_code == 304 and unchanged.headers["etag"] == now and unchanged.content == b""
            )
        head = c.head("/Doc/d1", headers={"if-none-match": now})
        assert head.status_code == 304 and head.headers["etag"] == now
        changed = c.get("/Doc/d1", headers={"if-none-match": old})
        assert changed.status_code == 200 and changed.json()["title"] == "final"
        stale = c.get("/Doc/d1", headers={"if-match": old})
        assert stale.status_code == 412 and stale.json()["error"]["current_version"] == 2
        assert c.get("/Doc/d1", headers={"if-match": now}).status_code == 200
        assert c.get("/Doc/d1", headers={"if-none-match": now.strip('"')}).status_code == 400


def test_a_missing_or_soft_deleted_thing_is_404_whatever_the_preconditions(runtime: LocalRuntime) -> None:
    # RFC 9110 §13.2.1: preconditions are ignored when the answer without them is not 2xx
    with runtime.client() as c:
        for method, params in (("PATCH", {}), ("PUT", {}), ("DELETE", {}), ("DELETE", {"hard": "true"})):
            body = {"title": "x"} if method in ("PATCH", "PUT") else None
            missing = c.request(method, "/Doc/missing", params=params, json=body, headers={"if-match": "*"})
            assert missing.status_code == 404 and missing.json()["error"]["code"] == "thing_not_found"
        assert c.post("/Doc/missing/restore", headers={"if-match": "*"}).status_code == 404
        tag = etag(make_deleted_thing(c, "d1"))
        hidden = c.patch("/Doc/d1", json={"title": "x"}, headers={"if-match": tag})
        assert hidden.status_code == 404
        assert c.get("/Doc/d1", headers={"if-none-match": tag}).status_code == 404
        shown = c.get("/Doc/d1", params={"include_deleted": "true"}, headers={"if-none-match": tag})
        assert shown.status_code == 304


def test_explicit_expected_versions_stay_409(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        make_thing(c, "d1")
        body = c.patch("/Doc/d1", json={"title": "x", "$version": 1})
        assert body.status_code == 409 and body.json()["error"]["code"] == "version_conflict"
        body_put = c.put("/Doc/d1", json={"title": "x", "$version": 1})
        assert body_put.status_code == 409 and body_put.json()["error"]["code"] == "version_conflict"
        calls: list[tuple[str, list[Any]]] = [
            ("update_thing", ["Doc", "d1", {"title": "x"}, 1]),
            ("replace_thing", ["Doc", "d1", {"title": "x"}, 1]),
            ("delete_thing", ["Doc", "d1", False, 1]),
            ("delete_thing", ["Doc", "d1", True, 1]),
            ("restore_thing", ["Doc", "d1", 1]),
        ]
        for method, params in calls:
            refused = c.post("/rpc", json={"method": method, "params": params})
            assert refused.status_code == 409, (method, refused.text)
            assert refused.json()["error"]["code"] == "version_conflict"
        kept = c.get("/Doc/d1").json()
        assert kept["$version"] == 2 and kept["title"] == "final"
        deleted = c.post("/rpc", json={"method": "delete_thing", "params": ["Doc", "d1", False, 2]})
        assert deleted.status_code == 200 and deleted.json()["result"]["$version"] == 3
        restored = c.post("/rpc", json={"method": "restore_thing", "params": ["Doc", "d1", 3]})
        assert restored.status_code == 200 and restored.json()["result"]["$version"] == 4
        erased = c.post("/rpc", json={"method": "delete_thing", "params": ["Doc", "d1", True, 4]})
        assert erased.status_code == 200
        assert erased.json()["result"] == {"$id": "d1", "$type": "Doc", "deleted": True}


def test_a_thing_erased_and_created_again_never_matches_the_old_ones_tags(runtime: LocalRuntime) -> None:
    """RFC 9110 §8.8.1: a strong tag names one representation. A thing deleted for good and
    created again under its id restarts at version 1; its tags were the version alone, so
    the old life's `"1"` passed `If-Match` on the new thing and got it a 304 it never saw."""
    with runtime.client() as c:
        c.post("/Doc", json={"$id": "other"})
        first = c.post("/Doc", json={"$id": "d1", "title": "old"})
        old = first.headers["etag"]
        assert c.get("/Doc/d1", headers={"if-none-match": old}).status_code == 304
        assert c.delete("/Doc/d1", params={"hard": "true"}).status_code == 200
        second = c.post("/Doc", json={"$id": "d1", "title": "new"})
        assert second.status_code == 201 and second.json()["$version"] == 1
        new = second.headers["etag"]
        assert new != old and new == etag(second.json())
        seen = c.get("/Doc/d1", headers={"if-none-match": old})  # not the thing the client has
        assert seen.status_code == 200 and seen.json()["title"] == "new" and seen.headers["etag"] == new
        for method, path, body in (
            ("PATCH", "/Doc/d1", {"title": "x"}),
            ("PUT", "/Doc/d1", {"title": "x"}),
            ("DELETE", "/Doc/d1", None),
            ("POST", "/Doc/d1/cites", {"to": "Doc/other"}),
            ("GET", "/Doc/d1", None),
        ):
            refused = c.request(method, path, json=body, headers={"if-match": old})
            assert refused.status_code == 412, (method, path, refused.text)
            assert refused.headers["etag"] == new
        assert c.get("/Doc/d1").json()["title"] == "new"
        # as it was: the old life answers its own tag, the new life's matches only itself
        then = {"as_of": str(first.json()["$updated_at"])}
        assert c.get("/Doc/d1", params=then, headers={"if-none-match": old}).status_code == 304
        assert c.get("/Doc/d1", params=then, headers={"if-none-match": new}).status_code == 200
        assert c.get("/Doc/d1", headers={"if-match": new}).status_code == 200


def test_an_empty_if_match_does_not_reach_the_object_on_the_local_runtime(runtime: LocalRuntime) -> None:
    """What the local runtime does to an empty header, measured (docs/api.md, "An empty
    header"): workerd's HTTP server drops the empty value of every header it knows by
    name (`If-Match`, `If-None-Match`, `If-Modified-Since`, `Range`, `Authorization`, ...)
    before any Worker runs, so the write is unconditional; a malformed value that is not
    empty reaches the object, which refuses it. If this starts failing, workerd passes
    empty values on: the object then answers 400 `invalid_precondition`, and the docs
    should say so."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        thing = make_thing(c, "e1")

    def patch(header: bytes) -> tuple[int, dict[str, Any]]:
        body = b'{"n": 2}'
        request = (
            b"PATCH /Doc/e1 HTTP/1.1\r\nHost: " + f"{tenant}.localhost".encode() + b"\r\n" + header
            + b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n" + body
        )  # fmt: skip
        with socket.create_connection(("127.0.0.1", runtime.port), timeout=30) as sock:
            sock.sendall(request)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        head, _, answer = received.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), json.loads(answer)

    status, answer = patch(b"If-Match: x\r\n")
    assert (status, answer["error"]["code"]) == (400, "invalid_precondition")
    status, answer = patch(b"If-Match: \r\n")
    assert status == 200 and answer["$version"] == thing["$version"] + 1, answer
