"""Clients for one tenant of a local runtime, on httpx: every request goes to loopback with
the tenant's host name (`acme.localhost`), as the passthrough worker reads it.

Beyond plain HTTP (`get`, `post`, ...): `rpc(method, *params)` over `POST /rpc`;
`ws(path)` opens a WebSocket; `subscribe(*patterns)` follows events over `/ws/rpc`;
`run_due(now)` / `advance_time(seconds)` fire what the object's alarm would fire
(schedules, delayed sends, retries, workflow resumptions) without waiting; `arm_fault(point)`
arms a named fault point. The last three call the test routes that `dotdo.testing`'s
runtime adds to every dotdo object it serves (`dotdo.testing.control`; never deployed).
With `prefix`, every path is under it (an object the worker serves under a path prefix, as
this repository's test harness does).
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from typing import TYPE_CHECKING, Any

import httpx

from dotdo.errors import RpcError
from dotdo.testing.control import CLOCK_HEADER, LATEST_MS
from dotdo.wire.codec import decode, encode

if TYPE_CHECKING:
    from dotdo.client_events import EventSubscription

__all__ = ["AsyncTenantClient", "Subscription", "TenantClient"]


def _result(response: httpx.Response) -> Any:
    """The decoded `result` of an RPC answer; RpcError with the server's code otherwise."""
    # This frame and the `rpc` calling it only re-raise the server's error: pytest leaves
    # them out of a failing test's traceback, which ends at the test's own call.
    __tracebackhide__ = True
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict) and "result" in body:
        return decode(body["result"])
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise RpcError(
            str(error.get("code")), str(error.get("message")), response.status_code, error.get("step")
        )
    raise RpcError("http_error", f"HTTP {response.status_code}: {response.text[:200]}", response.status_code)


def _checked_json(response: httpx.Response) -> Any:
    __tracebackhide__ = True  # as `_result`'s
    if not response.is_success:
        raise RpcError(
            "http_error", f"HTTP {response.status_code}: {response.text[:200]}", response.status_code
        )
    return response.json()


class Subscription:
    """Events pushed over one `/ws/rpc` socket: `next(timeout)` returns the next one (the
    `Event` fields as a dict: `id`, `type`, `data`, `timestamp`, `subject`, `object`).
    `connection` is the subscribed websockets (sync) connection; `events` the tagged
    params of events it pushed while the subscribe calls were answered (returned first)."""

    def __init__(self, connection: Any, events: list[Any] | None = None) -> None:
        self._connection = connection
        self._held = list(events or [])

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        """The next event; TimeoutError when none arrives within `timeout` seconds; RpcError
        `token_expired` or `subscription_closed` (naming the close code and reason) when the
        socket closes, as `EventSubscription.next` raises."""
        from websockets.exceptions import ConnectionClosed

        from dotdo.client_events import closed_error

        if self._held:
            held: dict[str, Any] = decode(self._held.pop(0))
            return held
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no event within {timeout} s")
                payload = json.loads(self._connection.recv(timeout=left))
                if payload.get("method") == "event":
                    event: dict[str, Any] = decode(payload["params"])
                    return event
        except ConnectionClosed as closed:
            raise closed_error(closed) from closed

    def close(self) -> None:
        """Close the socket (the subscriptions end with it)."""
        self._connection.close()


def _socket_headers(headers: httpx.Headers) -> dict[str, str]:
    """What a socket's handshake carries of an httpx client's headers: its credential."""
    authorization = headers.get("authorization")
    return {} if authorization is None else {"authorization": authorization}


class TenantClient(httpx.Client):
    """An httpx.Client for one tenant of a local runtime (see the module docstring): requests
    go to 127.0.0.1:`port` with the host name `<tenant>.localhost`, under the path `prefix`,
    each with a `timeout` in seconds."""

    def __init__(self, port: int, tenant: str, *, prefix: str = "", timeout: float = 30.0) -> None:
        super().__init__(
            base_url=f"http://127.0.0.1:{port}{prefix.rstrip('/')}",
            headers={"host": f"{tenant}.localhost"},
            timeout=timeout,
        )
        self.port = port
        self.tenant = tenant
        self.prefix = prefix.rstrip("/")
        self._skew_ms = 0

    def rpc(self, method: str, *params: Any) -> Any:
        """Call an `@rpc` method of the tenant's object; RpcError with the server's code."""
        __tracebackhide__ = True  # as `_result`'s
        body = {"method": method, "params": encode(list(params))}
        return _result(self.post("/rpc", json=body))

    @contextmanager
    def ws(self, path: str = "/ws") -> Iterator[Any]:
        """A WebSocket to `path` of the tenant's object (websockets' sync client), opened
        with the client's `Authorization` header when it has one (a token set on
        `client.headers` signs its sockets too)."""
        from websockets.sync.client import connect

        loopback = socket.create_connection(("127.0.0.1", self.port))
        url = f"ws://{self.tenant}.localhost:{self.port}{self.prefix}{path}"
        headers = _socket_headers(self.headers)
        with connect(url, sock=loopback, open_timeout=30, additional_headers=headers) as connection:
            yield connection

    @contextmanager
    def subscribe(self, *patterns: str) -> Iterator[Subscription]:
        """Follow events matching any of `patterns` (`Note.*`, `*.created`)."""
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        from dotdo.client_events import closed_error, refusal, subscribed
        from dotdo.wire.wsrpc import answer_to

        with ExitStack() as opened:
            try:
                connection = opened.enter_context(self.ws("/ws/rpc"))
            except InvalidStatus as refused:  # the upgrade refused (401, 403, 429), as the async one says
                raise refusal(refused.response.status_code, refused.response.body) from refused
            events: list[Any] = []  # pushed while a later pattern's answer is awaited
            try:
                for index, pattern in enumerate(patterns):
                    connection.send(json.dumps({"id": index, "method": "subscribe", "params": [pattern]}))
                    while (answer := answer_to(connection.recv(timeout=30), index, events)) is None:
                        pass
                    if "error" in answer:
                        raise RpcError(answer["error"]["code"], answer["error"]["message"])
                    subscribed(pattern, answer.get("result"))  # its `hint`, logged as the client's is
            except ConnectionClosed as closed:  # before the block: raised as `next` raises it
                raise closed_error(closed) from closed
            yield Subscription(connection, events)

    def run_due(self, now: float | None = None) -> dict[str, int]:
        """Do everything due at `now` (epoch ms; default: now plus `advance_time`'s total) in
        one pass, as one firing of the alarm would: how many items each timer source ran
        (`{"alarm", "sends", "deliveries", "schedules", "workflows"}` on a DOWorkflow;
        `{"alarm"}` on a DOCore)."""
        return self._pass(now, step=False)

    def advance_time(self, seconds: float) -> dict[str, int]:
        """Move this client's clock, and the tenant object's time, `seconds` ahead (adding
        up over calls), running what falls due on the way as the alarm would for an object
        that stays up: each wake in order at its own time (a retry due 2 s after a failure
        runs too; at most `control.MAX_STEPS` passes, then one at the end). The counts are
        summed over the passes. Every later request of this client carries the offset, so
        what the object schedules (a delay, a retry, a deadline) counts from the moved time.
        ValueError for `seconds` negative, not finite, or past 2100 in all."""
        self._skew_ms = _moved(self._skew_ms, seconds)
        self.headers[CLOCK_HEADER] = str(self._skew_ms)
        return self._pass(None, step=True)

    def _pass(self, now: float | None, *, step: bool) -> dict[str, int]:
        if now is None:
            now = time.time() * 1000 + self._skew_ms
        body = {"now": int(now), "step": step}
        started = time.monotonic()
        result: dict[str, int] = _checked_json(self.post("/_test/alarm", json=body))
        if time.monotonic() - started > LONG_REQUEST_SECONDS:
            renew_proxy_connections(self)
        return result

    def arm_fault(self, point: str) -> None:
        """Arm the named fault point `point` (`after_step:<run id>/<step id>`): the object hangs
        there once, so that the test can stop the runtime at exactly that place."""
        _checked_json(self.post("/_test/fault", json={"point": point}))


class AsyncTenantClient(httpx.AsyncClient):
    """The asyncio twin of TenantClient (same `port`, `tenant`, `prefix`, `timeout`).
    Connections are not kept alive, so the client holds nothing bound to one event loop and
    needs no closing."""

    def __init__(self, port: int, tenant: str, *, prefix: str = "", timeout: float = 30.0) -> None:
        super().__init__(
            base_url=f"http://127.0.0.1:{port}{prefix.rstrip('/')}",
            headers={"host": f"{tenant}.localhost"},
            timeout=timeout,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.port = port
        self.tenant = tenant
        self.prefix = prefix.rstrip("/")
        self._skew_ms = 0

    async def rpc(self, method: str, *params: Any) -> Any:
        """TenantClient.rpc, awaited."""
        __tracebackhide__ = True  # as `_result`'s
        body = {"method": method, "params": encode(list(params))}
        return _result(await self.post("/rpc", json=body))

    @asynccontextmanager
    async def ws(self, path: str = "/ws") -> AsyncIterator[Any]:
        """A WebSocket to `path` of the tenant's object (websockets' asyncio client), with
        the client's `Authorization` header as `TenantClient.ws`."""
        from websockets.asyncio.client import connect

        url = f"ws://{self.tenant}.localhost:{self.port}{self.prefix}{path}"
        headers = _socket_headers(self.headers)
        async with connect(
            url, host="127.0.0.1", port=self.port, open_timeout=30, additional_headers=headers
        ) as connection:
            yield connection

    def subscribe(self, *patterns: str) -> EventSubscription:
        """Events matching any of `patterns`, as they are sent: as `TenantClient.subscribe`,
        `async with client.subscribe("Ticket.*") as events:` is subscribed (the server
        acknowledged every pattern) before the block runs, and `await events.next(timeout)`
        returns the next event; `async for` over it works too, subscribing when the loop
        starts (see `dotdo.client_events.EventSubscription`)."""
        from dotdo.client_events import EventSubscription  # websockets, loaded when a test subscribes

        url = f"ws://{self.tenant}.localhost:{self.port}{self.prefix}/ws/rpc"
        options = {
            "host": "127.0.0.1",
            "port": self.port,
            "open_timeout": 30,
            "additional_headers": _socket_headers(self.headers),
        }
        return EventSubscription(url, options, patterns)

    async def run_due(self, now: float | None = None) -> dict[str, int]:
        """TenantClient.run_due, awaited."""
        return await self._pass(now, step=False)

    async def advance_time(self, seconds: float) -> dict[str, int]:
        """TenantClient.advance_time, awaited."""
        self._skew_ms = _moved(self._skew_ms, seconds)
        self.headers[CLOCK_HEADER] = str(self._skew_ms)
        return await self._pass(None, step=True)

    async def _pass(self, now: float | None, *, step: bool) -> dict[str, int]:
        if now is None:
            now = time.time() * 1000 + self._skew_ms
        body = {"now": int(now), "step": step}
        started = time.monotonic()
        result: dict[str, int] = _checked_json(await self.post("/_test/alarm", json=body))
        if time.monotonic() - started > LONG_REQUEST_SECONDS:
            # `_LOST_FORWARD`: held requests at once, each on a connection of its own
            await asyncio.gather(*(self._held() for _ in range(PROXY_HOLDS)))
        return result

    async def _held(self) -> None:
        with suppress(httpx.HTTPError):
            await self.post(BOOT_PATH, headers=HOLD_HEADERS)

    async def arm_fault(self, point: str) -> None:
        """TenantClient.arm_fault, awaited."""
        _checked_json(await self.post("/_test/fault", json={"point": point}))


LONG_REQUEST_SECONDS = 1.0
"""How long a time-travel pass may take before the client renews the proxy's connections."""
PROXY_HOLDS = 16
"""Held requests sent at once after a long pass (`_LOST_FORWARD`)."""
BOOT_PATH = "/_dotdo/boot"
HOLD_HEADERS = {"x-dotdo-local-runtime": "hold"}


def renew_proxy_connections(client: httpx.Client) -> None:
    """`PROXY_HOLDS` held requests at once through `client`, each on a connection of wrangler's
    proxy of its own (`_LOST_FORWARD`): after a long pass, and after each start of a
    `LocalRuntime`, whose boot holds the runtime's thread for seconds."""
    with ThreadPoolExecutor(PROXY_HOLDS) as pool:
        list(pool.map(lambda _: _held(client.post, BOOT_PATH, headers=HOLD_HEADERS), range(PROXY_HOLDS)))


def _held(post: Any, path: str, **kwargs: Any) -> None:
    """`post(path, **kwargs)`, whatever it answers or raises: a held request's only use is to
    take a connection."""
    with suppress(httpx.HTTPError):
        post(path, **kwargs)


_LOST_FORWARD = """After a request that ran for seconds (a long `advance_time`), wrangler 4's dev proxy
lost its forward of the next request to the worker and took it for a worker restart: a POST
answered 503 "Your worker restarted mid-request", a GET waited in the proxy's retry queue
until another request arrived (docs/api.md, "A GET held by wrangler's dev proxy"; measured:
the next request after a 12-15 s pass, every time). The proxy pools its connections to the
runtime and both ends close one after 5 s idle; one whose 5 s ended while the pass held the
runtime's thread is closed by the runtime as the thread comes back, with what the proxy
writes into it (ADR 0060). After such a pass the client sends `PROXY_HOLDS` requests at
once, each held 25 ms by the local runtime (`x-dotdo-local-runtime: hold`), so that each
takes a pooled connection of its own: a dead one costs a held request (a POST, answered 503
at once when lost), never the test's next one."""


def _moved(skew_ms: int, seconds: float) -> int:
    """The clock offset `seconds` past `skew_ms`; ValueError unless `seconds` is a finite
    number >= 0 and the time stays before 2100 (`control.LATEST_MS`)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < math.inf:
        raise ValueError(f"advance_time takes seconds, a finite number >= 0, not {seconds!r}")
    moved = skew_ms + int(seconds * 1000)
    if moved > LATEST_MS - time.time() * 1000:
        raise ValueError("advance_time moves the clock to 2100 at most")
    return moved
