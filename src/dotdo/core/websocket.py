"""WebSockets on the hibernation API: tagged connections with a small attachment.

The object can be evicted while sockets stay open; what a connection needs to
be recognised again (its id, tags, when it connected, and small flags a layer
adds) lives in the socket's serialized attachment, which Cloudflare caps at
2,048 bytes (`serializeAttachment` throws past it). Everything of a size a
client chooses (a capability token, event subscriptions) lives in SQLite
instead (`SocketState`), so no valid input can outgrow the attachment.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dotdo.core.logs import Log
from dotdo.core.migrations import Migration
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.wire.codec import dumps

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "SOCKET_MIGRATIONS",
    "TOKEN_EXPIRED_CLOSE",
    "Connection",
    "SocketState",
    "WebSockets",
    "attachment_bytes",
    "live",
    "parse_tags",
    "wire_text",
]

logger = logging.getLogger("dotdo.sockets")

MAX_ATTACHMENT_BYTES = 2048
"""Cloudflare's cap on a socket's serialized attachment (Durable Objects WebSocket API,
`serializeAttachment`: "limited to 2,048 bytes, otherwise this method will throw")."""
RUNTIME_MAX_TAGS = 10
"""workerd refuses a hibernatable socket with more than 10 tags (`acceptWebSocket`)."""
MAX_TAGS = RUNTIME_MAX_TAGS - 1
"""Tags a client may ask for (`/ws?tags=`): one of the runtime's ten is the connection id."""
MAX_TAG_LENGTH = 64
POLICY_VIOLATION_CLOSE = 1008
"""The close code of a socket whose caller's capability no longer holds (RFC 6455 section
7.4.1, policy violation); the reason says which (`token_expired`, `token_invalid`, ...)."""
TOKEN_EXPIRED_CLOSE = POLICY_VIOLATION_CLOSE
"""The close code of a socket whose capability token expired (policy violation, RFC 6455
section 7.4.1), with the reason `token_expired`: nothing is pushed to it after."""
_TAG = re.compile(rf"^[A-Za-z0-9_.:-]{{1,{MAX_TAG_LENGTH}}}$")

SOCKET_MIGRATIONS = (
    Migration(
        1,
        (
            """CREATE TABLE IF NOT EXISTS dotdo_sockets (
  name TEXT NOT NULL,
  connection_id TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, connection_id)
) WITHOUT ROWID""",
        ),
    ),
)


def parse_tags(raw: Iterable[str]) -> list[str]:
    """The distinct tags of `?tags=a,b&tags=c`; 400 `invalid_tag` for a bad one or more than `MAX_TAGS`."""
    tags: list[str] = []
    for chunk in raw:
        for tag in chunk.split(","):
            tag = tag.strip()
            if not tag:
                continue
            if not _TAG.match(tag):
                raise BadRequest(
                    f"Invalid tag {tag!r}: 1-{MAX_TAG_LENGTH} of A-Z a-z 0-9 _ . : -", code="invalid_tag"
                )
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
    log: Log = field(default=logger, repr=False, compare=False)
    """Where its lines go (`dotdo.sockets`): DOCore's connections log to its object's log."""

    def attachment(self, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """What is serialized with the socket (with `data` in place of the current data)."""
        return {
            "id": self.id,
            "tags": self.tags,
            "connected_at": self.connected_at,
            "data": self.data if data is None else data,
        }

    def save(self) -> None:
        """Store the attachment on the socket so that it survives hibernation.

        ValueError past `MAX_ATTACHMENT_BYTES`: dotdo keeps only bounded flags there, so
        that is a layer putting too much in `data`, never a client's input."""
        self._serialize(self.attachment())

    def update(self, **changes: Any) -> None:
        """Change some of `data`: the new attachment is stored first and only then taken
        as the connection's, so a refused change leaves memory and socket as they were."""
        data = {**self.data, **changes}
        self._serialize(self.attachment(data))
        self.data = data

    def _serialize(self, payload: dict[str, Any]) -> None:
        from js import Object
        from pyodide.ffi import to_js

        if attachment_bytes(payload) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"A connection's attachment is at most {MAX_ATTACHMENT_BYTES} bytes")
        self.socket.serializeAttachment(to_js(payload, dict_converter=Object.fromEntries))

    def send(self, message: str | bytes | Any) -> bool:
        """Send a message (other values as JSON text in the codec's one encoding,
        `dotdo.wire.codec.dumps`: never a bare NaN); False when the socket is gone.
        A value with no wire form raises BadRequest (`unserializable_result`), logged."""
        from pyodide.ffi import JsException, to_js

        message = wire_text(message, self.id, self.log)
        try:
            self.socket.send(to_js(message) if isinstance(message, bytes) else message)
        except JsException:  # closed or closing: the caller counts it as not delivered
            return False
        return True

    def lapsed(self, now: float | None = None) -> bool:
        """Has the token this socket was opened with expired by `now` (epoch seconds; the
        clock when None)? Its expiry is `data["exp"]`, kept at the upgrade; a socket opened
        without an expiring token never lapses."""
        exp = self.data.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return False
        return (time.time() if now is None else now) >= exp

    def close_if_lapsed(self, now: float | None = None) -> bool:
        """Close the socket (`TOKEN_EXPIRED_CLOSE`, `token_expired`) when its token has
        expired by `now` (`lapsed`); whether it did."""
        if not self.lapsed(now):
            return False
        self.close(TOKEN_EXPIRED_CLOSE, "token_expired")
        return True

    def close(self, code: int, reason: str) -> None:
        """Close the socket with `code` and `reason` (cut to the 123 bytes a close frame
        holds, RFC 6455 section 5.5); nothing when it is already closed or closing."""
        from pyodide.ffi import JsException

        with contextlib.suppress(JsException):
            self.socket.close(code, reason.encode()[:123].decode("utf-8", "ignore"))

    @classmethod
    def load(cls, socket: Any, log: Log = logger) -> Connection:
        """The connection a runtime socket's attachment describes (after hibernation too);
        one with an empty id and no data when the socket carries none."""
        raw = socket.deserializeAttachment()
        attachment = raw.to_py() if hasattr(raw, "to_py") else raw
        if not isinstance(attachment, dict):
            return cls(socket, "", [], 0, log=log)
        return cls(
            socket,
            str(attachment.get("id", "")),
            list(attachment.get("tags") or []),
            int(attachment.get("connected_at") or 0),
            dict(attachment.get("data") or {}),
            log,
        )


def attachment_bytes(payload: Any) -> int:
    """The size of `payload` as JSON (with spaces, non-ASCII escaped), in bytes.

    It stands in for V8's structured-clone size, which it matches within a few bytes
    per value for these dicts, lists, strings, integers and booleans. dotdo's own
    attachments stay under half of `MAX_ATTACHMENT_BYTES` at their largest (a test
    holds them there), so that difference never decides whether one fits."""
    return len(json.dumps(payload).encode())


class SocketState:
    """Per-connection JSON values in SQLite (`dotdo_sockets`), for what a socket needs
    after hibernation but could outgrow its 2,048-byte attachment: the capability token
    (up to 8,192 characters) and event subscriptions (32 patterns of up to 129).

    Rows go when their socket closes (`forget`); a socket that vanished with its object
    (a deploy, a crash) never sends a close, so `keep_only` drops what is left of those.
    `sql` is the object's database.
    """

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    def get(self, connection_id: str, name: str) -> Any:
        """The value stored under `name` for the connection, or None."""
        row = self._sql.first(
            "SELECT value FROM dotdo_sockets WHERE name = ? AND connection_id = ?", name, connection_id
        )
        return None if row is None else json.loads(str(row["value"]))

    def put(self, connection_id: str, name: str, value: Any) -> None:
        """Store `value` (JSON) under `name` for the connection; None removes it."""
        if value is None:
            self._sql.run(
                "DELETE FROM dotdo_sockets WHERE name = ? AND connection_id = ?", name, connection_id
            )
            return
        self._sql.run(
            "INSERT INTO dotdo_sockets (name, connection_id, value) VALUES (?, ?, ?) "
            "ON CONFLICT(name, connection_id) DO UPDATE SET value = excluded.value",
            name,
            connection_id,
            json.dumps(value, separators=(",", ":")),
        )

    def values(self, name: str) -> dict[str, Any]:
        """Connection id -> value, for every connection that has one under `name`."""
        rows = self._sql.exec("SELECT connection_id, value FROM dotdo_sockets WHERE name = ?", name)
        return {str(row["connection_id"]): json.loads(str(row["value"])) for row in rows}

    def forget(self, connection_id: str) -> None:
        """Drop everything stored for a connection (it closed)."""
        self._sql.run("DELETE FROM dotdo_sockets WHERE connection_id = ?", connection_id)

    def keep_only(self, live: Iterable[str]) -> int:
        """Drop the rows of every connection not in `live`; returns how many went."""
        return self._sql.run(
            "DELETE FROM dotdo_sockets WHERE connection_id NOT IN (SELECT value FROM json_each(?))",
            json.dumps(sorted(set(live))),
        )


class WebSockets:
    """Accept, find and broadcast to the object's hibernatable sockets, through `ctx`
    (the DurableObjectState: `acceptWebSocket`, `getWebSockets`); their lines go to `log`."""

    def __init__(self, ctx: Any, log: Log = logger) -> None:
        self._ctx = ctx
        self._log = log

    def accept(self, tags: list[str], data: dict[str, Any] | None = None) -> tuple[Any, Connection]:
        """Create a socket pair, accept the server end; returns (client end, connection).

        ValueError for more than `MAX_TAGS` tags or an attachment past its cap (a
        layer's mistake: client input is checked before it gets here)."""
        if len(set(tags)) > MAX_TAGS:
            raise ValueError(f"A connection has at most {MAX_TAGS} tags")
        import js
        from pyodide.ffi import to_js

        pair = js.WebSocketPair.new()
        client, server = pair.object_values()
        import uuid  # here, not at import: its import is ~13 ms of a cold start under Pyodide

        connection_id = uuid.uuid4().hex
        connection = Connection(
            server, connection_id, tags, int(time.time() * 1000), dict(data or {}), self._log
        )
        if attachment_bytes(connection.attachment()) > MAX_ATTACHMENT_BYTES:  # before the socket is kept
            raise ValueError(f"A connection's attachment is at most {MAX_ATTACHMENT_BYTES} bytes")
        self._ctx.acceptWebSocket(server, to_js([f"id:{connection_id}", *tags]))
        connection.save()
        return client, connection

    def connections(self, tag: str | None = None) -> list[Connection]:
        """Every open socket's connection (with `tag`, if given), as the runtime lists them."""
        sockets = self._ctx.getWebSockets(tag) if tag is not None else self._ctx.getWebSockets()
        return [Connection.load(socket, self._log) for socket in sockets]

    def any_open(self, tag: str | None = None) -> bool:
        """Whether any socket (with `tag`, if given) is open: one call into the runtime, no
        connection loaded."""
        sockets = self._ctx.getWebSockets(tag) if tag is not None else self._ctx.getWebSockets()
        return len(sockets) > 0

    def count(self, tag: str | None = None) -> int:
        """How many sockets are open (with `tag`, if given); one whose token expired is
        closed and not counted, as `broadcast` leaves it out."""
        return len(live(self.connections(tag)))

    def broadcast(self, message: Any, tag: str | None = None, exclude: Iterable[str] | None = None) -> int:
        """Send to every connection (with `tag`, if given) except the `exclude`d ids; a
        message that is not text goes as `Connection.send` writes it."""
        skip = set(exclude or ())
        message = wire_text(message, f"broadcast to tag {tag}" if tag else "broadcast", self._log)
        sent = 0
        for connection in live(self.connections(tag)):
            if connection.id not in skip and connection.send(message):
                sent += 1
        return sent


def live(connections: Iterable[Connection], now: float | None = None) -> list[Connection]:
    """The `connections` that may still be pushed to at `now` (epoch seconds; the clock when
    None): one whose token has expired is closed (`TOKEN_EXPIRED_CLOSE`, `token_expired`)
    and left out, as a call on it would be refused `token_expired`."""
    moment = time.time() if now is None else now
    return [connection for connection in connections if not connection.close_if_lapsed(moment)]


def wire_text(message: Any, where: str, log: Log = logger) -> str | bytes:
    """`message` as a socket sends it: text and bytes as they are, anything else as JSON text
    in the codec's one encoding (`dumps`). A value with no wire form (nested past
    `codec.MAX_DEPTH`, a set) raises BadRequest `unserializable_result`, logged first
    (`log`: `dotdo.sockets`, WARNING, naming `where`): a send from a socket's own hook has no
    other witness, since the runtime drops what such a hook raises without a word."""
    if isinstance(message, str | bytes):
        return message
    try:
        return dumps(message)
    except BadRequest as error:
        log.warning("websocket %s: a message with no wire form was not sent: %s", where, error.message)
        raise
