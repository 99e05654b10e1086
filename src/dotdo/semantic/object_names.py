"""The names Durable Objects are addressed by (`idFromName`, `getByName`): a tenant (a host
name label, as `dotdo.worker` reads it from a request's host) or the owner of one thing,
`"Type/id"` (ADR 0027). The runtime creates an object on first use under whatever name it is
given, so every name derived from a client's or an app's id is checked here before an object
is woken: one no tenant or thing can have (`"T/a/b"`, a NUL, an id past 128 characters)
would wake an object no route reaches again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dotdo.core.tenants import is_tenant
from dotdo.errors import BadRequest
from dotdo.remote.names import OBJECT_NAME_RULE
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.thingdata import validate_id

__all__ = ["object_name", "thing_object_name"]


def thing_object_name(type_name: Any, thing_id: Any) -> str:
    """The name of the object that owns the thing `type_name`/`thing_id`: `"Type/id"`, when
    both are a thing's (a PascalCase type name of at most 64 characters, an id of 1-128
    letters, digits and `_.:-`); else 400 `invalid_type` / `invalid_id`."""
    return f"{validate_type_name(type_name)}/{validate_id(thing_id)}"


def object_name(name: Any, what: str, code: str, check_noun: Callable[[str], object] | None = None) -> str:
    """`name` itself when it names an object: a tenant (1-63 lowercase letters, digits and
    hyphens, starting and ending with a letter or digit) or a thing's owner, `"Type/id"`
    (`thing_object_name`). Else 400 `code`, the message naming `what` (the surface's own
    name for it: `owner` for `broadcast_to_room`). A thing owner's noun is then passed to
    `check_noun` (the noun policy's check: 404 `unknown_noun` with `strict_nouns`)."""
    if isinstance(name, str):
        if is_tenant(name):
            return name
        type_name, slash, thing_id = name.partition("/")
        if slash:
            try:
                owner = thing_object_name(type_name, thing_id)
            except BadRequest as error:
                raise BadRequest(f"{what} {name!r} names no thing: {error.message}", code=code) from None
            if check_noun is not None:
                check_noun(type_name)
            return owner
    raise BadRequest(
        f"{what} is {OBJECT_NAME_RULE}, not {name!r:.80}",
        code=code,
    )
