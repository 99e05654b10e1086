"""WebSocket RPC (`/ws/rpc`): framing, limits and the per-socket rate bound.

    -> {"id": 1, "method": "get", "params": ["k"]}
    <- {"id": 1, "result": ...}  or  {"id": 1, "error": {"code", "message"}}
    -> {"id": 2, "method": "subscribe", "params": ["Customer.*"]}     (DOWorkflow)
    <- {"method": "event", "params": {"id", "type", "data", ...}}     pushed

Limits: a message is at most 64 KiB; each socket may send at most 100 messages in
any 10 seconds (more are answered with `rate_limited` and dropped; the socket
stays open); a socket holds at most 32 subscriptions. A malformed message gets
an error message and the socket stays open.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from dotdo.errors import BadRequest, HttpError
from dotdo.wire.codec import parse_json

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_SUBSCRIPTIONS",
    "RateLimiter",
    "WsRequest",
    "error_message",
    "parse_message",
]

MAX_MESSAGE_BYTES = 64 * 1024
"""Largest message, in UTF-8 bytes."""
MAX_SUBSCRIPTIONS = 32
"""Most event patterns one socket subscribes to."""
RATE_WINDOW_SECONDS = 10.0
RATE_LIMIT = 100
"""Most messages one socket sends in any RATE_WINDOW_SECONDS."""
SOCKET_TAG = "rpc"
"""The hibernation tag of `/ws/rpc` sockets."""


@dataclass(frozen=True)
class WsRequest:
    """One call on the socket: the caller's `id` (a string, an integer or None, echoed in
    the answer), the `method` name and its `params` (JSON, still tagged)."""

    id: Any
    method: str
    params: Any


def parse_message(message: str | bytes) -> WsRequest:
    """The call a text message holds. 400 `invalid_message` (binary, not
    `{"id", "method", "params"}`, a bad id), `message_too_large` past MAX_MESSAGE_BYTES,
    `invalid_json`."""
    if isinstance(message, bytes):
        raise BadRequest("RPC messages are JSON text", code="invalid_message")
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"a message is at most {MAX_MESSAGE_BYTES} bytes", code="message_too_large")
    try:
        body = parse_json(message)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"message is not JSON: {exc.msg}", code="invalid_json") from exc
    except ValueError as exc:  # a bare NaN or Infinity: not JSON (RFC 8259)
        raise BadRequest(f"message is not JSON: {exc}", code="invalid_json") from exc
    if not isinstance(body, dict) or not isinstance(body.get("method"), str):
        raise BadRequest('a message is {"id", "method", "params"}', code="invalid_message")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str | int):
        raise BadRequest("id is a string or an integer", code="invalid_message")
    return WsRequest(request_id, body["method"], body.get("params"))


def error_message(request_id: Any, error: HttpError) -> dict[str, Any]:
    """The answer to a failed call: `{"id", "error": {"code", "message", ...}}`."""
    return {"id": request_id, **error.to_dict()}


class RateLimiter:
    """A sliding window of message times per socket, in memory (reset by hibernation):
    at most `limit` messages in any `window` seconds."""

    def __init__(self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    def allow(self, connection_id: str, now: float | None = None) -> bool:
        """May this socket send one more message at `now` (monotonic seconds; the clock's
        when None)? A message allowed counts; one refused does not."""
        moment = time.monotonic() if now is None else now
        times = self._seen.setdefault(connection_id, deque())
        while times and moment - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(moment)
        return True

    def forget(self, connection_id: str) -> None:
        """Drop a closed socket's window."""
        self._seen.pop(connection_id, None)
