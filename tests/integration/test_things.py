"""DOSemantic over HTTP and RPC: things, queries, OCC, soft delete, the cache, relationships, raw SQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant


def where(clause: dict[str, Any]) -> dict[str, str]:
    return {"where": json.dumps(clause)}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_create_get_and_wire_form(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        created = c.post("/Customer", json={"name": "Ada", "address": {"city": "Oslo"}})
        assert created.status_code == 201
        thing = created.json()
        assert list(thing)[:5] == ["$id", "$type", "$created_at", "$updated_at", "$version"]
        assert thing["$type"] == "Customer" and thing["$version"] == 1
        assert thing["$created_at"] == thing["$updated_at"] and "$deleted_at" not in thing
        assert created.headers["etag"] == f'"1.{thing["$created_at"]}"'
        fetched = c.get(f"/Customer/{thing['$id']}")
        assert fetched.json() == thing
        # the same id under another type is not that thing
        assert c.get(f"/Order/{thing['$id']}").status_code == 404


def test_ids_are_unique_and_sort_by_creation(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        items = c.post("/Event", json=[{"n": i} for i in range(50)]).json()["items"]
        ids = [t["$id"] for t in items]
        assert len(set(ids)) == 50
        assert ids == sorted(ids)
        later = c.post("/Event", json={"n": 50}).json()["$id"]
        assert later > ids[-1]


def test_caller_supplied_id_and_duplicates(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.post("/Customer", json={"$id": "cust-1", "name": "A"}).status_code == 201
        duplicate = c.post("/Customer", json={"$id": "cust-1", "name": "B"})
        assert duplicate.status_code == 409 and error_code(duplicate) == "thing_exists"
        assert c.get("/Customer/cust-1").json()["name"] == "A"
        elsewhere = c.post("/Order", json=[{"$id": "o-1"}, {"$id": "cust-1"}])  # a batch, another type
        assert elsewhere.status_code == 409
        assert elsewhere.json()["error"]["message"].startswith("Customer 'cust-1' already exists")
        rpc = c.post("/rpc", json={"method": "create_thing", "params": ["Customer", {"$id": "cust-1"}]})
        assert rpc.json()["error"]["message"] == "Customer 'cust-1' already exists"
        bad = c.post("/Customer", json={"$id": "bad id!", "name": "C"})
        assert bad.status_code == 400 and error_code(bad) == "invalid_id"


def test_create_many_is_all_or_nothing_and_the_cache_agrees(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "taken"})
        batch = c.post("/Customer", json=[{"$id": "fresh-1"}, {"$id": "fresh-2"}, {"$id": "taken"}])
        assert batch.status_code == 409
        # fresh-1 went into the cache before the batch failed; it must not be served from there
        assert c.get("/Customer/fresh-1").status_code == 404
        assert c.get("/Customer").json()["total"] == 1


def test_update_merges_and_honours_versions(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/Customer", json={"name": "Ada", "address": {"city": "Oslo", "zip": "0150"}}).json()
        url = f"/Customer/{thing['$id']}"
        first, second = f'"1.{thing["$created_at"]}"', f'"2.{thing["$created_at"]}"'
        patched = c.patch(
            url, json={"address": {"zip": None, "street": "Main"}, "plan": "pro"}, headers={"if-match": first}
        )
        assert patched.status_code == 200
        assert patched.json()["address"] == {"city": "Oslo", "street": "Main"}
        assert patched.json()["$version"] == 2 and patched.headers["etag"] == second
        stale = c.patch(url, json={"plan": "team"}, headers={"if-match": first})
        assert stale.status_code == 412 and error_code(stale) == "precondition_failed"
        stale_body = c.patch(url, json={"plan": "team", "$version": 1})
        assert stale_body.status_code == 409 and error_code(stale_body) == "version_conflict"
        assert c.get(url).json()["plan"] == "pro"
        assert c.patch(url, json={"plan": "x"}, headers={"if-match": "nonsense"}).status_code == 400
        replaced = c.put(url, json={"name": "Ada L."}, headers={"if-match": second}).json()
        assert replaced == {**{k: v for k, v in replaced.items() if k.startswith("$")}, "name": "Ada L."}
        assert replaced["$version"] == 3
        assert c.patch("/Customer/missing", json={"a": 1}).status_code == 404
        bad = c.patch(url, json={"$secret": 1})
        assert bad.status_code == 400 and error_code(bad) == "invalid_data"
        for write in (c.patch, c.put):  # a thing never changes its id; PATCH once ignored the $id
            moved = write(url, json={"$id": "someone-else", "name": "Eve"})
            assert moved.status_code == 400 and error_code(moved) == "id_mismatch"
        assert c.get(url).json()["name"] == "Ada L." and c.get("/Customer/someone-else").status_code == 404
        same = c.patch(url, json={"$id": thing["$id"], "plan": "team"})  # a thing read, sent back
        assert same.status_code == 200 and same.json()["plan"] == "team"


def test_soft_delete_restore_and_hard_delete(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/Customer", json={"name": "Ada"}).json()
        url = f"/Customer/{thing['$id']}"
        deleted = c.delete(url).json()
        assert deleted["$deleted_at"] >= thing["$created_at"] and deleted["$version"] == 2
        assert c.get(url).status_code == 404
        assert c.get(url, params={"include_deleted": "true"}).json()["$deleted_at"] == deleted["$deleted_at"]
        assert c.get("/Customer").json()["total"] == 0
        assert c.get("/Customer", params={"include_deleted": "true"}).json()["total"] == 1
        assert c.patch(url, json={"a": 1}).status_code == 404
        restored = c.post(f"{url}/restore").json()
        assert "$deleted_at" not in restored and restored["$version"] == 3
        assert c.get(url).status_code == 200
        assert c.delete(url, params={"hard": "true"}).json()["deleted"] is True
        assert c.get(url, params={"include_deleted": "true"}).status_code == 404
        assert c.delete(url, params={"hard": "true"}).status_code == 404


def test_list_where_order_paging_select(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        people = [
            {"name": "Ada", "age": 36, "plan": "pro", "address": {"city": "Oslo"}},
            {"name": "Bob", "age": 17, "plan": "free"},
            {"name": "Cy", "age": 50, "plan": "team", "address": {"city": "Rome"}},
            {"name": "Di", "age": 29, "plan": "pro", "vip": True},
            {"name": "ed", "age": None},
        ]
        c.post("/Customer", json=people)
        page = c.get("/Customer", params={**where({"age": {"$gte": 18}}), "order_by": "-age"}).json()
        assert [t["name"] for t in page["items"]] == ["Cy", "Ada", "Di"] and page["total"] == 3
        assert c.get("/Customer", params=where({"address.city": "Oslo"})).json()["items"][0]["name"] == "Ada"
        either = where({"$or": [{"plan": "team"}, {"vip": True}]})
        assert {t["name"] for t in c.get("/Customer", params=either).json()["items"]} == {"Cy", "Di"}
        nulls = c.get("/Customer", params=where({"age": None})).json()
        assert [t["name"] for t in nulls["items"]] == ["ed"]
        paged = c.get(
            "/Customer", params={"order_by": "name", "limit": "2", "offset": "1", "total": "exact"}
        ).json()
        assert [t["name"] for t in paged["items"]] == ["Bob", "Cy"] and paged["total"] == 5
        selected = c.get("/Customer", params={"select": "name", "limit": "1"}).json()["items"][0]
        assert set(selected) == {"$id", "$type", "$created_at", "$updated_at", "$version", "name"}
        not_pro = c.get(
            "/Customer", params=where({"plan": {"$nin": ["pro"]}, "age": {"$exists": True}})
        ).json()
        assert {t["name"] for t in not_pro["items"]} == {"Bob", "Cy", "ed"}


def test_array_operators_run_in_the_objects_sqlite(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post(
            "/Customer",
            json=[
                {"$id": "both", "tags": ["vip", "beta", 3]},
                {"$id": "vip", "tags": ["vip"]},
                {"$id": "none", "tags": []},
                {"$id": "text", "tags": "vip"},
                {"$id": "object", "tags": {"vip": True}},
            ],
        )

        def ids(clause: dict[str, Any]) -> list[str]:
            response = c.get("/Customer", params=where(clause))
            assert response.status_code == 200, response.text
            return sorted(t["$id"] for t in response.json()["items"])

        assert ids({"tags": {"$all": ["vip"]}}) == ["both", "vip"]
        assert ids({"tags": {"$all": ["vip", 3]}}) == ["both"]
        assert ids({"tags": {"$all": ["3"]}}) == []  # kinds never mix
        assert ids({"tags": {"$size": 0}}) == ["none"]
        assert ids({"tags": {"$not": {"$all": ["vip"]}}}) == ["none", "object", "text"]
        assert (
            c.get("/Customer", params=where({"tags": {"$all": []}})).json()["error"]["code"]
            == "invalid_where"
        )


def test_regex_runs_in_python_and_keeps_paging_right(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post(
            "/Customer",
            json=[{"name": f"{'Ann' if i % 3 == 0 else 'Bob'}-{i:03}", "i": i} for i in range(300)],
        )
        clause = where({"name": {"$regex": "^ann", "$options": "i"}, "i": {"$gte": 30}})
        page = c.get(
            "/Customer", params={**clause, "order_by": "i", "limit": "5", "offset": "10", "total": "exact"}
        ).json()
        assert page["total"] == 90
        assert [t["i"] for t in page["items"]] == [60, 63, 66, 69, 72]
        # 270 candidates: this page spans the first batch of rows and the batches read by id
        tail = c.get("/Customer", params={**clause, "order_by": "i", "limit": "10", "offset": "85"}).json()
        assert [t["i"] for t in tail["items"]] == [285, 288, 291, 294, 297] and tail["has_more"] is False
        newest = c.get("/Customer", params={**clause, "order_by": "-i", "limit": "2", "offset": "88"}).json()
        assert [t["i"] for t in newest["items"]] == [33, 30]


def test_invalid_queries_are_400_with_the_validators_message(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        cases = [
            (where({"age": {"$invalid": 1}}), "invalid_where", "Unknown operator: $invalid"),
            (where({"a'); DROP TABLE things; --": 1}), "invalid_where", "Invalid field name"),
            (where({"age": {"$gt": [1]}}), "invalid_where", "not an array"),
            ({"where": "{not json"}, "invalid_where", "not valid JSON"),
            ({"order_by": "name; DROP TABLE things"}, "invalid_order_by", "Order direction"),
            ({"order_by": "-na\x27me"}, "invalid_order_by", "Invalid field name"),
            ({"order_by": "name sideways"}, "invalid_order_by", "asc"),
            ({"limit": "-1"}, "invalid_limit", "limit"),
            ({"select": "a.b"}, "invalid_select", "top-level"),
        ]
        for params, code, message in cases:
            response = c.get("/Customer", params=params)
            assert response.status_code == 400, params
            assert error_code(response) == code and message in response.json()["error"]["message"]
        assert c.post("/Customer", json={"name": "still here"}).status_code == 201
        assert c.get("/Customer").json()["total"] == 1
        bad_type = c.post("/Cust%27omer", json={})
        assert bad_type.status_code == 400 and error_code(bad_type) == "invalid_type"
        assert c.post("/Customer", json=[1, 2]).status_code == 400
        assert c.post("/Customer", content=b"nope").status_code == 400


def test_read_only_sql(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json=[{"name": "Ada"}, {"name": "Bob"}])
        ok = c.post(
            "/query",
            json={
                "sql": "SELECT json_extract(data, '$.name') AS name FROM things WHERE type = ? ORDER BY 1",
                "params": ["Customer"],
            },
        )
        assert ok.json() == {"rows": [{"name": "Ada"}, {"name": "Bob"}], "truncated": False}
        for sql, message in [
            ("SELECT 1; DROP TABLE things", "Multiple statements not allowed"),
            ("DELETE FROM things", "Only SELECT"),
            ("SELECT * FROM things -- sneaky", "Comments not allowed"),
            ("PRAGMA table_info(things)", "Only SELECT"),
            ("SELECT 1 /* x */", "Comments not allowed"),
            ("ATTACH DATABASE 'x' AS y", "Only SELECT"),
        ]:
            refused = c.post("/query", json={"sql": sql})
            assert refused.status_code == 400 and error_code(refused) == "invalid_sql"
            assert message in refused.json()["error"]["message"]
        broken = c.post("/query", json={"sql": "SELECT * FROM no_such_table"})
        assert broken.status_code == 400 and error_code(broken) == "query_failed"
        assert c.get("/Customer").json()["total"] == 2


def test_relationships_and_actions(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "ada", "name": "Ada"})
        c.post("/Order", json=[{"$id": "o1", "total": 5}, {"$id": "o2", "total": 7}])
        c.post("/Product", json={"$id": "p1", "name": "Lamp"})
        action = c.post(
            "/actions",
            json={"subject": "Customer/ada", "verb": "place", "object": "Order/o1", "data": {"via": "web"}},
        )
        assert action.status_code == 201
        assert action.json()["event"]["type"] == "Customer.placed"
        c.post(
            "/actions",
            json={"subject": {"$type": "Customer", "$id": "ada"}, "verb": "place", "object": "Order/o2"},
        )
        assert c.post("/Order/o1/contains", json={"to": "Product/p1"}).status_code == 201
        assert c.post("/Order/o1/contains", json={"to": "Product/p1"}).status_code == 200  # already there
        placed = c.get("/Customer/ada/placed").json()
        assert [t["$id"] for t in placed["items"]] == ["o1", "o2"]
        backwards = c.get("/Order/o2/placed", params={"direction": "in"}).json()
        assert [t["$id"] for t in backwards["items"]] == ["ada"]
        assert c.get("/Customer/ada/placed", params={"type": "Product"}).json()["items"] == []
        first = c.get("/Customer/ada/placed", params={"limit": "1"}).json()
        assert (first["total"], first["has_more"]) == (None, True)  # the page's length was its total
        assert c.get("/Customer/ada/placed", params={"limit": "1", "total": "exact"}).json()["total"] == 2
        hops = [{"verb": "placed"}, {"verb": "contains", "type": "Product"}]
        two_hops = runtime.rpc(c.headers["host"].split(".")[0], "traverse", "Customer/ada", hops).json()
        assert two_hops["result"] == [{"$type": "Product", "$id": "p1"}]
        events = c.get("/events", params={"type": "Customer.placed"}).json()["items"]
        assert [e["object"] for e in events] == ["o1", "o2"]
        audit = c.get("/actions", params={"thing": "o1"}).json()["items"]
        assert len(audit) == 1 and audit[0]["verb"] == "place" and audit[0]["data"] == {"via": "web"}
        assert c.get("/Customer/nobody/placed").status_code == 404
        assert c.post("/actions", json={"subject": "nobody", "verb": "x"}).status_code == 400
        # a verb of the thing store's own events, or an inflected one, would fake or garble them
        for verb, code in (
            ("update", "reserved_verb"),
            ("created", "reserved_verb"),
            ("moved", "invalid_verb"),
        ):
            refused = c.post("/actions", json={"subject": "Customer/ada", "verb": verb})
            assert (refused.status_code, refused.json()["error"]["code"]) == (400, code)
        assert not c.get("/events", params={"type": "Customer.updated"}).json()["items"]
        assert not c.get("/events", params={"type": "Customer.moveded"}).json()["items"]


def test_an_edge_takes_the_verbs_an_action_takes_and_old_edges_stay_readable(runtime: LocalRuntime) -> None:
    """`POST /Note/n1/created` made an edge while `POST /actions` refused the verb: one rule,
    every surface that writes an edge. Relating emits no event, so it never raised a
    `Note.created`; an edge stored under such a verb before still reads and deletes."""
    with runtime.client() as c:
        tenant = c.headers["host"].split(".")[0]
        for n in ("n1", "n2"):
            assert c.post("/_semantic/Note", json={"$id": n, "title": n}).status_code == 201
        for verb in ("create", "created", "updated", "deleting", "restores"):
            refused = c.post(f"/_semantic/Note/n1/{verb}", json={"to": "Note/n2"})
            assert (refused.status_code, error_code(refused)) == (400, "reserved_verb"), refused.text
            by_rpc = c.post(
                "/_semantic/rpc", json={"method": "relate", "params": ["Note/n1", verb, "Note/n2"]}
            )
            assert (by_rpc.status_code, error_code(by_rpc)) == (400, "reserved_verb")
            by_action = c.post(
                "/_semantic/actions", json={"subject": "Note/n1", "verb": verb, "object": "Note/n2"}
            )
            assert (by_action.status_code, error_code(by_action)) == (400, "reserved_verb")
            workers_rpc = runtime.rpc(tenant, "relate", "Note/n1", verb, "Note/n2", binding="SEMANTIC")
            assert "names the thing store's own events" in workers_rpc.json()["error"]["message"]
        assert c.get("/_semantic/Note/n1/created").json()["items"] == []
        created = c.get("/_semantic/events", params={"type": "Note.created"}).json()["items"]
        assert [e["subject"] for e in created] == ["n1", "n2"]  # the two creates, no more
        assert c.post("/_semantic/Note/n1/cites", json={"to": "Note/n2"}).status_code == 201
        # An edge written before the rule, under a reserved verb: read, then removed.
        inserted = c.post(
            "/_semantic/rpc",
            json={
                "method": "raw_rows",
                "params": [
                    "INSERT INTO dotdo_relationships (from_id, from_type, verb, to_id, to_type, data, "
                    "created_at) VALUES ('n1', 'Note', 'created', 'n2', 'Note', NULL, 1)"
                ],
            },
        )
        assert inserted.status_code == 200, inserted.text
        assert [e["$id"] for e in c.get("/_semantic/Note/n1/created").json()["items"]] == ["n2"]
        related = c.post("/_semantic/rpc", json={"method": "related", "params": ["Note/n1", "created"]})
        assert related.json()["result"] == [{"$type": "Note", "$id": "n2"}]
        removed = c.delete("/_semantic/Note/n1/created", params={"to": "Note/n2"})
        assert removed.status_code == 200 and removed.json()["deleted"] is True
        assert c.get("/_semantic/Note/n1/created").json()["items"] == []


def test_write_events_are_recorded(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        thing = c.post("/Customer", json={"name": "Ada"}).json()
        url = f"/Customer/{thing['$id']}"
        c.patch(url, json={"a": 1})
        c.delete(url)
        c.post(f"{url}/restore")
        c.delete(url, params={"hard": "true"})
        events = c.get("/events", params={"subject": thing["$id"]}).json()["items"]
        assert [e["type"] for e in events] == [
            "Customer.created",
            "Customer.updated",
            "Customer.deleted",
            "Customer.restored",
            "Customer.deleted",
        ]


def test_nouns_and_verbs_registries(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        person = c.post("/nouns", json={"name": "Person", "plural": "People", "indexes": ["email"]})
        assert person.status_code == 201 and person.json()["plural"] == "People"
        assert c.post("/nouns", json={"name": "Category"}).json()["plural"] == "Categories"
        assert c.post("/nouns", json={"name": "person"}).status_code == 400
        assert c.post("/nouns", json={"name": "Person", "indexes": ["bad-field"]}).status_code == 400
        assert [n["name"] for n in c.get("/nouns").json()["items"]] == ["Category", "Person"]
        verb = c.post("/verbs", json={"base": "ship"}).json()
        assert verb == {"base": "ship", "past": "shipped", "participle": "shipping", "third_person": "ships"}
        assert c.post("/verbs", json={"base": "run", "past": "ran"}).json()["past"] == "ran"


def test_a_prefixed_verb_names_its_event_and_a_verb_pair_registers_with_its_past(
    runtime: LocalRuntime,
) -> None:
    """`preOrder` raised `Customer.predOrder`; `find` was refused beside a registered `found`
    whatever was given. With its past it is taken, and each verb names its own event."""
    with runtime.client(new_tenant()) as c:
        c.post("/Customer", json={"$id": "c1"})
        c.post("/Order", json={"$id": "o1"})
        for verb in ("preOrder", "deQueue"):
            action = c.post("/actions", json={"subject": "Customer/c1", "verb": verb, "object": "Order/o1"})
            assert action.status_code == 201, action.text
        assert c.post("/verbs", json={"base": "found"}).status_code == 201
        refused = c.post("/verbs", json={"base": "find"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_verb")
        assert c.post("/verbs", json={"base": "find", "past": "found"}).status_code == 201
        for verb in ("found", "find"):
            action = c.post("/actions", json={"subject": "Customer/c1", "verb": verb, "object": "Order/o1"})
            assert action.status_code == 201, action.text
        events = c.get("/events", params={"subject": "c1"}).json()["items"]
        assert [e["type"] for e in events][1:] == [
            "Customer.preOrdered",
            "Customer.deQueued",
            "Customer.founded",
            "Customer.found",
        ]


def test_a_form_of_a_lifecycle_verb_is_refused_when_registered(runtime: LocalRuntime) -> None:
    """`register_verb("create")` and `past="created"` were taken, and refused only when an
    action used them: every path that registers a verb refuses them itself (ADR 0044)."""
    with runtime.client(new_tenant()) as c:
        for body in ({"base": "create"}, {"base": "make", "past": "created"}):
            refused = c.post("/verbs", json=body)
            assert (refused.status_code, refused.json()["error"]["code"]) == (400, "reserved_verb"), body
            by_rpc = c.post("/rpc", json={"method": "register_verb", "params": body})
            assert (by_rpc.status_code, by_rpc.json()["error"]["code"]) == (400, "reserved_verb")
        assert c.get("/verbs").json()["items"] == []


def test_python_accessors_inside_the_object(runtime: LocalRuntime) -> None:
    name = new_tenant()
    result = runtime.rpc(name, "accessors", binding="SEMANTIC").json()["result"]
    assert result["updated"]["plan"] == "pro" and result["updated"]["$version"] == 2
    assert result["spaceship"]["crew"] == 430 and result["ship_version"] == 1
    assert [t["name"] for t in result["adults"]] == ["Ada"]
    assert result["count"] == 2 and result["first_by_age"]["name"] == "Bob"
    assert (
        result["bob_deleted"] and result["count_after_delete"] == 1 and result["count_including_deleted"] == 2
    )
    assert result["sql_is_an_attribute"] == "Sql"
    assert (result["plural"], result["ran"], result["shipped"]) == ("People", "ran", "shipped")
    message = runtime.rpc(name, "undeclared_attribute", binding="SEMANTIC").json()["result"]
    assert "lowercase_name" in message


def test_cache_is_never_stale_after_a_rollback(runtime: LocalRuntime) -> None:
    result = runtime.rpc(new_tenant(), "rollback", binding="SEMANTIC").json()["result"]
    assert result["cached"]["name"] == "Before" and result["cached"]["$version"] == 1
    assert result["stored_version"] == 1
    assert result["ghost"] is None


@pytest.mark.parametrize(
    ("clause", "index"),
    [
        ({"email": "ada@example.com"}, "things_Customer_email"),
        ({"age": {"$gt": 30}}, "things_Customer_age"),
        ({"age": {"$gte": 18, "$lt": 65}}, "things_Customer_age"),
    ],
)
def test_indexed_fields_use_their_index(runtime: LocalRuntime, clause: dict[str, Any], index: str) -> None:
    plan = runtime.rpc(new_tenant(), "plan", clause, binding="SEMANTIC").json()["result"]
    assert any(index in step for step in plan), plan


def test_unindexed_fields_scan_by_type(runtime: LocalRuntime) -> None:
    plan = runtime.rpc(new_tenant(), "plan", {"name": "Ada"}, binding="SEMANTIC").json()["result"]
    assert not any("things_Customer_" in step for step in plan), plan


def test_total_and_has_more(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json=[{"n": i} for i in range(7)])
        default = c.get("/Customer", params={"limit": "3"}).json()  # counting every match is opt-in
        assert (default["total"], default["has_more"], len(default["items"])) == (None, True, 3)
        full = c.get("/Customer", params={"limit": "3", "total": "exact"}).json()
        assert (full["total"], full["has_more"], len(full["items"])) == (7, True, 3)
        last = c.get("/Customer", params={"limit": "3", "offset": "6"}).json()  # the end: counted by the page
        assert (last["total"], last["has_more"], len(last["items"])) == (7, False, 1)
        beyond = c.get("/Customer", params={"offset": "50", "total": "exact"}).json()
        assert (beyond["total"], beyond["has_more"], beyond["items"]) == (7, False, [])
        uncounted = c.get("/Customer", params={"limit": "3", "total": "false"}).json()
        assert (uncounted["total"], uncounted["has_more"]) == (None, True)
        regex = c.get(
            "/Customer",
            params={
                **where({"n": {"$gte": 0}, "x": {"$not": {"$regex": "z"}}}),
                "limit": "2",
                "total": "false",
            },
        ).json()
        assert (regex["total"], regex["has_more"], len(regex["items"])) == (None, True, 2)
        assert c.get("/Customer", params={"total": "maybe"}).status_code == 400


def test_a_list_pages_by_cursor(runtime: LocalRuntime) -> None:
    """`GET /:Noun?cursor=` and RPC `page_things(..., cursor=)` walk the whole list, a page
    after the last thing of the one before, on the runtime's SQLite and over things not yet
    flushed; a cursor of another list, a garbled one or one with an offset is a 400."""
    with runtime.client() as c:
        values = [None, True, 2, 0.5, "b", "a", [1], {"a": 1}, -3, "é"]
        c.post("/Customer", json=[{"$id": f"c{i:02}", "v": values[i % 10], "n": i % 3} for i in range(25)])
        c.post("/Customer", json={"$id": "c99"})  # no `v` at all
        for params in ({}, {"order_by": "v"}, {"order_by": "-v,n"}, where({"n": {"$gte": 1}})):
            whole = c.get("/Customer", params={**params, "limit": "1000"}).json()["items"]
            walked: list[str] = []
            page = c.get("/Customer", params={**params, "limit": "4"}).json()
            while True:
                walked += [thing["$id"] for thing in page["items"]]
                if page["cursor"] is None:
                    break
                page = c.get("/Customer", params={**params, "limit": "4", "cursor": page["cursor"]}).json()
            assert walked == [thing["$id"] for thing in whole] and len(walked) > 4
        first = c.get("/Customer", params={"order_by": "v", "limit": "2"}).json()
        host = c.headers["host"].split(".")[0]
        rpc = runtime.rpc(
            host, "page_things", "Customer", None, "v", 2, None, None, False, False, first["cursor"]
        )
        second = c.get("/Customer", params={"order_by": "v", "limit": "2", "cursor": first["cursor"]}).json()
        assert rpc.json()["result"]["items"] == second["items"] and second["total"] is None
        for params, code in (
            ({"order_by": "-v", "cursor": first["cursor"]}, "invalid_cursor"),
            ({"order_by": "v", **where({"n": 1}), "cursor": first["cursor"]}, "invalid_cursor"),
            ({"order_by": "v", "cursor": "garbled"}, "invalid_cursor"),
            ({"order_by": "v", "cursor": first["cursor"], "offset": "2"}, "invalid_query"),
        ):
            refused = c.get("/Customer", params=params)
            assert (refused.status_code, error_code(refused)) == (400, code)
        assert (
            error_code(c.get("/Order", params={"order_by": "v", "cursor": first["cursor"]}))
            == "invalid_cursor"
        )


def test_the_docs_transaction_example_commits_together_or_not_at_all(runtime: LocalRuntime) -> None:
    """docs/api.md's checkout (`self.sql.transaction(work)`): the book's update, the loan,
    the action with its edge and event commit together; when `work` raises, none of them
    does and the `HttpError` is the answer."""
    with runtime.client(prefix="/_semantic") as c:
        assert c.post("/Book", json={"$id": "b1", "available": 1}).status_code == 201
        loan = c.post("/rpc", json={"method": "checkout", "params": ["b1", "ada"]})
        assert loan.status_code == 200, loan.text
        assert loan.json()["result"]["member"] == "ada"
        refused = c.post("/rpc", json={"method": "checkout", "params": ["b1", "bo"]})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "unavailable"
        assert c.get("/Book/b1").json()["available"] == 0
        assert [loan["member"] for loan in c.get("/Loan").json()["items"]] == ["ada"]
        assert [e["subject"] for e in c.get("/events", params={"type": "Member.*"}).json()["items"]] == [
            "ada"
        ]
        assert c.post("/Book", json={"$id": "b2", "available": 1}).status_code == 201
        c.post("/rpc", json={"method": "checkout", "params": ["b2", "cy"]})
        c.post("/rpc", json={"method": "checkout", "params": ["b2", "di"]})
        assert sorted(loan["member"] for loan in c.get("/Loan").json()["items"]) == ["ada", "cy"]
        events = c.get("/events", params={"limit": 100}).json()["items"]
        assert [e["type"] for e in events].count("Loan.created") == 2
        assert [e["type"] for e in events].count("Member.borrowed") == 2
