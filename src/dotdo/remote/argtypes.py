"""Check RPC arguments against the method's type annotations, at the boundary.

A remote caller can send any JSON; a method annotated `limit: int` that gets a
list would otherwise fail deep inside with a TypeError, a 500 for what is the
caller's mistake. The annotation forms RPC methods use are checked (`str`,
`int`, `float`, `bool`, `None`, unions, `Literal`, `list`/`Sequence`/`tuple`,
`dict`/`Mapping`, and classes by `isinstance`); anything else (`Any`, type
variables, protocols, an annotation that does not resolve) accepts every value.

A framework method's integers are bounded (ADR 0037): checked with `bounded=True`, an
`int` or `float` annotation refuses an integer outside SQLite's 64 bits
(`dotdo.values.INT64_RANGE`), the 400 an HTTP route gives for the same value, since
every such integer the framework takes (an `as_of`, a `limit`, a version, a time)
ends up in SQL or in a timestamp. An app's own `int` stays Python's.
"""

from __future__ import annotations

import builtins
import collections.abc
import datetime
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any

from dotdo.errors import BadRequest
from dotdo.values import INT64_MAX, INT64_MIN, INT64_RANGE

__all__ = [
    "ArgumentError",
    "argument_error",
    "callee_name",
    "check_argument_types",
    "compile_check",
    "conforms",
    "describe_type",
    "is_framework",
    "parameter_hints",
]

_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Collection)
_MAPPINGS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def check_argument_types(method: Callable[..., Any], bound: inspect.BoundArguments) -> None:
    """Raise 400 `invalid_params` for the first argument its annotation does not accept
    (a framework method's integers bounded to 64 bits, see `is_framework`)."""
    function = getattr(method, "__func__", method)
    hints = parameter_hints(function)
    bounded = is_framework(function)
    parameters = bound.signature.parameters
    for name, value in bound.arguments.items():
        annotation = hints.get(name)
        if annotation is None:
            continue
        kind = parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            values = list(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            values = list(value.values())
        else:
            values = [value]
        for item in values:
            if not conforms(item, annotation, bounded=bounded):
                raise argument_error(method, name, annotation, item)


def callee_name(method: Callable[..., Any]) -> str:
    """How an error names the method a caller called: its name, or, for what calling an
    object itself runs (a noun accessor's `rpc_call`, `Customer("c-1")`), the call as the
    caller wrote it (`Customer(id)`), never the private function behind it."""
    name = str(getattr(method, "__name__", "the method"))
    owner = getattr(method, "__self__", None)
    if owner is not None and getattr(type(owner), "rpc_call", None) == name:
        return f"{getattr(owner, 'type', type(owner).__name__)}(id)"
    return name


class ArgumentError(BadRequest):
    """(internal) The 400 `invalid_params` of one argument its annotation refused
    (`argument_error`), which keeps what it was built from, so that a surface that named the
    argument otherwise (an HTTP route's body field) can say it in its own words (`renamed`)."""

    def __init__(self, method: Callable[..., Any], name: str, annotation: Any, value: Any) -> None:
        """Argument `name` of `method` (its parameter's name), whose `value` its `annotation`
        refused."""
        self.argument = name
        self._parts = (method, annotation, value)
        super().__init__(_argument_message(method, name, annotation, value), code="invalid_params")

    def renamed(self, field: str) -> BadRequest:
        """The same 400, naming the argument as the body field `field` it came from
        (`"Body field 'targets' takes an array ...; targets[1] is ..."`), never the method."""
        method, annotation, value = self._parts
        return BadRequest(
            _argument_message(method, self.argument, annotation, value, field), code="invalid_params"
        )


def argument_error(method: Callable[..., Any], name: str, annotation: Any, value: Any) -> ArgumentError:
    """The 400 `invalid_params` for argument `name` of `method`, whose `value` its
    `annotation` does not accept: the type the annotation asks for, and, where the argument
    has the right shape but an item inside it does not fit, that item by its path and its
    type (`"Argument 'keys' of delete_many takes an array of strings; keys[1] is an integer,
    not a string"`); the 64-bit range when only that bound refused an integer (ADR 0037)."""
    return ArgumentError(method, name, annotation, value)


def _argument_message(
    method: Callable[..., Any], name: str, annotation: Any, value: Any, field: str | None = None
) -> str:
    """`argument_error`'s message; with `field`, the argument named as that body field."""
    bounded = is_framework(getattr(method, "__func__", method))
    root = name if field is None else field
    path, inner, part = _offending_part(root, annotation, value, bounded)
    head = f"Argument {name!r} of {callee_name(method)}" if field is None else f"Body field {field!r}"
    if _is_integer(part) and not INT64_MIN <= part <= INT64_MAX and conforms(part, inner):
        where = "" if path == root else f" {path}"
        return f"{head}:{where} {INT64_RANGE}"
    if path == root:
        return f"{head} takes {describe_type(annotation)}, not {_describe_value(value)}"
    item = f"{path} is {_describe_value(part)}, not {describe_type(inner)}"
    return f"{head} takes {describe_type(annotation)}; {item}"


def _offending_part(path: str, annotation: Any, value: Any, bounded: bool) -> tuple[str, Any, Any]:
    """The innermost part of `value` that `annotation` refuses, as `(path, annotation,
    value)`: an array's first item that does not fit (`keys[1]`), an object's first member
    (`where["a"]`), recursively; `value` itself where its own shape is wrong, or where a
    union leaves more than one reading of it."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        shaped = [argument for argument in arguments if _same_shape(value, argument)]
        if len(shaped) != 1:
            return path, annotation, value
        return _offending_part(path, shaped[0], value, bounded)
    if not _same_shape(value, annotation):
        return path, annotation, value
    container = origin or annotation
    if container in _MAPPINGS:
        key_type, value_type = arguments if len(arguments) == 2 else (Any, Any)
        for key, member in value.items():
            if not conforms(key, key_type, bounded=bounded):
                return path, annotation, value
            if not conforms(member, value_type, bounded=bounded):
                label = json.dumps(key, ensure_ascii=False) if isinstance(key, str) else repr(key)
                return _offending_part(f"{path}[{label}]", value_type, member, bounded)
    elif container in _SEQUENCES:
        fixed = container is tuple and arguments and arguments[-1] is not Ellipsis
        if fixed and len(value) != len(arguments):
            return path, annotation, value
        item_types = arguments if fixed else [arguments[0] if arguments else Any] * len(value)
        for index, (item, item_type) in enumerate(zip(value, item_types, strict=True)):
            if not conforms(item, item_type, bounded=bounded):
                return _offending_part(f"{path}[{index}]", item_type, item, bounded)
    return path, annotation, value


def _same_shape(value: Any, annotation: Any) -> bool:
    """Is `annotation` a container (array or object) of `value`'s own JSON kind?"""
    container = typing.get_origin(annotation) or annotation
    if container in _MAPPINGS:
        return isinstance(value, dict)
    return container in _SEQUENCES and isinstance(value, list | tuple)


def is_framework(function: Any) -> bool:
    """Is `function` one of dotdo's own (defined in a `dotdo.` module)? Its `int` and
    `float` parameters take only integers within 64 bits (ADR 0037)."""
    return str(getattr(function, "__module__", "")).startswith("dotdo.")


def conforms(value: Any, annotation: Any, *, bounded: bool = False) -> bool:
    """Does `value` (as decoded from the wire) fit `annotation`? With `bounded`, an `int`
    or `float` annotation takes an integer only within 64 bits (`INT64_RANGE`)."""
    if annotation is Any or annotation is object or isinstance(annotation, typing.TypeVar):
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(conforms(value, argument, bounded=bounded) for argument in arguments)
    if origin is typing.Literal:
        return any(value == choice and type(value) is type(choice) for choice in arguments)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return _is_integer(value) and (not bounded or INT64_MIN <= value <= INT64_MAX)
    if annotation is float:
        if _is_integer(value):
            return not bounded or INT64_MIN <= value <= INT64_MAX
        return isinstance(value, float)
    if annotation is str or annotation is bytes:
        return isinstance(value, annotation)
    container = origin or annotation
    if container in _MAPPINGS:
        if not isinstance(value, dict):
            return False
        key_type, value_type = arguments if len(arguments) == 2 else (Any, Any)
        return all(
            conforms(k, key_type, bounded=bounded) and conforms(v, value_type, bounded=bounded)
            for k, v in value.items()
        )
    if container in _SEQUENCES:
        if not isinstance(value, list | tuple):
            return False
        if container is tuple and arguments and arguments[-1] is not Ellipsis:
            return len(value) == len(arguments) and all(
                conforms(item, argument, bounded=bounded)
                for item, argument in zip(value, arguments, strict=True)
            )
        item_type = arguments[0] if arguments else Any
        return all(conforms(item, item_type, bounded=bounded) for item in value)
    if isinstance(container, type) and not _is_protocol(container):
        return isinstance(value, container)
    return True


def compile_check(annotation: Any, *, bounded: bool = False) -> Callable[[Any], bool]:
    """`conforms` for one annotation, worked out once: a predicate `value -> bool` giving
    the same answer as `conforms(value, annotation, bounded=bounded)` for every value, without taking the
    annotation apart again on each call (a method's annotations are compiled once, see
    `dotdo.remote.calls`). A form it does not compile is checked by `conforms` itself."""
    if annotation is Any or annotation is object or isinstance(annotation, typing.TypeVar):
        return _anything
    if annotation is None or annotation is type(None):
        return _is_none
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        parts = tuple(compile_check(argument, bounded=bounded) for argument in arguments)
        return lambda value: any(part(value) for part in parts)
    simple = (_BOUNDED if bounded else _SIMPLE).get(annotation) if isinstance(annotation, type) else None
    if simple is not None:
        return simple
    container = origin or annotation
    if container in _MAPPINGS:
        key_type, value_type = arguments if len(arguments) == 2 else (Any, Any)
        key_check = compile_check(key_type, bounded=bounded)
        value_check = compile_check(value_type, bounded=bounded)
        if key_check is _anything and value_check is _anything:
            return _is_dict
        return lambda value: isinstance(value, dict) and all(
            key_check(k) and value_check(v) for k, v in value.items()
        )
    if container in _SEQUENCES and not (container is tuple and arguments and arguments[-1] is not Ellipsis):
        item_check = compile_check(arguments[0] if arguments else Any, bounded=bounded)
        if item_check is _anything:
            return _is_array
        return lambda value: isinstance(value, list | tuple) and all(item_check(item) for item in value)
    return lambda value: conforms(value, annotation, bounded=bounded)


def _anything(value: Any) -> bool:
    return True


def _is_none(value: Any) -> bool:
    return value is None


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple)


_SIMPLE: dict[type, Callable[[Any], bool]] = {
    bool: lambda value: isinstance(value, bool),
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    float: lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    str: lambda value: isinstance(value, str),
    bytes: lambda value: isinstance(value, bytes),
}
"""The scalar annotations, checked as `conforms` checks them."""
_BOUNDED: dict[type, Callable[[Any], bool]] = {
    **_SIMPLE,
    int: lambda value: _is_integer(value) and INT64_MIN <= value <= INT64_MAX,
    float: lambda value: isinstance(value, float) or (_is_integer(value) and INT64_MIN <= value <= INT64_MAX),
}
"""The same, as `conforms(..., bounded=True)` checks them: integers within 64 bits."""


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def describe_type(annotation: Any) -> str:
    """`int | None` -> "an integer or null"; `list[str]` -> "an array of strings"."""
    return _describe(annotation, plural=False)


def _describe(annotation: Any, *, plural: bool) -> str:
    """The words for `annotation`: one such value ("a string"), or, with `plural`, the items
    of an array of them ("strings")."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        parts = list(dict.fromkeys(_describe(a, plural=plural) for a in typing.get_args(annotation)))
        # "an array of strings, or null": without the comma, null reads as an item's type
        return (", or " if any(" of " in part for part in parts) else " or ").join(parts)
    if origin is typing.Literal:
        choices = ", ".join(repr(a) for a in typing.get_args(annotation))
        return f"items each one of {choices}" if plural else f"one of {choices}"
    container = origin or annotation
    if container in _MAPPINGS:
        return "objects" if plural else "an object"
    if container in _SEQUENCES:
        arrays = "arrays" if plural else "an array"
        items = {a for a in typing.get_args(annotation) if a is not Ellipsis}
        if container is not tuple and len(items) == 1 and not items & {Any, object}:
            return f"{arrays} of {_describe(items.pop(), plural=True)}"
        return arrays
    if annotation is None or annotation is type(None):
        return "nulls" if plural else "null"
    if isinstance(annotation, type):
        if annotation in _NAMES:
            return _NAMES[annotation][plural]
        return f"{annotation.__name__} values" if plural else f"a {annotation.__name__}"
    return "values of other types" if plural else "a value of another type"


_NAMES: dict[type, tuple[str, str]] = {
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    bytes: ("bytes", "bytes"),
    # How a remote caller writes them (docs/api.md, "Values JSON cannot carry"): a JSON
    # caller reading "a datetime" had no way to send one.
    datetime.datetime: ('a datetime ({"$date": epoch ms})', 'datetimes ({"$date": epoch ms})'),
}
"""The scalar annotations' words: (one value, the items of an array)."""


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _is_protocol(cls: type) -> bool:
    return bool(getattr(cls, "_is_protocol", False))


@functools.cache
def parameter_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The function's parameter annotations, resolved; one that cannot be is left out."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # a name only imported for type checking: resolve what can be
        hints = {}
        namespace = {**vars(builtins), **vars(typing), **vars(collections.abc), "builtins": builtins}
        namespace.update(getattr(function, "__globals__", {}))
        for name, text in getattr(function, "__annotations__", {}).items():
            try:  # the annotations are the method's own source text
                hints[name] = eval(text, namespace) if isinstance(text, str) else text
            except Exception:
                continue
    hints.pop("return", None)
    return hints
