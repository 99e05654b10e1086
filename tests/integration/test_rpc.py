"""RPC: real Workers RPC calls between a worker and an object, and POST /rpc."""

from __future__ import annotations

from tests.runtime import LocalRuntime, new_tenant


def test_no_mocking_required(runtime: LocalRuntime) -> None:
    """The architecture document's example: a real RPC call to a real object."""
    name = new_tenant()
    assert runtime.rpc(name, "set", "key", {"value": 42}).json() == {"result": None}
    assert runtime.rpc(name, "get", "key").json() == {"result": {"value": 42}}


def test_rpc_and_http_see_the_same_state(runtime: LocalRuntime) -> None:
    name = new_tenant()
    runtime.rpc(name, "set_many", {"a": 1, "b": [1, 2]})
    with runtime.client(name) as c:
        assert c.get("/state/b").json()["value"] == [1, 2]
        assert c.post("/rpc", json={"method": "list", "params": {"prefix": "a"}}).json() == {
            "result": {"items": [{"key": "a", "value": 1}], "has_more": False, "cursor": None}
        }
    assert runtime.rpc(name, "delete_many", ["a", "b", "c"]).json() == {"result": 2}


def test_only_marked_methods_are_reachable_over_workers_rpc(runtime: LocalRuntime) -> None:
    name = new_tenant()
    for method in ["helper_not_marked", "broadcast", "on_alarm", "routes", "_health", "migrations"]:
        r = runtime.rpc(name, method, binding="HARNESS")
        assert r.status_code == 500, method
        assert "does not implement" in r.json()["error"]["message"], (method, r.json())
    assert runtime.rpc(name, "connection_count", binding="HARNESS").json() == {"result": 0}


def test_every_method_name_reaches_the_python_class(runtime: LocalRuntime) -> None:
    """The local runtime's shell kept its own state under string names: an app's RPC method
    `calls` (or `instance`, `python`) answered "does not implement" from the shell."""
    name = new_tenant()
    for method in ["instance", "python", "calls", "release"]:
        answer = runtime.rpc(name, method, binding="HARNESS").json()
        assert answer == {"result": f"the app's {method}()"}, (method, answer)


def test_remote_exception_reaches_the_caller(runtime: LocalRuntime) -> None:
    r = runtime.rpc(new_tenant(), "fail", binding="HARNESS")
    assert r.status_code == 500
    assert "boom from the object" in r.json()["error"]["message"]


def test_http_rpc_errors(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.post("/rpc", json={"method": "_health"})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "method_not_found")
        r = c.post("/rpc", json={"method": "fetch", "params": []})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "method_not_found")
        r = c.post("/rpc", json={"method": "get", "params": [1, 2, 3]})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_params")
        r = c.post("/rpc", json={"method": "set", "params": ["", 1]})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_key")
        r = c.post("/rpc", json=["not", "an", "object"])
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_rpc")
        # No method, a method that is not a name, a field the envelope does not take (a
        # misspelt "params" called the method with none and answered 200).
        for body in ({}, {"params": []}, {"method": 5}, {"method": "list", "parms": {"prefix": "z"}}):
            r = c.post("/rpc", json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_rpc"), body
        assert "'parms'" in r.json()["error"]["message"]
        assert c.post("/rpc", json={"method": "set", "params": ["k", {"v": 1}]}).json() == {"result": None}
        assert c.post("/rpc", json={"method": "get", "params": {"key": "k"}}).json() == {"result": {"v": 1}}


def test_a_noun_called_as_a_method_answers_a_400_and_calls_no_other_object(runtime: LocalRuntime) -> None:
    """`Customer("c-1")` over `/rpc` is a reference, not a value: a 400 naming it. Encoding
    it once asked the accessor for `to_dict`, which a thing's accessor on DOWorkflow and
    above turns into a Workers RPC call to another object (the answer was "coroutine cannot
    be sent over RPC", after the call went out)."""
    with runtime.client(new_tenant()) as c:
        r = c.post("/rpc", json={"method": "Customer", "params": ["zz9"]})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "unserializable_result"
        assert r.json()["error"]["message"].startswith(
            "'Customer' answers an InstanceAccessor, which travels by reference: call its methods"
        )
        r = c.post("/rpc", json={"method": "Customer", "params": {"x": 1}})
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_params"
        assert error["message"].startswith("Wrong arguments for Customer(id): "), error
        assert "_remote_call" not in error["message"]
