"""DOCore state over HTTP: get/put/delete, listing, pagination, transactions, bad input."""

from __future__ import annotations

import pytest

from tests.runtime import LocalRuntime, new_tenant


def test_put_get_delete_round_trip(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        assert c.put("/state/user:1", json={"name": "Ada", "tags": ["x"]}).json() == {
            "key": "user:1",
            "value": {"name": "Ada", "tags": ["x"]},
        }
        assert c.get("/state/user:1").json()["value"] == {"name": "Ada", "tags": ["x"]}
        assert c.delete("/state/user:1").json() == {"key": "user:1", "deleted": True}
        missing = c.get("/state/user:1")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert c.delete("/state/user:1").status_code == 404  # a missing key, as its GET


def test_null_and_scalar_values_are_stored(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.put("/state/n", content=b"null")
        c.put("/state/s", json="text")
        assert c.get("/state/n").json() == {"key": "n", "value": None}
        assert c.get("/state/s").json()["value"] == "text"


def test_keys_with_slashes_percent_and_unicode(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for key, encoded in [
            ("a/b", "a%2Fb"),
            ("50%_off", "50%25_off"),
            ("ключ", "%D0%BA%D0%BB%D1%8E%D1%87"),
        ]:
            assert c.put(f"/state/{encoded}", json=key).status_code == 200
            assert c.get(f"/state/{encoded}").json() == {"key": key, "value": key}


def test_tenants_are_isolated(runtime: LocalRuntime) -> None:
    with runtime.client() as a, runtime.client() as b:
        a.put("/state/k", json=1)
        assert b.get("/state/k").status_code == 404


def test_list_prefix_is_literal(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for key in ["a%b1", "a%b2", "axb", "a_c", "abc", "b"]:
            c.put(f"/state/{key.replace('%', '%25')}", json=key)
        assert [i["key"] for i in c.get("/state", params={"prefix": "a%b"}).json()["items"]] == [
            "a%b1",
            "a%b2",
        ]
        assert [i["key"] for i in c.get("/state", params={"prefix": "a_"}).json()["items"]] == ["a_c"]


def test_list_range_reverse_and_limit(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        for i in range(10):
            c.put(f"/state/k{i}", json=i)
        body = c.get("/state", params={"start": "k2", "end": "k6"}).json()
        assert [i["key"] for i in body["items"]] == ["k2", "k3", "k4", "k5"]
        body = c.get("/state", params={"reverse": "true", "limit": "3"}).json()
        assert [i["key"] for i in body["items"]] == ["k9", "k8", "k7"]
        assert body["cursor"]


@pytest.mark.parametrize("reverse", ["false", "true"])
def test_cursor_walk_never_skips_or_repeats(runtime: LocalRuntime, reverse: str) -> None:
    with runtime.client() as c:
        keys = [f"item:{i:03d}" for i in range(25)]
        assert (
            c.post(
                "/state/transaction", json={"operations": [{"op": "set", "key": k, "value": k} for k in keys]}
            ).status_code
            == 200
        )
        seen: list[str] = []
        cursor = None
        while True:
            params = {"prefix": "item:", "limit": "4", "reverse": reverse}
            if cursor:
                params["cursor"] = cursor
            body = c.get("/state", params=params).json()
            seen += [i["key"] for i in body["items"]]
            if len(seen) == 8:  # writes between pages do not disturb the walk
                c.put("/state/item:000a", json="late")
            cursor = body["cursor"]
            if not cursor:
                break
        expected = sorted([*keys, "item:000a"], reverse=reverse == "true")
        if reverse == "false":
            expected.remove("item:000a")  # sorts before the cursor position once written
        assert seen == expected


def test_transaction_is_all_or_nothing(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.put("/state/keep", json="original")
        bad = c.post("/state/transaction", json={"operations": [
            {"op": "set", "key": "keep", "value": "changed"},
            {"op": "set", "key": "", "value": 1},
        ]})  # fmt: skip
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "invalid_key"
        assert c.get("/state/keep").json()["value"] == "original"
        ok = c.post("/state/transaction", json={"operations": [
            {"op": "set", "key": "keep", "value": "changed"},
            {"op": "delete", "key": "other"},
        ]})  # fmt: skip
        assert ok.json() == {"applied": 2}
        assert c.get("/state/keep").json()["value"] == "changed"


def test_bad_input_is_rejected_and_writes_nothing(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.put("/state/k", content=b"{not json")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_json")
        r = c.put("/state/" + "x" * 513, json=1)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_key")
        r = c.put("/state/big", content=b'"' + b"x" * (1024 * 1024 + 10) + b'"')
        assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
        r = c.get("/state", params={"limit": "0"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_limit")
        r = c.get("/state", params={"cursor": "garbage!"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_cursor")
        assert c.get("/state").json()["items"] == []


def test_a_field_an_operation_does_not_read_is_a_400_on_every_surface(runtime: LocalRuntime) -> None:
    """`{"op": "set", ..., "extra": 1}` and a delete's `value` were dropped in silence (200)."""
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        for operation in (
            {"op": "set", "key": "b", "value": 1, "extra": 1},
            {"op": "delete", "key": "zz", "value": 1},
        ):
            operations = [{"op": "set", "key": "a", "value": 1}, operation]
            r = c.post("/state/transaction", json={"operations": operations})
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_params"), r.text
            assert "operations[1]" in r.json()["error"]["message"]
            r = c.post("/rpc", json={"method": "transaction", "params": [operations]})
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_params"), r.text
        assert c.get("/state").json()["items"] == []
