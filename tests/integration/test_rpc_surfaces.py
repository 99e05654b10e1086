"""The RPC surfaces through the local runtime: pipelines, capability tokens, WebSocket RPC
with event push, and Cap'n Web driven by the real npm `capnweb` client."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from dotdo.wire.tokens import attenuate, mint
from tests.conftest import HARNESS_RPC_SECRET
from tests.runtime import ROOT, LocalRuntime, new_tenant

FAILED = (
    "Internal error: ValueError: internal detail that must not leak"
    " (ENVIRONMENT=development; the traceback is in the server's output)"
)
"""What the harness's `fail` answers on every RPC surface of the runtime, which runs with
ENVIRONMENT=development (production answers a bare "Internal error")."""


def pipeline(target: list[str], *steps: dict[str, Any], request_id: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"pipeline": {"target": target, "pipeline": list(steps)}}
    if request_id is not None:
        body["id"] = request_id
    return body


def call(name: str, *args: Any) -> dict[str, Any]:
    return {"type": "method", "name": name, "args": list(args)}


def prop(name: str | int) -> dict[str, Any]:
    return {"type": "property", "name": name}


def socket_to(runtime: LocalRuntime, tenant: str, path: str) -> ClientConnection:
    loopback = socket.create_connection(("127.0.0.1", runtime.port), timeout=30)
    return connect(f"ws://{tenant}.localhost:{runtime.port}{path}", sock=loopback, open_timeout=30)


def test_pipelines_on_the_object_and_on_nouns(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        c.post("/Customer", json={"$id": "c1", "name": "Ada", "address": {"city": "Oslo"}})
        got = c.post(
            "/rpc/pipeline", json=pipeline(["Customer", "c1"], call("get"), prop("address"), prop("city"))
        )
        assert got.json() == {"result": "Oslo"}
        first = c.post(
            "/rpc/pipeline", json=pipeline(["Customer"], call("findFirst", {"name": "Ada"}), prop("$id"))
        )
        assert first.json()["result"] == "c1"
        listed = c.post("/rpc/pipeline", json=pipeline(["Customer", ""], call("list"), prop(0), prop("name")))
        assert listed.json()["result"] == "Ada"
        # JavaScript-style options objects (the original dotdo's clients and the shared load kit)
        options = pipeline(["Customer", ""], call("findFirst", {"where": {"$id": "c1"}}), prop("name"))
        assert c.post("/rpc/pipeline", json=options).json()["result"] == "Ada"
        limited = c.post("/rpc/pipeline", json=pipeline(["Customer", ""], call("list", {"limit": 1})))
        assert len(limited.json()["result"]) == 1
        shaped = {"select": "name", "orderBy": {"name": "desc"}, "limit": 1}
        projected = c.post("/rpc/pipeline", json=pipeline(["Customer"], call("list", shaped), prop(0)))
        assert set(projected.json()["result"]) - {"$id", "$type", "$version"} >= {"name"}
        assert "address" not in projected.json()["result"]
        wrong = c.post("/rpc/pipeline", json=pipeline(["Customer"], call("list", {"limit": "1"})))
        assert (
            wrong.json()["error"]["code"] == "invalid_params" and "limit" in wrong.json()["error"]["message"]
        )
        batch = c.post(
            "/rpc/pipeline",
            json=[
                pipeline([], call("set", "k", {"n": 1}), request_id="a"),
                pipeline([], call("get", "k"), prop("n"), request_id="b"),
                pipeline([], call("__init__"), request_id="c"),
                pipeline(["Customer", "c1"], call("get"), prop("_private"), request_id="d"),
            ],
        ).json()
        assert batch[0] == {"id": "a", "result": None} and batch[1] == {"id": "b", "result": 1}
        assert batch[2]["error"]["code"] == "method_not_found" and batch[2]["error"]["step"] == 0
        assert batch[3]["error"] == {
            "code": "property_not_found",
            "message": "No readable property '_private' on dict",
            "step": 1,
        }
        missing = c.post("/rpc/pipeline", json=pipeline(["Customer", "nobody"], call("update", {"a": 1})))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "thing_not_found"


def test_pipeline_limits_and_bad_input(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        too_long = c.post("/rpc/pipeline", json=pipeline([], *[call("get", "k")] * 17))
        assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "pipeline_too_long"
        too_many = c.post("/rpc/pipeline", json=[pipeline([], call("get", "k"))] * 33)
        assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "batch_too_large"
        for body in [{"pipeline": []}, {"nope": 1}, [], pipeline(["A", "b", "c"], call("get"))]:
            response = c.post("/rpc/pipeline", json=body)
            assert response.status_code == 400 and response.json()["error"]["code"] in ("invalid_pipeline",)
        bad_args = c.post("/rpc/pipeline", json=pipeline([], call("get", "a", "b", "c", "d")))
        assert bad_args.status_code == 400 and bad_args.json()["error"]["code"] == "invalid_params"
        # a field an envelope does not take is refused, as POST /rpc refuses one (never ignored)
        misspelt = {"type": "method", "name": "get", "arg": ["k"]}
        for body in [
            {**pipeline([], call("get", "k")), "extra": 1},
            {"pipeline": {"target": [], "pipeline": [call("get", "k")], "extra": 1}},
            pipeline([], misspelt),
            [pipeline([], call("get", "k")), pipeline(["Customer"], {**prop("count"), "args": []})],
        ]:
            response = c.post("/rpc/pipeline", json=body)
            assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_pipeline"), body
            assert "Unknown field" in response.json()["error"]["message"]
        # getting-started's pipeline on a missing thing: the message names the null's source
        missing = c.post("/rpc/pipeline", json=pipeline(["Customer", "nobody"], call("get"), prop("name")))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "property_not_found"
        assert missing.json()["error"]["message"] == (
            "No readable property 'name' on null: Customer('nobody').get() answered null "
            "(get answers null when no thing has that id)"
        )


def test_rpc_targets_and_tagged_values(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        chain = c.post(
            "/_semantic/rpc/pipeline",
            json=pipeline([], call("getUser", "alice"), call("get_orders"), call("summarize")),
        )
        assert chain.json() == {"result": {"owner": "alice", "count": 3, "sum": 12}}
        name = c.post("/_semantic/rpc/pipeline", json=pipeline([], call("get_user", "bob"), prop("name")))
        assert name.json() == {"result": "bob"}
        hidden = c.post("/_semantic/rpc/pipeline", json=pipeline([], call("get_orders"), call("_secret")))
        assert hidden.json()["error"]["code"] == "method_not_found"
        failing = c.post("/_semantic/rpc/pipeline", json=pipeline([], call("get_user", "x"), call("fail")))
        assert failing.status_code == 500
        assert failing.json()["error"] == {"code": "internal_error", "message": FAILED, "step": 1}
        values = [{"$date": 5}, {"$bytes": "AQL/"}, {"$bigint": "12345678901234567890"}, {"$number": "NaN"}]
        for value, kind in zip(values, ["datetime", "bytes", "int", "float"], strict=True):
            assert c.post("/_semantic/rpc", json={"method": "describe", "params": [value]}).json() == {
                "result": kind
            }
            echoed = c.post("/_semantic/rpc", json={"method": "echo", "params": [value]}).json()["result"]
            assert echoed == value
        escaped = {"$escape": {"$date": "not a date"}}
        assert (
            c.post("/_semantic/rpc", json={"method": "echo", "params": [escaped]}).json()["result"] == escaped
        )
        bad = c.post("/_semantic/rpc", json={"method": "echo", "params": [{"$bytes": "***"}]})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_value"
        unsendable = c.post("/_semantic/rpc", json={"method": "get_user", "params": ["x"]})
        assert unsendable.status_code == 400 and unsendable.json()["error"]["code"] == "unserializable_result"


def test_capability_tokens_guard_every_surface(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    read = mint(HARNESS_RPC_SECRET, target=tenant, scope="read")
    write = mint(HARNESS_RPC_SECRET, target=tenant, scope="write", sub="alice")
    with runtime.client(tenant) as c:

        def rpc(method: str, token: str | None, *params: Any) -> httpx.Response:
            headers = {"x-capability": token} if token else {}
            return c.post("/_harness/rpc/pipeline", json=pipeline([], call(method, *params)), headers=headers)

        def code(response: httpx.Response) -> tuple[int, str]:
            return response.status_code, response.json()["error"]["code"]

        assert code(rpc("whoami", None)) == (401, "token_required")
        assert rpc("whoami", read).json() == {"result": tenant}
        assert code(rpc("set", read, "k", 1)) == (403, "token_scope")
        assert rpc("set", write, "k", 1).json() == {"result": None}
        assert code(rpc("wipe", write)) == (403, "token_scope")
        assert rpc("wipe", mint(HARNESS_RPC_SECRET, target=tenant, scope="admin")).json() == {
            "result": "wiped"
        }
        other = mint(HARNESS_RPC_SECRET, target="someone-else", scope="admin")
        assert code(rpc("whoami", other)) == (403, "token_wrong_target")
        anywhere = mint(HARNESS_RPC_SECRET, target="*", scope="read")
        assert rpc("whoami", anywhere).json() == {"result": tenant}
        expired = mint(HARNESS_RPC_SECRET, target=tenant, scope="read", ttl_seconds=-1)
        assert code(rpc("whoami", expired)) == (401, "token_expired")
        forged = mint("not-the-secret", target=tenant, scope="admin")
        assert code(rpc("whoami", forged)) == (401, "token_invalid")
        tampered = write.replace(write.split(".")[1], write.split(".")[1][:-2] + "AA")
        assert code(rpc("whoami", tampered))[0] == 401
        narrowed = attenuate(write, scope="read", methods=["whoami"])
        assert rpc("whoami", narrowed).json() == {"result": tenant}
        assert code(rpc("get", narrowed, "k")) == (403, "token_method")
        widened = attenuate(read, scope="admin")
        assert code(rpc("whoami", widened)) == (403, "token_widened")
        # the same token guards /rpc (the trailing slash gets past the harness's own /_harness/rpc),
        # as a bearer token; ?token= is for sockets and Cap'n Web only ...
        plain = c.post(
            "/_harness/rpc/", json={"method": "whoami"}, headers={"authorization": f"Bearer {read}"}
        )
        assert plain.json() == {"result": tenant}
        assert c.post("/_harness/rpc/", json={"method": "whoami"}, params={"token": read}).status_code == 401
        assert c.post("/_harness/rpc/", json={"method": "whoami"}).status_code == 401
    # ... /ws/rpc (checked at the upgrade and on every call) ...
    with pytest.raises(Exception, match="401"), socket_to(runtime, tenant, "/_harness/ws/rpc"):
        pass
    with socket_to(runtime, tenant, f"/_harness/ws/rpc?token={read}") as ws:
        ws.send(json.dumps({"id": 1, "method": "whoami"}))
        assert json.loads(ws.recv(timeout=10)) == {"id": 1, "result": tenant}
        ws.send(json.dumps({"id": 2, "method": "set", "params": ["k", 2]}))
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "token_scope"
    # ... and /capnweb
    batch = c_batch(
        runtime, tenant, "/_harness/capnweb", read, ['["push",["pipeline",0,["whoami"],[]]]', '["pull",1]']
    )
    assert batch == [["resolve", 1, tenant]]
    refused = c_batch(runtime, tenant, "/_harness/capnweb", None, ['["push",["pipeline",0,["whoami"],[]]]'])
    assert refused == 401


def c_batch(runtime: LocalRuntime, tenant: str, path: str, token: str | None, lines: list[str]) -> Any:
    with runtime.client(tenant) as c:
        response = c.post(path, content="\n".join(lines), params={"token": token} if token else None)
    if response.status_code != 200:
        return response.status_code
    return [json.loads(line) for line in response.text.split("\n") if line]


def test_a_failure_on_ws_rpc_is_named_in_development(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    write = mint(HARNESS_RPC_SECRET, target=tenant, scope="write")
    with socket_to(runtime, tenant, f"/_harness/ws/rpc?token={write}") as ws:
        ws.send(json.dumps({"id": 1, "method": "fail"}))
        assert json.loads(ws.recv(timeout=10)) == {
            "id": 1,
            "error": {
                "code": "internal_error",
                "message": "Internal error: RuntimeError: boom from the object"
                " (ENVIRONMENT=development; the traceback is in the server's output)",
            },
        }


def test_websocket_rpc_calls_subscriptions_and_limits(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with socket_to(runtime, tenant, "/ws/rpc") as ws:

        def ask(message: Any) -> dict[str, Any]:
            ws.send(message if isinstance(message, str) else json.dumps(message))
            answer: dict[str, Any] = json.loads(ws.recv(timeout=10))
            return answer

        assert ask({"id": 1, "method": "set", "params": ["k", {"n": 1}]}) == {"id": 1, "result": None}
        assert ask({"id": 2, "method": "get", "params": ["k"]}) == {"id": 2, "result": {"n": 1}}
        stored_date = ask({"id": 2, "method": "set", "params": ["k", {"$date": 5}]})  # state holds JSON only
        assert stored_date["error"]["code"] == "invalid_value"
        assert ask("not json")["error"]["code"] == "invalid_json"
        assert ask({"id": 3, "method": "__class__"})["error"]["code"] == "method_not_found"
        for unknown in ({"extra": 1}, {"param": ["k"]}):  # refused as POST /rpc refuses them
            refused = ask({"id": 6, "method": "get", "params": ["k"], **unknown})
            assert (
                refused["id"] == 6  # answered with the caller's id, so a client can match it
                and refused["error"]["code"] == "invalid_message"
                and "Unknown field" in refused["error"]["message"]
            )
        assert ask({"id": 4, "method": "subscribe", "params": ["Customer.*"]})["result"] == {
            "subscriptions": ["Customer.*"]
        }
        assert (
            ask({"id": 5, "method": "subscribe", "params": ["bad pattern"]})["error"]["code"]
            == "invalid_event_pattern"
        )
        hinted = ask({"id": 5, "method": "subscribe", "params": ["Customer.create"]})["result"]
        assert hinted["hint"].endswith("subscribe to 'Customer.created'")  # held all the same
        assert ask({"id": 5, "method": "unsubscribe", "params": ["Customer.create"]})["result"] == {
            "subscriptions": ["Customer.*"]
        }
        with runtime.client(tenant) as c:
            c.post("/Order", json={"n": 1})  # not subscribed
            c.post("/Customer", json={"$id": "pushed"})
        pushed = json.loads(ws.recv(timeout=10))
        assert pushed["method"] == "event" and pushed["params"]["type"] == "Customer.created"
        assert pushed["params"]["subject"] == "pushed"
        assert ask({"id": 6, "method": "unsubscribe", "params": ["Customer.*"]})["result"] == {
            "subscriptions": []
        }
        assert ask("x" * (64 * 1024 + 1))["error"]["code"] == "message_too_large"
        codes = [
            ask({"id": n, "method": "get", "params": ["k"]}).get("error", {}).get("code") for n in range(100)
        ]
        assert "rate_limited" in codes  # 100 messages in 10 s per socket; the socket stays open
        assert ask({"id": 7, "method": "get", "params": ["k"]}).get("error", {}).get("code") == "rate_limited"


def test_capnweb_with_the_real_javascript_client(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    url = f"http://{tenant}.localhost:{runtime.port}/_semantic/capnweb"
    script = Path(ROOT) / "tests" / "node" / "capnweb_client.mjs"
    done = subprocess.run(
        ["node", str(script), url], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    batch = result["batch"]
    assert batch[0] == {"value": "hello"}
    assert batch[1] == {"value": {"owner": "alice", "count": 3, "sum": 12}}
    assert batch[2] == {"value": "bob"}
    assert batch[3] == {
        "value": [
            1,
            [2],
            {"when": "1970-01-01T00:00:00.005Z"},
            {"bigint": "12345678901234567890"},
            {"bytes": [1, 2, 255]},
        ]
    }
    assert batch[4]["code"] == "method_not_found" and "nope" in batch[4]["error"]
    assert batch[5] == {"error": FAILED, "code": "internal_error"}
    assert batch[6] == {"value": [3, 4, 5]}
    assert result["batchRequests"] == 1  # every call above, pipelines included, in one round trip
    assert result["overSocket"][:2] == [
        {"value": "hey, carol"},
        {"value": {"owner": "carol", "count": 3, "sum": 12}},
    ]
    assert result["overSocket"][2] == {"error": FAILED, "code": "internal_error"}
    assert result["socketAnswers"] == 24  # the client releases each answer: none is refused


def test_the_python_client(runtime: LocalRuntime) -> None:
    import asyncio

    from dotdo.client import Client, RpcError

    tenant = new_tenant()

    async def scenario() -> None:
        async with Client(f"http://{tenant}.localhost:{runtime.port}") as client:
            assert await client.call("set", "greeting", {"text": "hi"}) is None
            assert await client.call("get", "greeting") == {"text": "hi"}
            ada = await client.Customer.create({"$id": "ada", "name": "Ada", "age": 36})
            await client.Customer.create_many([{"name": "Bob", "age": 17}])
            updated = await client.Customer("ada").update({"plan": "pro"}, expected_version=ada["$version"])
            assert updated["$version"] == 2
            try:
                await client.Customer("ada").update({"plan": "x"}, expected_version=1)
            except RpcError as error:
                assert (error.code, error.status) == ("version_conflict", 409)
            else:
                raise AssertionError("a stale version was accepted")
            adults = await client.Customer.list(where={"age": {"$gte": 18}})
            assert [t["$id"] for t in adults] == ["ada"]  # a list, as self.Customer().list() answers
            page = await client.Customer.page(where={"age": {"$gte": 18}}, limit=1)
            assert page["total"] == 1 and not page["has_more"] and page["items"] == adults
            assert await client.Customer("nobody").get() is None
            name = await client.pipeline("Customer", "ada").get()["name"]
            assert name == "Ada"
            assert await client.pipeline("Customer").count() == 2
            try:
                await client.pipeline().nope()
            except RpcError as error:
                assert error.code == "method_not_found" and error.step == 0

            events = client.subscribe("Customer.*")
            first = asyncio.ensure_future(anext(events))
            # The subscription is live once the handshake is done, which the caller does
            # not see: keep writing until the first event arrives.
            written: list[str] = []
            for n in range(40):
                written.append((await client.Customer.create({"$id": f"late-{n}"}))["$id"])
                done, _ = await asyncio.wait({first}, timeout=0.25)
                if done:
                    break
            event = await asyncio.wait_for(first, 10)
            assert event["type"] == "Customer.created" and event["subject"] in written
            await events.aclose()

    asyncio.run(scenario())


def test_an_async_subscription_entered_receives_an_event_created_right_after(runtime: LocalRuntime) -> None:
    """`async with client.subscribe(...)` returns once the server acknowledged the patterns,
    so an event sent at once after it is received, with no sleep and no retry: on the
    public Client and on the testing plugin's async client alike."""
    import asyncio

    from dotdo.client import Client

    tenant = new_tenant()

    async def scenario() -> list[str]:
        got = []
        client = Client(f"http://{tenant}.localhost:{runtime.port}")
        async with client, client.subscribe("Customer.*", "Order.created") as events:
            await client.Customer.create({"$id": "first"})
            event = await events.next(timeout=10)
            got.append(f"{event['type']} {event['subject']}")
            await client.Customer.create({"$id": "second"})
            async for event in events:
                got.append(f"{event['type']} {event['subject']}")
                break
        testing = runtime.async_client(tenant)
        async with testing.subscribe("Customer.*") as events:
            created = await testing.post("/Customer", json={"$id": "third"})
            assert created.status_code == 201
            event = await events.next(timeout=10)
            got.append(f"{event['type']} {event['subject']}")
        return got

    assert asyncio.run(scenario()) == [
        "Customer.created first",
        "Customer.created second",
        "Customer.created third",
    ]


def test_subscriptions_are_stored_with_the_socket(runtime: LocalRuntime) -> None:
    tenant = new_tenant()
    with socket_to(runtime, tenant, "/_workflow/ws/rpc") as ws:
        for n, pattern in enumerate(["Customer.*", "*.shipped"]):
            ws.send(json.dumps({"id": n, "method": "subscribe", "params": [pattern]}))
            ws.recv(timeout=10)
        stored = runtime.rpc(tenant, "socket_subscriptions", binding="WORKFLOW").json()["result"]
        assert stored == [["Customer.*", "*.shipped"]]  # read back from storage, not from memory


def js_examples(document: Path) -> list[str]:
    """The ```js blocks of a Markdown document, in order."""
    text = document.read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```js\n")[1:]]


def test_the_documented_capnweb_examples_run(runtime: LocalRuntime) -> None:
    # Each JavaScript example of the docs runs as written, against this runtime's object
    # in place of the example's host: a rejection (an HTTP batch awaited call by call
    # ends with 'Batch RPC request ended.') fails the script.
    documents = [Path(ROOT) / "README.md", *sorted((Path(ROOT) / "docs").rglob("*.md"))]
    examples = [(doc, code) for doc in documents for code in js_examples(doc)]
    assert examples, "the docs show the capnweb client"
    setup = (Path(ROOT) / "tests" / "node" / "capnweb_setup.mjs").as_uri()
    for document, code in examples:
        tenant = new_tenant()
        host = f"{tenant}.localhost:{runtime.port}/_semantic"
        script = (
            code.replace("https://acme.api.example.com", f"http://{host}")
            .replace("wss://acme.api.example.com", f"ws://{host}")
            .replace("?token=...", "")
        )
        done = subprocess.run(
            ["node", "--input-type=module"],
            input=f'import "{setup}";\n{script}\nprocess.exit(0);\n',
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{document.name}:\n{script}\n{done.stderr}"


def test_capnweb_references_to_later_pushes_and_aborted_sockets(runtime: LocalRuntime) -> None:
    from websockets.exceptions import ConnectionClosed

    tenant = new_tenant()
    forward = ['["push",["pipeline",2,[]]]', '["push",["pipeline",1,[]]]', '["pull",1]']
    with runtime.client(tenant) as c:
        answered = c.post("/_semantic/capnweb", content="\n".join(forward), timeout=30)
        assert answered.status_code == 200
        assert "push 1 refers to import 2, a later push" in json.loads(answered.text)[1][2]
        # a body ending with a newline is the same batch
        ended = c.post("/_semantic/capnweb", content='["push",["pipeline",0,["echo"],["hi"]]]\n["pull",1]\n')
        assert [json.loads(line)[0] for line in ended.text.split("\n")] == ["resolve"], ended.text
    with socket_to(runtime, tenant, "/_semantic/capnweb") as ws:
        ws.send('["push",["pipeline",1,[]]]')
        abort = json.loads(ws.recv(timeout=10))
        assert abort[0] == "abort" and "push 1 refers to itself" in abort[1][2]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
        assert "push 1 refers to itself" in closed.value.rcvd.reason
