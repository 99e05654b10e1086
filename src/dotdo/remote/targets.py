"""What a remote caller can reach, one step at a time: the one rule of every RPC surface.

A call starts at the object itself and takes steps: method calls and property
reads. `/rpc` and `/ws/rpc` take one call on the object; pipelines and Cap'n Web
take chains. Only these are reachable, and nothing else:

* on the object: its `@rpc` methods, and its nouns: a type name (`Customer`) read
  as a property is the noun accessor, called with an id (`Customer("c-1")`) one
  thing (the object's `rpc_noun` hook says what a name is; DOCore has no nouns);
* on an object a call returns: the methods callable by the one allowlist
  (`dotdo.remote.marks`): `@rpc` methods of the noun accessors, public methods of
  an application's `RpcTarget`; and the object itself when it names a method in
  `rpc_call` (a noun accessor called with an id); an `RpcTarget`'s properties
  listed in `rpc_properties`;
* on plain data: dictionary keys and list indexes (property reads only).

Private names, dunder names and framework internals never resolve: a call is 404
`method_not_found`, a read 404 `property_not_found`, on every surface. A method
name in camelCase also finds its snake_case Python name (`findFirst` ->
`find_first`), for JavaScript callers. A pipeline's `target` (`["Customer"]`,
`["Customer", id]`) is the same steps written up front (`resolve_target`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from dotdo.errors import BadRequest, NotFound
from dotdo.remote.marks import RpcTarget, is_reference, rpc_scope

__all__ = ["resolve_call", "resolve_method", "resolve_property", "resolve_target", "snake_case"]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """A JavaScript caller's camelCase name in Python's spelling: `findFirst` -> `find_first`."""
    return _CAMEL.sub(r"_\1", name).lower()


@functools.lru_cache(maxsize=1024)
def _spellings(name: str) -> tuple[str, ...]:
    """The names a caller's method name may find, in the order they are tried: itself, then
    its snake_case spelling when that differs (the regex is most of a lookup's cost; the
    cache is bounded, as callers choose the names)."""
    return tuple(dict.fromkeys((name, snake_case(name))))


@functools.lru_cache(maxsize=1024)
def _scope(cls: type, name: str) -> str | None:
    """`rpc_scope` remembered per (class, name): a class's remote surface is fixed when it
    is defined (`@rpc` marks, `seal_rpc_surface` at class creation), so the answer never
    changes, and working it out walks the class's MRO. Bounded: callers choose the names."""
    return rpc_scope(cls, name)


def _noun(main: Any, name: Any) -> Any:
    """The noun accessor `name` names on the object, or None (not a noun, or no nouns)."""
    hook = getattr(main, "rpc_noun", None)
    if not callable(hook) or not isinstance(name, str) or not name or name.startswith("_"):
        return None
    return hook(name)


def resolve_call(target: Any) -> Callable[..., Any] | None:
    """What calling `target` itself runs (a noun accessor's `rpc_call`), or None."""
    method_name = getattr(type(target), "rpc_call", None)
    if not isinstance(method_name, str):
        return None
    method: Callable[..., Any] = getattr(target, method_name)
    return method


def resolve_method(target: Any, name: Any, is_root: bool) -> tuple[Callable[..., Any], str | None]:
    """The bound method `name` of `target` and the scope it needs; NotFound otherwise.

    The scope is None for a noun called on the object (`Customer("c-1")`): that only
    names a thing, like a pipeline's target; the thing's own methods are checked."""
    if isinstance(name, str) and name and not name.startswith("_"):
        callable_here = is_root or is_reference(target)
        cls: type = type(target)
        for candidate in _spellings(name):
            if callable_here:
                scope = _scope(cls, candidate)
                if scope is not None:
                    return getattr(target, candidate), scope
            if is_root and candidate == name:
                noun = _noun(target, candidate)
                call = resolve_call(noun) if noun is not None else None
                if call is not None:
                    return call, None
    raise NotFound(f"No callable method {name!r} on {_describe(target)}", code="method_not_found")


def resolve_property(target: Any, name: Any, is_root: bool = False) -> Any:
    """A property read: a noun of the object, a dict key, a list index, or a listed
    property of a target; 404 `property_not_found` otherwise."""
    if is_root:
        noun = _noun(target, name)
        if noun is not None:
            return noun
    elif isinstance(target, dict):
        if isinstance(name, str) and name in target:
            return target[name]
    elif isinstance(target, list):
        if isinstance(name, int) and not isinstance(name, bool) and -len(target) <= name < len(target):
            return target[name]
    elif isinstance(target, RpcTarget) and isinstance(name, str) and name in type(target).rpc_properties:
        return getattr(target, name)
    raise NotFound(f"No readable property {name!r} on {_describe(target)}", code="property_not_found")


def resolve_target(main: Any, target: Any) -> Any:
    """Where a pipeline starts: `[]` is the object, `[Noun]` (or `[Noun, ""]`) the property
    `Noun` of it, `[Noun, id]` that noun called with the id: the same steps as
    `api.Noun` and `api.Noun(id)` in Cap'n Web, refused with the same codes."""
    if isinstance(target, list) and not target:  # the object itself: most pipelines
        return main
    if not isinstance(target, list) or len(target) > 2 or not all(isinstance(p, str) for p in target):
        raise BadRequest("target is [], [Noun] or [Noun, id]", code="invalid_pipeline")
    receiver = resolve_property(main, target[0], is_root=True)
    if len(target) == 1 or target[1] == "":
        return receiver
    call = resolve_call(receiver)
    if call is None:
        raise NotFound(f"{target[0]!r} is not callable with an id", code="method_not_found")
    return call(target[1])


def _describe(target: Any) -> str:
    if target is None:
        return "null"
    if isinstance(target, dict | list | str | int | float | bool):
        return type(target).__name__
    return f"a {type(target).__name__}"
