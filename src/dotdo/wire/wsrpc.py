"""WebSocket RPC (`/ws/rpc`): framing, limits and the per-socket rate bound.

    -> {"id": 1, "method": "get", "params": ["k"]}
    <- {"id": 1, "result": ...}  or  {"id": 1, "error": {"code", "message"}}
    -> {"id": 2, "method": "subscribe", "params": ["Customer.*"]}     (DOWorkflow)
    <- {"method": "event", "params": {"id", "type", "data", ...}}     pushed

Limits: a message is at most 64 KiB; a socket holds at most 32 subscriptions.
A malformed message gets an error message and the socket stays open. How many
messages a caller may send is the object's limits' (`dotdo.core.limits`): more
are answered `rate_limited` with `retry_after` and dropped; the socket stays open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dotdo.errors import BadRequest, HttpError
from dotdo.remote.fields import is_call_id, unknown_field
from dotdo.wire.codec import parse_json

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_SUBSCRIPTIONS",
    "InvalidMessage",
    "WsRequest",
    "answer_to",
    "error_message",
    "parse_message",
]

MAX_MESSAGE_BYTES = 64 * 1024
"""Largest message, in UTF-8 bytes."""
MAX_SUBSCRIPTIONS = 32
"""Most event patterns one socket subscribes to."""
SOCKET_TAG = "rpc"
"""The hibernation tag of `/ws/rpc` sockets."""
MESSAGE_FIELDS = frozenset({"id", "method", "params"})
"""The fields of a call; any other is refused, as `POST /rpc` refuses it."""


@dataclass(frozen=True)
class WsRequest:
    """One call on the socket: the caller's `id` (a string, an integer or None, echoed in
    the answer), the `method` name and its `params` (JSON, still tagged)."""

    id: Any
    method: str
    params: Any


def parse_message(message: str | bytes) -> WsRequest:
    """The call a text message holds. 400 `invalid_message` (binary, not
    `{"id", "method", "params"}`, a field besides those, a bad id), `message_too_large`
    past MAX_MESSAGE_BYTES, `invalid_json`."""
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
    if not isinstance(body, dict):
        raise BadRequest('a message is {"id", "method", "params"}', code="invalid_message")
    request_id = body.get("id")
    if not is_call_id(request_id):
        raise BadRequest("id is a string or an integer", code="invalid_message")
    # From here the caller's id is known: its error answer carries it, so a client that
    # matches answers by id hears about this call.
    if not isinstance(body.get("method"), str):
        raise InvalidMessage('a message is {"id", "method", "params"}', request_id)
    unknown = unknown_field(body, MESSAGE_FIELDS, "the message")
    if unknown is not None:
        raise InvalidMessage(unknown, request_id)
    return WsRequest(request_id, body["method"], body.get("params"))


class InvalidMessage(BadRequest):
    """400 `invalid_message` for a message whose `id` could be read (`request_id`): its
    answer carries that id."""

    def __init__(self, message: str, request_id: Any) -> None:
        super().__init__(message, code="invalid_message")
        self.request_id = request_id


def error_message(request_id: Any, error: HttpError) -> dict[str, Any]:
    """The answer to a failed call: `{"id", "error": {"code", "message", ...}}`."""
    return {"id": request_id, **error.to_dict()}


"""Most event patterns one socket subscribes to."""


def answer_to(message: str | bytes, request_id: Any, events: list[Any]) -> dict[str, Any] | None:
    """A client's reading of one message while it waits for the answer to its call
    `request_id`: that answer (`{"id", "result"}` or `{"id", "error"}`; an error with id
    null too, the server's word on a message whose id it could not read, as `rate_limited`),
    else None. A pushed event may come first (the socket's earlier subscriptions): its
    `params`, still tagged, are appended to `events`, to be handed on in order once the wait
    is over. Answers to other calls are dropped."""
    payload = json.loads(message)
    if not isinstance(payload, dict):
        return None
    if payload.get("method") == "event":
        events.append(payload.get("params"))
        return None
    answer_id = payload.get("id")
    if "result" in payload and answer_id == request_id:
        return payload
    if "error" in payload and answer_id in (request_id, None):
        return payload
    return None
