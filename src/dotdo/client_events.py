"""The Python client's event subscription (`dotdo.client.Client.subscribe`): one `/ws/rpc`
socket, subscribed to each pattern in turn, whose pushed events are yielded as they come
and whose close, however it happens, is raised as RpcError `subscription_closed`."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import websockets

from dotdo.errors import RpcError
from dotdo.wire.codec import decode

__all__ = ["subscription"]


async def subscription(
    url: str, options: dict[str, Any], patterns: Sequence[str]
) -> AsyncGenerator[dict[str, Any], None]:
    """Events matching any of `patterns` from the socket at `url` (`websockets.connect`
    `options`: headers, host and port), decoded from the wire's tagged encoding.

    RpcError with the server's code when it refuses a pattern (`invalid_event_pattern`,
    `too_many_subscriptions`); RpcError `subscription_closed` when the socket closes under
    the loop (a server restart, 1006 without a close frame; a deploy, 1001), naming the
    close code and reason. It does not reconnect: events sent while no socket is open are
    not pushed later (read them with `Client.events(since=...)`, then subscribe again)."""
    async with websockets.connect(url, **options) as socket:
        try:
            for index, pattern in enumerate(patterns):
                await socket.send(json.dumps({"id": index, "method": "subscribe", "params": [pattern]}))
                answer = json.loads(await socket.recv())
                if "error" in answer:
                    raise RpcError(answer["error"]["code"], answer["error"]["message"])
            # `recv`, not `async for`, which ends quietly on a normal close: a subscription
            # that stops must say so, however its socket closed.
            while True:
                payload = json.loads(await socket.recv())
                if payload.get("method") == "event":
                    yield decode(payload["params"])
        except websockets.ConnectionClosed as closed:
            code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (1006, "")
            raise RpcError(
                "subscription_closed",
                f"The event socket closed ({code}{': ' + reason if reason else ''}); subscribe "
                "again to go on, after reading what was missed with events(since=...)",
            ) from closed
