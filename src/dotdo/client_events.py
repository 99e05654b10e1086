"""The Python client's event subscription (`dotdo.client.Client.subscribe`): one `/ws/rpc`
socket, subscribed to each pattern in turn (each answer matched by its id), whose pushed
events are yielded as they come and whose close, however it happens, is raised as
RpcError `subscription_closed`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import websockets

from dotdo.errors import RpcError
from dotdo.wire.codec import decode
from dotdo.wire.wsrpc import answer_to

__all__ = ["EventSubscription", "closed_error", "refusal", "subscribed"]

logger = logging.getLogger("dotdo.client")


class EventSubscription:
    """Events matching any of `patterns` from the socket at `url` (`websockets.connect`
    `options`: headers, host and port), decoded from the wire's tagged encoding into dicts
    (`id`, `type`, `data`, `subject`, `object`, `timestamp`).

    Two ways to use it. `async with client.subscribe(...) as events:` connects and
    subscribes every pattern before the block runs (each acknowledged by the server, so an
    event sent once the block starts is received), then `await events.next(timeout)` or
    `async for event in events`; the socket is closed when the block ends. Or
    `async for event in client.subscribe(...)` alone, which connects and subscribes when
    the loop first asks for an event (an event sent before that is missed) and leaves the
    socket open until `aclose()` (`contextlib.aclosing` does that).

    RpcError with the server's code when it refuses a pattern (`invalid_event_pattern`,
    `too_many_subscriptions`); RpcError `token_expired` when the server closes the socket
    because its token expired (1008, reason `token_expired`); RpcError `subscription_closed`
    when the socket closes otherwise (a server restart, 1006 without a close frame; a
    deploy, 1001), naming the close code and reason. An upgrade answered with an HTTP
    status instead is RpcError with the code of the server's JSON error (a 401
    `token_invalid`), else `subscription_refused` (a server failing to start). It does not
    reconnect: events sent while no socket is open are not pushed later (read them with
    `Client.events(since=...)`, then subscribe again)."""

    def __init__(self, url: str, options: Mapping[str, Any], patterns: Sequence[str]) -> None:
        self._url = url
        self._options = dict(options)
        self._patterns = tuple(patterns)
        self._socket: Any = None
        self._pending: list[Any] = []
        """Events pushed while a later pattern's answer was awaited: yielded first, not lost."""
        self._opening: asyncio.Future[None] | None = None
        self._closed = False

    async def open(self) -> None:
        """Connect and subscribe every pattern, returning once the server acknowledged the
        last; at once when already open. RuntimeError after `aclose()`."""
        if self._closed:
            raise RuntimeError("the subscription is closed; subscribe again")
        if self._opening is None:  # one handshake, however many callers wait for it
            self._opening = asyncio.ensure_future(self._subscribe())
        await asyncio.shield(self._opening)

    async def _subscribe(self) -> None:
        try:
            socket = await websockets.connect(self._url, **self._options)
        except websockets.InvalidStatus as refused:  # the upgrade answered with a status, not a socket
            raise refusal(refused.response.status_code, refused.response.body) from refused
        try:
            for index, pattern in enumerate(self._patterns):
                await socket.send(json.dumps({"id": index, "method": "subscribe", "params": [pattern]}))
                while (answer := answer_to(await socket.recv(), index, self._pending)) is None:
                    pass
                if "error" in answer:
                    raise RpcError(answer["error"]["code"], answer["error"]["message"])
                subscribed(pattern, answer.get("result"))
        except BaseException as error:
            await socket.close()
            if isinstance(error, websockets.ConnectionClosed):
                raise closed_error(error) from error
            raise
        self._socket = socket

    async def next(self, timeout: float | None = None) -> dict[str, Any]:
        """The next event (opening the subscription first if it is not open); TimeoutError
        when none comes within `timeout` seconds (None: wait for one). An event arriving
        after a time-out is kept for the next call (websockets' `recv` may be cancelled)."""
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> dict[str, Any]:
        await self.open()
        if self._pending:
            pushed: dict[str, Any] = decode(self._pending.pop(0))
            return pushed
        try:
            # `recv`, not `async for`, which ends quietly on a normal close: a subscription
            # that stops must say so, however its socket closed.
            while True:
                payload = json.loads(await self._socket.recv())
                if payload.get("method") == "event":
                    event: dict[str, Any] = decode(payload["params"])
                    return event
        except websockets.ConnectionClosed as closed:
            raise closed_error(closed) from closed

    async def aclose(self) -> None:
        """Close the socket (nothing is pushed any more); later calls do nothing."""
        self._closed = True
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        if self._socket is not None:
            await self._socket.close()

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._closed:
            raise StopAsyncIteration
        return await self._next()

    async def __aenter__(self) -> EventSubscription:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()


def subscribed(pattern: str, result: Any) -> None:
    """The server's answer to subscribing `pattern`: a `hint` in it (a pattern no event of a
    known verb carries, `Member.borrow`) is logged as a WARNING; the pattern is held anyway."""
    hint = result.get("hint") if isinstance(result, dict) else None
    if isinstance(hint, str):
        logger.warning("subscribe(%r): %s", pattern, hint)


def closed_error(closed: websockets.ConnectionClosed) -> RpcError:
    """The RpcError of a socket that closed: `token_expired` when the server closed it for
    its token's expiry, else `subscription_closed` naming its code and reason."""
    code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (1006, "")
    if reason == "token_expired":  # the server's close of a socket whose token expired (ADR 0049)
        return RpcError(
            "token_expired",
            f"The event socket closed ({code}: token_expired): the token expired; read what "
            "was missed with events(since=...), then subscribe again with a new token",
        )
    return RpcError(
        "subscription_closed",
        f"The event socket closed ({code}{': ' + reason if reason else ''}); subscribe "
        "again to go on, after reading what was missed with events(since=...)",
    )


def refusal(status: int, body: bytes | None) -> RpcError:
    """The RpcError of an upgrade answered with `status`: the server's own code and message
    when `body` is dotdo's JSON error, else `subscription_refused` naming the status."""
    try:
        error = json.loads(body or b"")["error"]
        return RpcError(str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return RpcError(
            "subscription_refused", f"The event socket was refused (HTTP {status}); subscribe again later"
        )
