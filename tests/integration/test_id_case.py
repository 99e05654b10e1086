"""Ids dotdo makes (ULIDs: events, actions, approvals, dead letters, runs) are Crockford
base32, which is case-insensitive on input (https://github.com/ulid/spec): through the real
runtime, a cursor or an id sent in upper case names what it names in lower case, on every
route that takes one, and what is no id is still refused."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant

FULL = "/_full"
SHAPED = "01jbk" + "0" * 21
"""An id's shape with a `k` in it."""
KELVIN = "\u212a"
"""The Kelvin sign: `str.lower()` makes it `k`, which Crockford base32 (ASCII) does not."""


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_event_and_action_cursors_in_upper_case_give_the_same_next_page(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for n in range(4):
            assert c.post("/Customer", json={"$id": f"c{n}"}).status_code == 201
            assert c.post("/actions", json={"subject": f"Customer/c{n}", "verb": "touch"}).status_code == 201
        for route in ("/events", "/actions"):
            first = c.get(route, params={"limit": 2}).json()
            lower = c.get(route, params={"limit": 2, "cursor": first["cursor"]})
            upper = c.get(route, params={"limit": 2, "cursor": first["cursor"].upper()})
            assert lower.status_code == upper.status_code == 200, upper.text
            assert upper.json() == lower.json() and upper.json()["items"], route
            refused = c.get(route, params={"cursor": "01J" + "U" * 23})  # U is no base32 digit
            assert error_code(refused) == (400, "invalid_cursor"), route
            assert "26 Crockford base32 characters" in refused.json()["error"]["message"]
            # The Kelvin sign lowers to `k`, but Crockford base32 is ASCII: no id, in any case
            assert c.get(route, params={"cursor": SHAPED.upper()}).status_code == 200, route
            refused = c.get(route, params={"cursor": SHAPED.replace("k", KELVIN)})
            assert error_code(refused) == (400, "invalid_cursor"), route


def test_an_approval_and_its_run_are_found_by_their_ids_in_upper_case(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        started = c.post(f"{FULL}/workflows/refund", json={"input": {"id": "o-1", "amount": 30}})
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        status = c.get(f"{FULL}/workflows/{run_id}").json()
        assert c.get(f"{FULL}/workflows/{run_id.upper()}").json() == status
        items = c.get(f"{FULL}/approvals", params={"status": "pending"}).json()["items"]
        (approval,) = [item for item in items if item["run_id"] == run_id]
        shouted = approval["id"].upper()
        assert c.get(f"{FULL}/approvals/{shouted}").json() == approval
        decided = c.post(f"{FULL}/approvals/{shouted}", json={"decision": "approve"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["id"] == approval["id"] and decided.json()["status"] == "approved"
        assert c.get(f"{FULL}/workflows/{run_id.upper()}").json()["status"] == "completed"


def test_a_chosen_run_id_is_matched_exactly_first(runtime: LocalRuntime) -> None:
    """A caller's own run id that has a ULID's shape still names its own run, not the run of
    its lower-case form."""
    with runtime.client() as c:
        for run_id in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "01arz3ndektsv4rrffq69g5fav"):
            started = c.post("/_workflow/workflows/odd_flow", json={"input": {"kind": "none"}, "id": run_id})
            assert started.status_code == 201, started.text
        for run_id in ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "01arz3ndektsv4rrffq69g5fav"):
            assert c.get(f"/_workflow/workflows/{run_id}").json()["id"] == run_id
        started = c.post("/_workflow/workflows/odd_flow", json={"input": {"kind": "none"}, "id": SHAPED})
        assert started.status_code == 201, started.text
        assert c.get(f"/_workflow/workflows/{SHAPED.upper()}").json()["id"] == SHAPED
        lookalike = c.get(f"/_workflow/workflows/{SHAPED.replace('k', KELVIN)}")
        assert error_code(lookalike) == (404, "workflow_run_not_found")


def test_a_dead_letter_is_replayed_by_its_id_in_upper_case(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        sent_at = int(time.time() * 1000)
        sent = c.post("/_workflow/events", json={"type": "Odd.raised", "data": {"kind": "exit"}})
        assert sent.status_code == 201, sent.text
        for later in (5_000, 10_000):
            assert c.post("/_workflow/_test/alarm", json={"now": sent_at + later}).status_code == 200
        (dead,) = c.get("/_workflow/events/dead").json()["items"]
        replayed = c.post(f"/_workflow/events/dead/{dead['id'].upper()}/replay")
        assert replayed.status_code == 200, replayed.text
        body: dict[str, Any] = replayed.json()
        assert body["id"] == dead["id"]
