"""Which methods a remote caller may call, and the capability scope each needs: the one allowlist.

A method is callable from outside the object only when it carries the `@rpc`
mark, whatever it is a method of:

* a Durable Object class: its `@rpc` methods. Cloudflare's runtime offers every
  public plain function of such a class to Workers RPC callers, so when the class
  is defined (`seal_rpc_surface`) each other public method that is not a runtime
  handler (`fetch`, `alarm`, `webSocket*`) is wrapped in a descriptor that is not
  a plain function. It stays an ordinary method for Python code, and is invisible
  to Workers RPC, to `POST /rpc` and to every other surface (ADR 0002). An
  override of an `@rpc` method is remote only when it is marked `@rpc` too, with
  the scope it states (ADR 0016);
* an object a call returns, such as the noun accessors: its `@rpc` methods;
* an `RpcTarget` the application returns: every public method its class defines
  (the class is the mark), needing the scope its `@rpc(scope=...)` mark or
  `rpc_read_methods` gives.

The scope is what a capability token must grant: "read", "write" (the default),
"approve" (deciding DOFull's approvals) or "admin", each including the ones
before it. Nothing private or dunder is ever callable.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar, overload

__all__ = [
    "RUNTIME_HANDLERS",
    "SCOPES",
    "Authorize",
    "LocalMethod",
    "RpcTarget",
    "is_reference",
    "is_rpc_method",
    "method_options",
    "method_scope",
    "rpc",
    "rpc_methods",
    "rpc_scope",
    "seal_rpc_surface",
]

Authorize = Callable[[str, str], None]
"""How a surface asks whether its caller may call a method: (method name, scope needed) ->
None, or raises Forbidden (`Access.authorize`)."""

F = TypeVar("F", bound=Callable[..., Any])

RUNTIME_HANDLERS = frozenset({"fetch", "alarm", "webSocketMessage", "webSocketClose", "webSocketError"})
_MARK = "__dotdo_rpc__"


SCOPES = ("read", "write", "approve", "admin")
"""Capability scopes, each including the ones before it (`approve`: deciding approvals,
above `write` so that a token that only writes cannot approve its own requests; ADR 0025)."""
_SCOPE = "__dotdo_rpc_scope__"
_OPTIONS = "__dotdo_rpc_options__"
_SEALED = "__dotdo_rpc_sealed__"


@overload
def rpc(method: F, /) -> F: ...
@overload
def rpc(*, scope: str = "write", options: Iterable[str] | None = None) -> Callable[[F], F]: ...
def rpc(
    method: F | None = None, /, *, scope: str = "write", options: Iterable[str] | None = None
) -> F | Callable[[F], F]:
    """Mark a method as callable over Workers RPC, `POST /rpc` and the other RPC surfaces.

    `scope` is what a capability token must grant to call it: "read", "write"
    (the default), "approve" or "admin". `options` names the keyword parameters a JavaScript
    caller may pass as one options object (`list({where, limit})`, see
    `dotdo.remote.calls.options_arguments`). ValueError for an unknown scope or an
    option name that is not a string."""
    if scope not in SCOPES:
        raise ValueError(f"scope is one of {', '.join(SCOPES)}")
    names = frozenset(options or ())
    if isinstance(options, str) or not all(isinstance(name, str) and name.isidentifier() for name in names):
        raise ValueError("options are parameter names")

    def mark(function: F) -> F:
        setattr(function, _MARK, True)
        setattr(function, _SCOPE, scope)
        setattr(function, _OPTIONS, names)
        return function

    return mark(method) if method is not None else mark


def method_scope(method: Callable[..., Any]) -> str:
    """The scope an RPC method needs ("write" when it does not say)."""
    function = getattr(method, "__func__", method)
    scope = getattr(function, _SCOPE, "write")
    return scope if scope in SCOPES else "write"


def method_options(method: Callable[..., Any]) -> frozenset[str]:
    """The parameter names `@rpc(options=...)` lets a caller pass as one options object."""
    function = getattr(method, "__func__", method)
    names: Any = getattr(function, _OPTIONS, None)
    return names if isinstance(names, frozenset) else frozenset()


class RpcTarget:
    """Subclass to return an object by reference: callers may call its public methods
    (in the same pipeline or Cap'n Web session) and read the properties it lists.

    A method needs the "write" scope unless its `@rpc(scope=...)` mark says otherwise
    or `rpc_read_methods` lists it."""

    rpc_properties: ClassVar[frozenset[str]] = frozenset()
    rpc_read_methods: ClassVar[frozenset[str]] = frozenset()
    """Methods a read-scoped capability may call; the others need "write"."""


class LocalMethod:
    """A method that Python code calls as usual but RPC does not see (not a FunctionType);
    `func` is the plain function it wraps."""

    __slots__ = ("__func__",)

    def __init__(self, func: Callable[..., Any]) -> None:
        self.__func__ = func

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self.__func__
        return types.MethodType(self.__func__, instance)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self.__func__.__doc__


def _defining_class(cls: type, name: str) -> type | None:
    for base in cls.__mro__:
        if name in base.__dict__:
            return base
    return None


def seal_rpc_surface(cls: type) -> None:
    """Hide every public method of `cls` (own attributes) that is not an RPC method.

    Called for a Durable Object class when it is defined; its instances are then the
    root of every call, never a reference another call returns (`is_reference`)."""
    for name, value in list(cls.__dict__.items()):
        if name.startswith("_") or name in RUNTIME_HANDLERS or not isinstance(value, types.FunctionType):
            continue
        if getattr(value, _MARK, False):
            continue
        setattr(cls, name, LocalMethod(value))
    setattr(cls, _SEALED, True)


def rpc_scope(cls: type, name: str) -> str | None:
    """The scope a remote caller needs to call `name` on an instance of `cls`, or None
    when the name is not callable remotely (the rules in this module's docstring)."""
    if not name or name.startswith("_") or name in RUNTIME_HANDLERS:
        return None
    owner = _defining_class(cls, name)
    value = owner.__dict__[name] if owner is not None else None
    if not isinstance(value, types.FunctionType):
        return None
    if issubclass(cls, RpcTarget) and owner not in (RpcTarget, object):
        if name in cls.rpc_read_methods:
            return "read"
        return method_scope(value)
    return method_scope(value) if getattr(value, _MARK, False) else None


def is_rpc_method(cls: type, name: str) -> bool:
    """Is `name` callable remotely on instances of `cls`?"""
    return rpc_scope(cls, name) is not None


def rpc_methods(cls: type) -> list[str]:
    """The names callable remotely on instances of `cls`, sorted."""
    return sorted(name for name in dir(cls) if is_rpc_method(cls, name))


def is_reference(value: Any) -> bool:
    """Does `value` travel by reference (a later call may call its methods) rather than
    as data? An `RpcTarget`, or an object whose class has `@rpc` methods, unless it is
    a Durable Object (a sealed class): the object is where calls start, not a value."""
    if isinstance(value, RpcTarget):
        return True
    cls = type(value)
    known = _REFERENCE_CLASSES.get(cls)
    if known is None:
        known = _REFERENCE_CLASSES[cls] = not getattr(cls, _SEALED, False) and any(
            isinstance(member, types.FunctionType) and getattr(member, _MARK, False)
            for klass in cls.__mro__
            for member in vars(klass).values()
        )
    return known


_REFERENCE_CLASSES: dict[type, bool] = {}
"""Whether instances of a class travel by reference: classes are marked when they are
defined, so the answer never changes, and computing it walks the whole class."""
