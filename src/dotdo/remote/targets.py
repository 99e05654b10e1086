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

A step taken on null (`get()` of a missing thing, then `.name`) is refused with the
same codes, its message naming the call that answered null (`step_text`, `null_step`),
so the caller knows which step to fix.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable
from typing import Any

from dotdo.errors import BadRequest, NotFound
from dotdo.remote.marks import RpcTarget, is_reference, rpc_methods, rpc_scope

__all__ = [
    "null_step",
    "path_text",
    "resolve_call",
    "resolve_operation",
    "resolve_property",
    "resolve_target",
    "snake_case",
    "step_text",
    "target_text",
    "with_article",
]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """A JavaScript caller's camelCase name in Python's spelling: `findFirst` -> `find_first`."""
    return _CAMEL.sub(r"_\1", name).lower()


@functools.lru_cache(maxsize=1024)
def _spellings(name: str) -> tuple[str, ...]:
    """The names a caller's method name may find, in the order they are tried: itself, then
    its snake_case spelling when that differs (the regex is most of a lookup's cost; the
    cache is bounded, as callers choose the names), then, for a Python keyword, the name
    PEP 8 gives a method named by one (`return` -> `return_`: no `def return` can be
    written), a capitalised one included (`None` -> `None_`, which no noun is named:
    `dotdo.remote.names.TYPE_NAME`)."""
    snake = snake_case(name)
    keyword_named = name if name in _KEYWORDS else snake if snake in _KEYWORDS else None
    if keyword_named is not None:
        return tuple(dict.fromkeys((name, snake, keyword_named + "_")))
    return tuple(dict.fromkeys((name, snake)))


_KEYWORDS = frozenset(keyword.kwlist)


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


def resolve_operation(
    target: Any, name: Any, is_root: bool, answered_by: str = "the call"
) -> tuple[Callable[..., Any], str | None, str]:
    """The bound method `name` of `target`, the scope it needs and the operation's one
    name; NotFound otherwise (on a `target` of None, naming `answered_by`, the step that
    answered it: `null_step`).

    The scope is None for a noun called on the object (`Customer("c-1")`): that only
    names a thing, like a pipeline's target; the thing's own methods are checked. The
    operation's name is the one a token's `methods` caveat lists (ADR 0016, one name per
    operation): the method's Python name (`getThing` on the object is `get_thing`), and
    for a noun accessor's method the flat RPC method it is (`Customer("c-1").get()` is
    `get_thing`: the accessor's `rpc_operations`), so a token grants an operation by the
    same name on `/rpc`, `/ws/rpc`, pipelines and Cap'n Web."""
    if target is None:
        raise null_step("method", name, answered_by)
    if isinstance(name, str) and name and not name.startswith("_"):
        callable_here = is_root or is_reference(target)
        cls: type = type(target)
        for candidate in _spellings(name):
            if callable_here:
                scope = _scope(cls, candidate)
                if scope is not None:
                    operations = getattr(cls, "rpc_operations", None)
                    operation = operations.get(candidate, candidate) if operations else candidate
                    return getattr(target, candidate), scope, operation
            if is_root and candidate == name:
                noun = _noun(target, candidate)
                call = resolve_call(noun) if noun is not None else None
                if call is not None:
                    return call, None, candidate
    suggestion = _closest_method(target, name) if is_root or is_reference(target) else None
    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
    raise NotFound(
        f"No callable method {name!r} on {_describe(target)} (a method is callable remotely "
        f"when it is marked @rpc){hint}",
        code="method_not_found",
        details={"suggestion": suggestion} if suggestion else None,
    )


def _closest_method(target: Any, name: Any) -> str | None:
    """The method callable on `target` closest to a caller's `name` (`borow` -> `borrow`,
    its snake_case spelling compared), as a noun's is; None when none is close. Only on
    the error path: it reads the class's whole remote surface."""
    if not isinstance(name, str) or not name:
        return None
    import difflib

    close = difflib.get_close_matches(snake_case(name), rpc_methods(type(target)), n=1, cutoff=0.75)
    return close[0] if close else None


def resolve_property(target: Any, name: Any, is_root: bool = False, answered_by: str = "the call") -> Any:
    """A property read: a noun of the object, a dict key, a list index, or a listed
    property of a target; 404 `property_not_found` otherwise (on a `target` of None,
    naming `answered_by`, the step that answered it: `null_step`)."""
    if target is None:
        raise null_step("property", name, answered_by)
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


# Methods of the noun accessors that answer null for "no such thing" rather than a 404.
_NULL_ANSWERS = {"get": "no thing has that id", "find_first": "no thing matched"}


def step_text(receiver: str, name: Any, args: Any = None) -> str:
    """A step as a caller would write it, for messages: `receiver` (the text of what it was
    taken on, "" for the object), then `.name` for a read or `.name(...)` for a call with
    `args` (a list; strings and numbers shown, anything else as `...`)."""
    if args is None:
        shown = ""
    else:
        items = args if isinstance(args, list | tuple) else [args]
        shown = "(" + ", ".join(_shown(a) for a in items) + ")"
    text = f"{receiver}.{name}{shown}" if receiver else f"{name}{shown}"
    # A caller chooses the chain's length: a message keeps its last steps only.
    return text if len(text) <= _MAX_TEXT else "..." + text[-_MAX_TEXT:]


_MAX_TEXT = 200


def _shown(value: Any) -> str:
    """An argument in a message: a short string or number as written, anything else `...`."""
    if isinstance(value, str | int | float | bool) and not (isinstance(value, str) and len(value) > 40):
        text = repr(value)
        if len(text) <= 42:
            return text
    return "..."


def null_step(kind: str, name: Any, answered_by: str) -> NotFound:
    """404 for a step taken on null: `kind` "property" (`property_not_found`) or "method"
    (`method_not_found`, as on any receiver without the name); `answered_by` is the step
    that answered null (`step_text`). `get` and `find_first` answer null for a missing
    thing, which the message says: the caller fixes the id or the where, not the read."""
    what = "readable property" if kind == "property" else "callable method"
    last = answered_by.rsplit(".", 1)[-1].split("(", 1)[0]
    reason = _NULL_ANSWERS.get(snake_case(last))
    why = f" ({last} answers null when {reason})" if reason else ""
    code = "property_not_found" if kind == "property" else "method_not_found"
    return NotFound(f"No {what} {name!r} on null: {answered_by} answered null{why}", code=code)


def path_text(receiver: str, path: list[Any], args: list[Any] | None) -> str:
    """A reference's property `path`, then a call with `args` (None: no call), taken on
    `receiver` (`step_text`): Cap'n Web's `["pipeline", import, path, args]`."""
    for position, name in enumerate(path):
        receiver = step_text(receiver, name, args if position == len(path) - 1 else None)
    return receiver if path or args is None else step_text("", receiver or "the call", args)


def target_text(target: list[str]) -> str:
    """A pipeline's `target` as the steps it stands for: `Customer('ada')`, `Customer`, ""."""
    if not target:
        return ""
    return target[0] if len(target) == 1 or target[1] == "" else step_text("", target[0], [target[1]])


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
    return with_article(type(target).__name__)


def with_article(name: str) -> str:
    """`name` (a class's) after its indefinite article: "an App", "a Desk" (by the
    first letter; "a User", as said)."""
    return f"{'an' if name[:1] in 'AEIO' else 'a'} {name}"
