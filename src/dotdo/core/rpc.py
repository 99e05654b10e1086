"""The RPC surface of a Durable Object class: only methods marked `@rpc`.

Cloudflare's runtime offers every public plain function of a Python Durable
Object class to Workers RPC callers. dotdo narrows that to an explicit
allowlist: when a class is defined, each public method that is neither marked
`@rpc` itself nor a runtime handler (`fetch`, `alarm`, `webSocket*`) is wrapped
in a descriptor that is not a plain function. It stays an ordinary method for
Python code, and is invisible to Workers RPC, to `POST /rpc` and to the
pipelines built on it. An override of an `@rpc` method is remote only when it is
marked `@rpc` too, with the scope it states (ADR 0016).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from typing import Any, TypeVar, overload

from dotdo.core.argtypes import check_argument_types
from dotdo.errors import BadRequest, NotFound

__all__ = [
    "RUNTIME_HANDLERS",
    "SCOPES",
    "bind_arguments",
    "invoke",
    "is_rpc_method",
    "method_scope",
    "rpc",
    "rpc_methods",
    "seal_rpc_surface",
]

F = TypeVar("F", bound=Callable[..., Any])

RUNTIME_HANDLERS = frozenset({"fetch", "alarm", "webSocketMessage", "webSocketClose", "webSocketError"})
_MARK = "__dotdo_rpc__"


SCOPES = ("read", "write", "admin")
"""Capability scopes, each including the ones before it."""
_SCOPE = "__dotdo_rpc_scope__"


@overload
def rpc(method: F, /) -> F: ...
@overload
def rpc(*, scope: str = "write") -> Callable[[F], F]: ...
def rpc(method: F | None = None, /, *, scope: str = "write") -> F | Callable[[F], F]:
    """Mark a method as callable over Workers RPC, `POST /rpc` and the other RPC surfaces.

    `scope` is what a capability token must grant to call it: "read", "write"
    (the default) or "admin"."""
    if scope not in SCOPES:
        raise ValueError(f"scope is one of {', '.join(SCOPES)}")

    def mark(function: F) -> F:
        setattr(function, _MARK, True)
        setattr(function, _SCOPE, scope)
        return function

    return mark(method) if method is not None else mark


def method_scope(method: Callable[..., Any]) -> str:
    """The scope an RPC method needs ("write" when it does not say)."""
    function = getattr(method, "__func__", method)
    scope = getattr(function, _SCOPE, "write")
    return scope if scope in SCOPES else "write"


class LocalMethod:
    """A method that Python code calls as usual but RPC does not see (not a FunctionType)."""

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


def _class_attribute(cls: type, name: str) -> Any:
    for base in cls.__mro__:
        if name in base.__dict__:
            return base.__dict__[name]
    return None


def seal_rpc_surface(cls: type) -> None:
    """Hide every public method of `cls` (own attributes) that is not an RPC method."""
    for name, value in list(cls.__dict__.items()):
        if name.startswith("_") or name in RUNTIME_HANDLERS or not isinstance(value, types.FunctionType):
            continue
        if getattr(value, _MARK, False):
            continue
        setattr(cls, name, LocalMethod(value))


def is_rpc_method(cls: type, name: str) -> bool:
    if not name or name.startswith("_") or name in RUNTIME_HANDLERS:
        return False
    value = _class_attribute(cls, name)
    return isinstance(value, types.FunctionType) and bool(getattr(value, _MARK, False))


def rpc_methods(cls: type) -> list[str]:
    return sorted(name for name in dir(cls) if is_rpc_method(cls, name))


def bind_arguments(method: Callable[..., Any], params: Any) -> tuple[list[Any], dict[str, Any]]:
    """Check `params` (a list, or an object of keyword arguments) against the method's
    signature and its parameters' annotations."""
    if params is None:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
    elif isinstance(params, list):
        args, kwargs = params, {}
    elif isinstance(params, dict):
        args, kwargs = [], params
    else:
        raise BadRequest(
            "params is a list of arguments or an object of keyword arguments", code="invalid_params"
        )
    try:
        bound = _signature(method).bind(*args, **kwargs)
    except TypeError as exc:
        raise BadRequest(f"Wrong arguments for {method.__name__}: {exc}", code="invalid_params") from exc
    check_argument_types(method, bound)
    return args, kwargs


def _signature(method: Callable[..., Any]) -> inspect.Signature:
    """The signature a call binds against: computed once per function (it is most of the
    cost of binding), without `self` for a bound method."""
    function = getattr(method, "__func__", None)
    if inspect.isfunction(function):
        return _signature_without_self(function)
    if inspect.isfunction(method):
        return _function_signature(method)
    return inspect.signature(method)


@functools.cache
def _function_signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


@functools.cache
def _signature_without_self(function: Callable[..., Any]) -> inspect.Signature:
    signature = inspect.signature(function)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


async def invoke(method: Callable[..., Any], params: Any) -> Any:
    """Check `params` against the method's signature (400 `invalid_params`), call it, await it."""
    args, kwargs = bind_arguments(method, params)
    result = method(*args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def resolve_rpc_method(target: object, name: Any) -> Callable[..., Any]:
    if not isinstance(name, str) or not is_rpc_method(type(target), name):
        raise NotFound(f"No RPC method named {name!r}", code="method_not_found")
    method: Callable[..., Any] = getattr(target, name)
    return method
