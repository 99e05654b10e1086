"""The Python client addresses things by value: an id or verb travels whole as JSON in the
pipeline's target and arguments, never spliced into a path where a `/`, `?` or `#` in it
could address another route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from socket import SHUT_RDWR
from typing import Any

import httpx
import pytest

from dotdo.client import Client, RpcError
from dotdo.testing.clients import TenantClient
from tests.unit.wsserver import socket_server


def sent(calls: Callable[[Client], Awaitable[None]], result: Any = None) -> list[tuple[str, Any]]:
    """(raw path, JSON body) of each request the client sends for `calls(client)`, each
    answered `{"result": result}`."""
    requests: list[tuple[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append((request.url.raw_path.decode("ascii"), json.loads(request.content)))
        return httpx.Response(200, content=json.dumps({"result": result}).encode())

    async def run() -> None:
        client = Client("http://acme.localhost:8787")
        await client.aclose()
        client._http = httpx.AsyncClient(
            base_url="http://127.0.0.1:8787", transport=httpx.MockTransport(answer)
        )
        await calls(client)
        await client.aclose()

    asyncio.run(run())
    return requests


def test_thing_ids_and_verbs_travel_whole_as_values() -> None:
    async def calls(client: Client) -> None:
        await client.Customer("a/b").get()
        await client.Customer("a?b#c").delete()
        await client.Customer("café").related("owns/x")

    requests = sent(calls)
    assert [path for path, _ in requests] == ["/rpc/pipeline"] * 3
    targets = [body["pipeline"]["target"] for _, body in requests]
    assert targets == [["Customer", "a/b"], ["Customer", "a?b#c"], ["Customer", "café"]]
    related = requests[2][1]["pipeline"]["pipeline"][0]
    assert related["name"] == "related" and related["args"][0] == "owns/x"


def test_fan_out_sends_a_string_or_a_mapping_of_targets_as_it_is() -> None:
    """`fan_out("Customer/c1", ...)` sent one target a character ('C', 'u', ...), and a
    mapping its keys: the server refuses the wrong type, naming it, only when it gets it."""

    async def calls(client: Client) -> None:
        await client.fan_out("Customer/c1", "peek")
        await client.fan_out({"x": "Customer/c1"}, "peek")  # type: ignore[arg-type]
        await client.fan_out(iter(["Customer/c1"]), "peek")  # type: ignore[arg-type]

    params = [body["params"][0] for _, body in sent(calls, result={})]
    assert params == ["Customer/c1", {"x": "Customer/c1"}, ["Customer/c1"]]


def test_as_of_reads_and_event_pages_call_the_objects_rpc_methods_with_every_argument() -> None:
    async def calls(client: Client) -> None:
        await client.Customer("c/1").get(as_of=1_767_225_600_000)
        await client.Customer("c/1").get(True, as_of=5)
        await client.events("Customer.*", since=1, until=2, limit=10)

    requests = sent(calls)
    assert requests == [
        ("/rpc", {"method": "get_thing_as_of", "params": ["Customer", "c/1", 1_767_225_600_000, False]}),
        ("/rpc", {"method": "get_thing_as_of", "params": ["Customer", "c/1", 5, True]}),
        ("/rpc", {"method": "list_events", "params": ["Customer.*", None, 1, 2, None, 10]}),
    ]


def test_approvals_page_calls_the_objects_page_method_with_its_cursor() -> None:
    async def calls(client: Client) -> None:
        await client.approvals("pending", 5)
        await client.approvals_page("pending", 5, "1767225600000.01jb0000000000000000000000")

    assert sent(calls, result={}) == [
        ("/rpc", {"method": "approvals", "params": ["pending", 5]}),
        (
            "/rpc",
            {
                "method": "approvals_page",
                "params": ["pending", 5, "1767225600000.01jb0000000000000000000000"],
            },
        ),
    ]


def test_call_sends_named_parameters_as_an_object_as_rpc_takes_them() -> None:
    """`call` took positional parameters only: `call("list", prefix=...)` was a TypeError, and
    a dict passed positionally became the method's first argument."""

    async def calls(client: Client) -> None:
        await client.call("list", prefix="blob:", limit=1)
        await client.call("list", "blob:")

    assert sent(calls, result={}) == [
        ("/rpc", {"method": "list", "params": {"prefix": "blob:", "limit": 1}}),
        ("/rpc", {"method": "list", "params": ["blob:"]}),
    ]

    async def named_method(client: Client) -> None:  # `method` is call()'s own only by position
        await client.call("route", method="GET")

    assert sent(named_method, result={}) == [("/rpc", {"method": "route", "params": {"method": "GET"}})]

    async def both(client: Client) -> None:
        await client.call("list", "blob:", limit=1)

    with pytest.raises(TypeError, match="not both"):
        sent(both, result={})


def test_embed_sends_a_list_of_texts_even_for_one_string() -> None:
    """`ai_embed` takes a list only (a string is refused 400 `invalid_params`), so the
    client's one-string convenience must travel as a list of one."""

    async def calls(client: Client) -> None:
        await client.embed("a red apple")
        await client.embed(("a red apple", "a green pear"), model="@cf/baai/bge-small-en-v1.5")

    assert sent(calls) == [
        ("/rpc", {"method": "ai_embed", "params": [["a red apple"], None]}),
        (
            "/rpc",
            {"method": "ai_embed", "params": [["a red apple", "a green pear"], "@cf/baai/bge-small-en-v1.5"]},
        ),
    ]


def test_traverse_sends_its_start_and_hops_as_json_objects() -> None:
    from dotdo import Hop

    async def calls(client: Client) -> None:
        await client.Customer("c/1").traverse(
            [{"verb": "placed"}, Hop("contains", "out", "Product")], limit=5
        )

    assert sent(calls) == [
        (
            "/rpc",
            {
                "method": "traverse",
                "params": [
                    {"$type": "Customer", "$id": "c/1"},
                    [{"verb": "placed"}, {"verb": "contains", "direction": "out", "type": "Product"}],
                    5,
                ],
            },
        )
    ]


def test_traverse_sends_a_hop_of_another_shape_as_it_is() -> None:
    """The object answers a malformed hop (400 `invalid_traversal` naming it); the client
    neither converts nor crashes on it (it raised AttributeError: no attribute 'verb')."""

    async def calls(client: Client) -> None:
        await client.Hub("h1").traverse([["links", "out"]])
        await client.Hub("h1").traverse("links")

    params = [body["params"][1] for _, body in sent(calls)]
    assert params == [[["links", "out"]], "links"]


def _pushing_one_event(close: Callable[[Any], None]) -> Callable[[Any], None]:
    """A server's handler that answers the subscribe, sends one event and then `close(socket)`s."""

    def handle(socket: Any) -> None:
        request = json.loads(socket.recv())
        socket.send(json.dumps({"id": request["id"], "result": True}))
        event = {"id": "e1", "type": "Customer.created", "data": None, "subject": "c1"}
        socket.send(json.dumps({"method": "event", "params": event}))
        close(socket)

    return handle


def _subscribe_until_closed(close: Callable[[Any], None]) -> tuple[list[dict[str, Any]], RpcError]:
    """The events a subscription yields from a `_pushing_one_event(close)` server, and the
    error that ends the loop."""

    async def run(port: int) -> tuple[list[dict[str, Any]], RpcError]:
        got: list[dict[str, Any]] = []
        async with Client(f"http://127.0.0.1:{port}") as client:
            try:
                async for event in client.subscribe("Customer.*"):
                    got.append(event)
            except RpcError as error:
                return got, error
        raise AssertionError(f"the subscription ended quietly after {got}")

    with socket_server(_pushing_one_event(close)) as port:
        return asyncio.run(run(port))


def _sync_subscribe_until_closed(close: Callable[[Any], None]) -> tuple[list[dict[str, Any]], RpcError]:
    """`_subscribe_until_closed` with `dotdo.testing`'s sync `TenantClient.subscribe`."""
    got: list[dict[str, Any]] = []
    with (
        socket_server(_pushing_one_event(close)) as port,
        TenantClient(port, "acme") as client,
        client.subscribe("Customer.*") as events,
    ):
        try:
            while True:
                got.append(events.next(timeout=10))
        except RpcError as error:
            return got, error


def _drop(socket: Any) -> None:
    socket.socket.shutdown(SHUT_RDWR)  # a server restart: no close frame


def _going_away(socket: Any) -> None:
    socket.close(1001, "deploy")


def _expire(socket: Any) -> None:
    socket.close(1008, "token_expired")


@pytest.mark.parametrize("subscribe", [_subscribe_until_closed, _sync_subscribe_until_closed])
def test_a_subscription_whose_socket_drops_raises_subscription_closed(subscribe: Any) -> None:
    got, error = subscribe(_drop)
    assert [event["id"] for event in got] == ["e1"]
    assert error.code == "subscription_closed" and "1006" in error.message


@pytest.mark.parametrize("subscribe", [_subscribe_until_closed, _sync_subscribe_until_closed])
def test_a_subscription_closed_by_the_server_raises_rather_than_ending_quietly(subscribe: Any) -> None:
    # The sync client let websockets' ConnectionClosedOK through, not the client's error.
    got, error = subscribe(_going_away)
    assert [event["id"] for event in got] == ["e1"]
    assert error.code == "subscription_closed" and "1001: deploy" in error.message


@pytest.mark.parametrize("subscribe", [_subscribe_until_closed, _sync_subscribe_until_closed])
def test_a_subscription_closed_because_its_token_expired_says_so(subscribe: Any) -> None:
    got, error = subscribe(_expire)
    assert [event["id"] for event in got] == ["e1"]
    assert error.code == "token_expired" and "new token" in error.message


def _subscribe_refused(status: int, body: bytes, sync: bool = False) -> RpcError:
    """The error of a subscription whose upgrade the server answers with `status` and `body`
    (`sync`: `dotdo.testing`'s `TenantClient.subscribe`, which let websockets' InvalidStatus
    through)."""
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    def refuse(connection: Any, request: Any) -> Response:
        return Response(status, "Refused", Headers({"content-type": "application/json"}), body)

    def never(socket: Any) -> None:
        raise AssertionError("no socket is opened")

    async def run(port: int) -> RpcError:
        async with Client(f"http://127.0.0.1:{port}") as client:
            try:
                async for _ in client.subscribe("Customer.*"):
                    pass
            except RpcError as error:
                return error
        raise AssertionError("the subscription was not refused")

    with socket_server(never, process_request=refuse) as port:
        if not sync:
            return asyncio.run(run(port))
        with TenantClient(port, "acme") as client:
            try:
                with client.subscribe("Customer.*"):
                    pass
            except RpcError as error:
                return error
    raise AssertionError("the subscription was not refused")


@pytest.mark.parametrize("sync", [False, True])
def test_an_upgrade_answered_with_a_json_error_raises_the_servers_code(sync: bool) -> None:
    body = json.dumps({"error": {"code": "token_invalid", "message": "Capability token is expired"}})
    error = _subscribe_refused(401, body.encode(), sync)
    assert (error.code, error.message) == ("token_invalid", "Capability token is expired")


@pytest.mark.parametrize("sync", [False, True])
def test_an_upgrade_answered_with_another_status_raises_subscription_refused(sync: bool) -> None:
    error = _subscribe_refused(500, b"Internal Server Error", sync)
    assert error.code == "subscription_refused" and "HTTP 500" in error.message


def test_a_subscription_keeps_the_base_urls_path() -> None:
    """`Client("http://127.0.0.1:8787/@acme")` names the tenant in its path: the event socket
    goes there too, not to `/ws/rpc` of the default tenant."""
    paths: list[str] = []

    def handle(socket: Any) -> None:
        paths.append(socket.request.path)
        socket.close(1001, "done")

    async def run(port: int) -> None:
        async with Client(f"http://127.0.0.1:{port}/@acme") as client:
            with pytest.raises(RpcError):
                async for _ in client.subscribe("Customer.*"):
                    pass

    with socket_server(handle) as port:
        asyncio.run(run(port))
    assert paths == ["/@acme/ws/rpc"]
