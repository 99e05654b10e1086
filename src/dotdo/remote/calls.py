"""A remote call: the caller's arguments bound to the method's signature and checked
against its annotations (400 `invalid_params`), an options object unpacked, the
result awaited. Every RPC surface calls through `invoke`."""

from __future__ import annotations

import functools
import inspect
import logging
import types
from collections.abc import Callable, Mapping
from typing import Any

from dotdo.errors import BadRequest
from dotdo.remote.argtypes import (
    ArgumentError,
    argument_error,
    callee_name,
    check_argument_types,
    compile_check,
    is_framework,
    parameter_hints,
)
from dotdo.remote.fields import body_arguments, check_fields, invoke_body, is_call_id, listed, unknown_field
from dotdo.remote.marks import method_options
from dotdo.remote.targets import snake_case

__all__ = [
    "bind_arguments",
    "body_arguments",
    "check_fields",
    "invoke",
    "invoke_body",
    "is_call_id",
    "listed",
    "options_arguments",
    "signature_of",
    "unknown_field",
]

logger = logging.getLogger("dotdo.rpc")


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
    binder = _binder(method)
    if binder is None or not binder.check(method, args, kwargs):
        signature = signature_of(method)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            message = f"Wrong arguments for {callee_name(method)}: {exc}{_unknown_names(signature, kwargs)}"
            raise BadRequest(message, code="invalid_params") from exc
        check_argument_types(method, bound)
    return args, kwargs


def _unknown_names(signature: inspect.Signature, kwargs: dict[str, Any]) -> str:
    """What a refusal adds about the named arguments no parameter takes: `bind` names only
    the first thing it finds (a missing `member_id`), not the `member` and `book` sent in
    its place. "" when every name is a parameter's, or the method takes `**kwargs`."""
    parameters = signature.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return ""
    unknown = [name for name in kwargs if name not in parameters]
    if not unknown:
        return ""
    shown = ", ".join(f"{name!r:.42}" for name in unknown[:_LISTED]) + (
        ", ..." if len(unknown) > _LISTED else ""
    )
    taken = ", ".join(
        name for name, p in parameters.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL
    )
    return f"; no parameter is named {shown} (its parameters: {taken or 'none'})"


_LISTED = 5
"""Most unknown names a refusal lists: a caller chooses how many it sends."""

_MISSING = object()


class _Binder:
    """`inspect.Signature.bind` and `check_argument_types` for one function whose
    parameters are all plain (positional-or-keyword, then keyword-only): worked out once
    per function, since binding with `inspect` is most of a call's dispatch.

    `check` answers True when the arguments bind and every annotation accepts its value,
    raises the same 400 the general path raises for the first value its annotation does
    not accept (in parameter order, as `bound.arguments` holds them), and answers False
    when they do not bind: the general path then gives the error with `inspect`'s words."""

    __slots__ = ("checks", "index", "positional", "required")

    def __init__(self, function: Callable[..., Any], signature: inspect.Signature) -> None:
        parameters = list(signature.parameters.values())
        self.positional = sum(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
        self.index = {p.name: position for position, p in enumerate(parameters)}
        """Each parameter's position: below `positional` it may be passed positionally."""
        self.required = tuple((n, p.name) for n, p in enumerate(parameters) if p.default is p.empty)
        hints = parameter_hints(function)
        bounded = is_framework(function)  # a framework method's integers fit 64 bits (ADR 0037)
        self.checks = tuple(
            (n, p.name, compile_check(hints[p.name], bounded=bounded), hints[p.name])
            for n, p in enumerate(parameters)
            if hints.get(p.name) is not None
        )

    def check(self, method: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> bool:
        given = len(args)
        if given > self.positional:
            return False
        index = self.index
        for name in kwargs:
            position = index.get(name)
            if position is None or position < given:  # unknown, or also given by position
                return False
        for position, name in self.required:
            if position >= given and name not in kwargs:
                return False
        for position, name, accepts, annotation in self.checks:
            value = args[position] if position < given else kwargs.get(name, _MISSING)
            if value is not _MISSING and not accepts(value):
                raise argument_error(method, name, annotation, value)
        return True


def _binder(method: Callable[..., Any]) -> _Binder | None:
    """The compiled binder of a plain function or a method bound to an object, or None
    where only the general path knows how to bind (`*args`, `**kwargs`, positional-only
    parameters, a callable that is not a function)."""
    function = getattr(method, "__func__", None)
    if isinstance(function, types.FunctionType):  # inspect.isfunction, without its call
        return _method_binder(function)
    if isinstance(method, types.FunctionType):
        return _function_binder(method)
    return None


def _compiled(function: Callable[..., Any], signature: inspect.Signature) -> _Binder | None:
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if not all(p.kind in plain for p in signature.parameters.values()):
        return None
    try:
        return _Binder(function, signature)
    except Exception:  # an annotation only `conforms` can take apart, when a value comes
        logger.debug("no compiled binder for %r", function, exc_info=True)
        return None


@functools.cache
def _function_binder(function: Callable[..., Any]) -> _Binder | None:
    return _compiled(function, _function_signature(function))


@functools.cache
def _method_binder(function: Callable[..., Any]) -> _Binder | None:
    return _compiled(function, _signature_without_self(function))


def signature_of(method: Callable[..., Any]) -> inspect.Signature:
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


def options_arguments(method: Callable[..., Any], params: Any) -> Any:
    """JavaScript-style calls pass one options object (`list({where, limit})`). For a
    method marked `@rpc(options=...)`, a single positional object whose keys are all
    option names (camelCase or snake_case) becomes keyword arguments; anything else,
    and every call of another method, is left as is."""
    if not (isinstance(params, list) and len(params) == 1 and isinstance(params[0], dict) and params[0]):
        return params  # the common call, asked first: no options object to unpack
    names = method_options(method)
    if not names:
        return params
    options = params[0]
    if not all(isinstance(key, str) and snake_case(key) in names for key in options):
        return params
    return {snake_case(key): value for key, value in options.items()}


async def invoke(method: Callable[..., Any], params: Any, fields: Mapping[str, str] | None = None) -> Any:
    """Check `params` against the method's signature (400 `invalid_params`), call it, await it.

    `fields` is an HTTP route's map of body fields to parameters (`body_arguments`'): an
    argument the body gave is named in errors as the field the client sent (`"Body field
    'texts' ..."`), not as the method's argument it became."""
    arguments = options_arguments(method, params)
    try:
        args, kwargs = bind_arguments(method, arguments)
    except ArgumentError as error:
        field = _field(fields, error.argument)
        if field is None:
            raise
        raise error.renamed(field) from None
    except BadRequest:  # the arguments did not bind
        field = None if fields is None else _field(fields, _first_missing(method, arguments))
        if field is None:
            raise
        raise BadRequest(f"Body field {field!r} is required", code="invalid_params") from None
    result = method(*args, **kwargs)
    if type(result) not in _PLAIN and inspect.isawaitable(result):
        result = await result
    return result


def _first_missing(method: Callable[..., Any], arguments: Any) -> str | None:
    """The first parameter of `method` (in its signature's order, as `inspect` reports
    one) that has no default and that `arguments`, keyword arguments, do not give; None
    when there is none or `arguments` are not keywords."""
    if not isinstance(arguments, dict):
        return None
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    for parameter in signature_of(method).parameters.values():
        required = parameter.kind in named and parameter.default is parameter.empty
        if required and parameter.name not in arguments:
            return parameter.name
    return None


def _field(fields: Mapping[str, str] | None, parameter: str | None) -> str | None:
    """The body field `fields` (a route's body field -> parameter) gives `parameter` from."""
    if fields is None or parameter is None:
        return None
    return next((field for field, name in fields.items() if name == parameter), None)


_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})
"""Exact types a method's result is never awaitable as (`inspect.isawaitable` asks
`collections.abc.Awaitable`, an ABC check, of every other value)."""
