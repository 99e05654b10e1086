"""WebSockets on the hibernation API: tagged connections with a small attachment.

The object can be evicted while sockets stay open; what a connection needs to
be recognised again (its id, tags, when it connected, and whatever a layer
adds) lives in the socket's serialized attachment, at most 2 KB.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dotdo.errors import BadRequest
from dotdo.wire.codec import dumps

__all__ = ["MAX_ATTACHMENT_BYTES", "MAX_TAGS", "Connection", "WebSockets", "parse_tags"]

MAX_ATTACHMENT_BYTES = 2048
MAX_TAGS = 10
_TAG = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def parse_tags(raw: Iterable[str]) -> list[str]:
    tags: list[str] = []
    for chunk in raw:
        for tag in chunk.split(","):
            tag = tag.strip()
            if not tag:
                continue
            if not _TAG.match(tag):
                raise BadRequest(f"Invalid tag {tag!r}: 1-64 of A-Z a-z 0-9 _ . : -", code="invalid_tag")
            if tag not in tags:
                tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"At most {MAX_TAGS} tags per connection", code="invalid_tag")
    return tags


@dataclass
class Connection:
    """One accepted socket and its attachment."""

    socket: Any
    id: str
    tags: list[str]
    connected_at: int
    data: dict[str, Any] = field(default_factory=dict)

    def attachment(self) -> dict[str, Any]:
        return {"id": self.id, "tags": self.tags, "connected_at": self.connected_at, "data": self.data}

    def save(self) -> None:
        """Store the attachment on the socket so that it survives hibernation."""
        from js import Object
        from pyodide.ffi import to_js

        payload = self.attachment()
        if len(json.dumps(payload).encode()) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"A connection's attachment is at most {MAX_ATTACHMENT_BYTES} bytes")
        self.socket.serializeAttachment(to_js(payload, dict_converter=Object.fromEntries))

    def send(self, message: str | bytes | Any) -> bool:
        """Send a message (other values as JSON text in the codec's one encoding,
        `dotdo.wire.codec.dumps`: never a bare NaN); False when the socket is gone.
        A value with no wire form raises BadRequest (`unserializable_result`)."""
        from pyodide.ffi import JsException, to_js

        if not isinstance(message, str | bytes):
            message = dumps(message)
        try:
            self.socket.send(to_js(message) if isinstance(message, bytes) else message)
        except JsException:  # closed or closing: the caller counts it as not delivered
            return False
        return True

    @classmethod
    def load(cls, socket: Any) -> Connection:
        raw = socket.deserializeAttachment()
        attachment = raw.to_py() if hasattr(raw, "to_py") else raw
        if not isinstance(attachment, dict):
            return cls(socket, "", [], 0)
        return cls(
            socket,
            str(attachment.get("id", "")),
            list(attachment.get("tags") or []),
            int(attachment.get("connected_at") or 0),
            dict(attachment.get("data") or {}),
        )


class WebSockets:
    """Accept, find and broadcast to the object's hibernatable sockets."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    def accept(self, tags: list[str], data: dict[str, Any] | None = None) -> tuple[Any, Connection]:
        """Create a socket pair, accept the server end; returns (client end, connection)."""
        import js
        from pyodide.ffi import to_js

        pair = js.WebSocketPair.new()
        client, server = pair.object_values()
        connection_id = uuid.uuid4().hex
        self._ctx.acceptWebSocket(server, to_js([f"id:{connection_id}", *tags]))
        connection = Connection(server, connection_id, tags, int(time.time() * 1000), dict(data or {}))
        connection.save()
        return client, connection

    def connections(self, tag: str | None = None) -> list[Connection]:
        sockets = self._ctx.getWebSockets(tag) if tag is not None else self._ctx.getWebSockets()
        return [Connection.load(socket) for socket in sockets]

    def count(self, tag: str | None = None) -> int:
        return len(self.connections(tag))

    def broadcast(self, message: Any, tag: str | None = None, exclude: Iterable[str] | None = None) -> int:
        """Send to every connection (with `tag`, if given) except the `exclude`d ids; a
        message that is not text goes as `Connection.send` writes it."""
        skip = set(exclude or ())
        if not isinstance(message, str | bytes):
            message = dumps(message)
        sent = 0
        for connection in self.connections(tag):
            if connection.id not in skip and connection.send(message):
                sent += 1
        return sent
