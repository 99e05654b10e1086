"""The Python client's event subscription (`dotdo.client.Client.subscribe`): one `/ws/rpc`
socket, subscribed to each pattern in turn (each answer matched by its id), whose pushed
events are yielded as they come and whose close, however it happens, is raised as
RpcError `subscription_closed`."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import websockets

from dotdo.errors import RpcError
from dotdo.wire.codec import decode
from dotdo.wire.wsrpc import answer_to

__all__ = ["subscription"]


async def subscription(
    url: str, options: dict[str, Any], patterns: Sequence[str]
) -> AsyncGenerator[dict[str, Any], None]:
    """Events matching any of `patterns` from the socket at `url` (`websockets.connect`
    `options`: headers, host and port), decoded from the wire's tagged encoding.

    RpcError with the server's code when it refuses a pattern (`invalid_event_pattern`,
    `too_many_subscriptions`); RpcError `token_expired` when the server closes the socket
    because its token expired (1008, reason `token_expired`); RpcError `subscription_closed`
    when the socket closes otherwise under
    the loop (a server restart, 1006 without a close frame; a deploy, 1001), naming the
    close code and reason. An upgrade answered with an HTTP status instead is RpcError with
    the code of the server's JSON error (a 401 `token_invalid`), else `subscription_refused`
    (a server failing to start). It does not reconnect: events sent while no socket is open are
    not pushed later (read them with `Client.events(since=...)`, then subscribe again)."""
    try:
        connection = await websockets.connect(url, **options)
    except websockets.InvalidStatus as refused:  # the upgrade answered with a status, not a socket
        raise _refusal(refused.response.status_code, refused.response.body) from refused
    async with connection as socket:
        try:
            events: list[Any] = []  # pushed while a later pattern's answer is awaited: not lost
            for index, pattern in enumerate(patterns):
                await socket.send(json.dumps({"id": index, "method": "subscribe", "params": [pattern]}))
                while (answer := answer_to(await socket.recv(), index, events)) is None:
                    pass
                if "error" in answer:
                    raise RpcError(answer["error"]["code"], answer["error"]["message"])
            for params in events:
                yield decode(params)
            # `recv`, not `async for`, which ends quietly on a normal close: a subscription
            # that stops must say so, however its socket closed.
            while True:
                payload = json.loads(await socket.recv())
                if payload.get("method") == "event":
                    yield decode(payload["params"])
        except websockets.ConnectionClosed as closed:
            code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (1006, "")
            if reason == "token_expired":  # the server's close of a socket whose token expired
                raise RpcError(
                    "token_expired",
                    f"The event socket closed ({code}: token_expired): the token expired; read what "
                    "was missed with events(since=...), then subscribe again with a new token",
                ) from closed
            raise RpcError(
                "subscription_closed",
                f"The event socket closed ({code}{': ' + reason if reason else ''}); subscribe "
                "again to go on, after reading what was missed with events(since=...)",
            ) from closed


def _refusal(status: int, body: bytes | None) -> RpcError:
    """The RpcError of an upgrade answered with `status`: the server's own code and message
    when `body` is dotdo's JSON error, else `subscription_refused` naming the status."""
    try:
        error = json.loads(body or b"")["error"]
        return RpcError(str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return RpcError(
            "subscription_refused", f"The event socket was refused (HTTP {status}); subscribe again later"
        )
