"""WebSocket rooms: sockets joined to named rooms on the object that holds them (the room's
owner), and messages to a room from any object, relayed by its owner.

A member is a hibernatable socket carrying the tag `room:<name>`: the runtime keeps a
socket's tags through hibernation and finds sockets by tag (`ctx.getWebSockets(tag)`),
so membership needs no table and no memory that an eviction could lose. See ADR 0027.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from dotdo.core.websocket import MAX_TAG_LENGTH, WebSockets, live
from dotdo.errors import BadRequest
from dotdo.semantic.object_names import object_name, within_tenant
from dotdo.wire.codec import RPC_UNCARRIED_KEY, encode_result, is_plain, rpc_uncarried

__all__ = [
    "MAX_ROOM_LENGTH",
    "ROOM_TAG_PREFIX",
    "Room",
    "parse_rooms",
    "relay_data",
    "relay_owner",
    "room_message",
    "room_tag",
]

ROOM_TAG_PREFIX = "room:"
"""A member socket's tag is this prefix and the room's name."""
MAX_ROOM_LENGTH = MAX_TAG_LENGTH - len(ROOM_TAG_PREFIX)
"""59: a room's name and its prefix fit one socket tag."""
_ROOM = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_ROOM_LENGTH}}}")


def room_tag(name: Any) -> str:
    """The socket tag of room `name`; 400 `invalid_room` unless the name is 1-59 of
    A-Z a-z 0-9 _ . : - (a tag's characters)."""
    if not isinstance(name, str) or not _ROOM.fullmatch(name):
        raise BadRequest(
            f"Invalid room {name!r}: 1-{MAX_ROOM_LENGTH} of A-Z a-z 0-9 _ . : -", code="invalid_room"
        )
    return ROOM_TAG_PREFIX + name


def relay_owner(
    owner: Any, own_name: str | None, tenant: str | None, check_noun: Callable[[str], object]
) -> str | None:
    """The object a message to a room of `owner` is relayed to, or None when that is the
    object named `own_name` itself (None as `owner` is too). `owner` is checked as an
    object name (400 `invalid_owner`; 404 `unknown_noun` from `check_noun`), then taken
    within `tenant` (`within_tenant`: `"Type/id"` is the tenant's thing, another tenant's
    object a 403 `foreign_object`); both before any object is woken."""
    if owner is None or owner == own_name:
        return None
    name = within_tenant(object_name(owner, "owner", "invalid_owner", check_noun), tenant, "owner")
    return None if name == own_name else name


def relay_data(data: Any) -> Any:
    """`data` as a room message relayed to its owner carries it over Workers RPC: its wire
    form, plain JSON. 400 `unserializable_result` for a value with no wire form (as a local
    broadcast answers it) and for one whose wire form is tagged (a date, bytes, an integer
    past 2**53, NaN, an object of one such `$` key): Workers RPC would hand the owner
    another value than the members of a local room receive; and for one holding an object
    key `constructor`, which Workers RPC's Python conversion fails on (`rpc_uncarried`)."""
    wire = encode_result(data)
    if not is_plain(wire):
        raise BadRequest(
            "A room message relayed to another object is plain JSON: no dates, bytes, integers "
            "past 2**53, NaN or objects of one '$date'-like key",
            code="unserializable_result",
        )
    uncarried = rpc_uncarried(wire)
    if uncarried is not None:
        raise BadRequest(
            f"A room message relayed to another object holds no key {RPC_UNCARRIED_KEY!r} (at "
            f"{uncarried}): Workers RPC's Python conversion cannot carry one; rename it",
            code="unserializable_result",
        )
    return wire


def parse_rooms(raw: Iterable[str]) -> list[str]:
    """The tags of the distinct rooms of `?room=a,b&room=c`, in order; 400 `invalid_room`
    for a bad name, an empty one (`?room=`, `?room=a,`) included (the socket's tag limit is
    checked with its other tags)."""
    tags: list[str] = []
    for chunk in raw:
        for name in chunk.split(","):
            tag = room_tag(name.strip())
            if tag not in tags:
                tags.append(tag)
    return tags


def room_message(name: str, data: Any) -> dict[str, Any]:
    """What a member socket receives: `{"type": "room", "room": name, "data": data}`."""
    return {"type": "room", "room": name, "data": data}


class Room:
    """One room of this object, as its owner sees it: `name` and the object's sockets."""

    def __init__(self, name: str, websockets: WebSockets) -> None:
        """`name` is checked (400 `invalid_room`); `websockets` are the owner's sockets."""
        self.tag = room_tag(name)
        self.name = name
        self._websockets = websockets

    def broadcast(self, data: Any, exclude: Iterable[str] | None = None) -> int:
        """Send `room_message(name, data)` to every member except the `exclude`d connection
        ids; how many sockets took it. BadRequest (`unserializable_result`) for data with no
        JSON form."""
        return self._websockets.broadcast(room_message(self.name, data), tag=self.tag, exclude=exclude)

    def members(self) -> list[str]:
        """The connection ids of the sockets in the room now (one whose token expired is
        closed and left out, as `broadcast` leaves it out)."""
        return [connection.id for connection in live(self._websockets.connections(self.tag))]

    def count(self) -> int:
        """How many sockets are in the room now."""
        return self._websockets.count(self.tag)
