"""What a remote caller can reach, one step at a time.

A pipeline (or a Cap'n Web call) starts at a root (the object itself, or a noun
accessor) and takes steps: method calls and property reads. Only these are
reachable, and nothing else:

* on a Durable Object: its `@rpc` methods;
* on a framework target (noun accessors): the names it lists in `rpc_methods`;
* on an `RpcTarget` the application returns: the public methods its class
  defines, and the names it lists in `rpc_properties`;
* on plain data: dictionary keys and list indexes (property reads only).

Private names, dunder names and framework internals never resolve. A method name
in camelCase also finds its snake_case Python name (`findFirst` -> `find_first`),
for JavaScript callers.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any, ClassVar

from dotdo.core.rpc import is_rpc_method, method_scope
from dotdo.errors import NotFound

__all__ = ["RpcTarget", "options_call", "resolve_method", "resolve_property", "snake_case"]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


class RpcTarget:
    """Subclass to return an object by reference: callers may call its public methods
    (in the same pipeline or Cap'n Web session) and read the properties it lists."""

    rpc_properties: ClassVar[frozenset[str]] = frozenset()
    rpc_read_methods: ClassVar[frozenset[str]] = frozenset()
    """Methods a read-scoped capability may call; the others need "write"."""


def _target_methods(target: Any) -> tuple[frozenset[str], frozenset[str]] | None:
    """(callable names, read-only names) for framework and application targets."""
    listed = getattr(type(target), "rpc_methods", None)
    if isinstance(listed, frozenset):
        return listed, getattr(type(target), "rpc_read_methods", frozenset())
    if isinstance(target, RpcTarget):
        names = {
            name
            for klass in type(target).__mro__
            if klass not in (RpcTarget, object)
            for name, value in vars(klass).items()
            if not name.startswith("_") and inspect.isfunction(value)
        }
        return frozenset(names), type(target).rpc_read_methods
    return None


def resolve_method(target: Any, name: Any, is_root: bool) -> tuple[Callable[..., Any], str]:
    """The bound method `name` of `target` and the scope it needs; NotFound otherwise."""
    if isinstance(name, str) and name and not name.startswith("_"):
        for candidate in dict.fromkeys((name, snake_case(name))):
            if is_root:
                if is_rpc_method(type(target), candidate):
                    method = getattr(target, candidate)
                    return method, method_scope(method)
                continue
            methods = _target_methods(target)
            if methods is not None and candidate in methods[0]:
                scope = "read" if candidate in methods[1] else "write"
                return getattr(target, candidate), scope
    raise NotFound(f"No callable method {name!r} on {_describe(target)}", code="method_not_found")


def resolve_property(target: Any, name: Any) -> Any:
    """A property read: a dict key, a list index, or a listed property of a target."""
    if isinstance(target, dict) and isinstance(name, str) and name in target:
        return target[name]
    if (
        isinstance(target, list)
        and isinstance(name, int)
        and not isinstance(name, bool)
        and -len(target) <= name < len(target)
    ):
        return target[name]
    if isinstance(target, RpcTarget) and isinstance(name, str) and name in type(target).rpc_properties:
        return getattr(target, name)
    raise NotFound(f"No readable property {name!r} on {_describe(target)}", code="property_not_found")


def _describe(target: Any) -> str:
    if target is None:
        return "null"
    if isinstance(target, dict | list | str | int | float | bool):
        return type(target).__name__
    return f"a {type(target).__name__}"


def options_call(target: Any, method_name: str, params: Any) -> Any:
    """JavaScript-style calls pass one options object (`list({where, limit})`). For the
    methods a target lists in `rpc_options_methods`, a single positional object whose
    keys are all option names becomes keyword arguments; anything else is left as is."""
    methods: frozenset[str] = getattr(type(target), "rpc_options_methods", frozenset())
    if snake_case(method_name) not in methods and method_name not in methods:
        return params
    if not (isinstance(params, list) and len(params) == 1 and isinstance(params[0], dict) and params[0]):
        return params
    options = params[0]
    if not all(isinstance(key, str) and snake_case(key) in _OPTION_NAMES for key in options):
        return params
    return {snake_case(key): value for key, value in options.items()}


_OPTION_NAMES = frozenset({"where", "order_by", "limit", "offset", "select", "include_deleted", "with_total"})
