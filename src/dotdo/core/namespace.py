"""The app's names and the framework's: a subclass that reuses a framework name by
accident is refused when its class is created.

Each dotdo layer declares a `Layer` in its class body: the hooks an application
overrides freely and the instance attributes its `__init__` sets. Everything else
the layer defines is the framework's: its methods (public and private), its
properties, and its instance attributes. Its public class attributes that are
data (`declared_nouns`, `delivery_retry_limit`, ...) are options, free to set.

A subclass (or a mixin before the framework in its bases) that defines a
framework name gets a `TypeError` naming both and the way out: `@override` when
the replacement is meant (a replaced `@rpc` method is remote only if marked
`@rpc` itself), another name when it is not. An instance attribute of the
framework cannot be replaced (the app's value and the framework's would overwrite
each other), so it always needs another name; assigning one again
(`self.things = ...` in the app's `__init__`) is refused by `DOCore.__setattr__`
with `assignment_clash`'s message. `@override` on a name no base class defines
is a `TypeError` too: the name it meant to replace was mistyped or renamed.

Only the class being created and its mixins are checked: an application base
class was checked when it was created.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from dotdo.remote.marks import is_rpc_method, method_scope

__all__ = [
    "LAYER_ATTRIBUTE",
    "FrameworkName",
    "Layer",
    "assignment_clash",
    "check_namespace",
    "framework_names",
    "is_overridden_on_purpose",
    "override",
    "reserved_attributes",
]

F = TypeVar("F")

LAYER_ATTRIBUTE = "_dotdo_layer"
"""Where a framework class keeps its `Layer` (in its own class body)."""
_OVERRIDE = "__override__"  # PEP 698's marker: `typing.override` counts too


@dataclass(frozen=True)
class Layer:
    """What one framework class declares about its names.

    `hooks`: methods an application overrides freely (and calls `super()` in).
    `attributes`: the instance attributes its `__init__` sets, once each.
    """

    hooks: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, hooks: Iterable[str] = (), attributes: Iterable[str] = ()) -> Layer:
        """A Layer from any iterables of names (`Layer.of(hooks=("routes",), attributes=...)`)."""
        return cls(frozenset(hooks), frozenset(attributes))


@dataclass(frozen=True)
class FrameworkName:
    """A name the framework defines: the most derived framework class defining it (the
    one a subclass would replace), and what it is (`hook`, `option`, `attribute`,
    `method`, `RPC method`, `property`, `internals`)."""

    owner: type
    kind: str


def override(member: F) -> F:
    """Mark a method or property as replacing a framework member on purpose.

        class Shop(DOWorkflow):
            @override
            @rpc(scope="read")          # without @rpc the replacement is Python-only
            def query(self, sql: str, params: list | None = None) -> dict: ...

    Sets `__override__ = True` (PEP 698), so `typing.override` is accepted as well."""
    target = member.fget if isinstance(member, property) else member
    target = getattr(target, "__func__", target)  # classmethod, staticmethod
    setattr(target, _OVERRIDE, True)
    return member


def is_overridden_on_purpose(member: Any) -> bool:
    """Is `member` (a class attribute) marked `@override` / `typing.override`?"""
    target = member.fget if isinstance(member, property) else member
    target = getattr(target, "__func__", target)
    return getattr(target, _OVERRIDE, False) is True


def _layer(cls: type) -> Layer | None:
    layer = vars(cls).get(LAYER_ATTRIBUTE)
    return layer if isinstance(layer, Layer) else None


def _framework_classes(cls: type) -> tuple[type, ...]:
    return tuple(klass for klass in cls.__mro__ if _layer(klass) is not None)


def framework_names(cls: type) -> dict[str, FrameworkName]:
    """Every name the framework classes in `cls`'s MRO define, dunders aside."""
    return dict(_names(_framework_classes(cls)))


@functools.cache
def _names(framework: tuple[type, ...]) -> tuple[tuple[str, FrameworkName], ...]:
    hooks = frozenset().union(*(_layer_of(klass).hooks for klass in framework))
    names: dict[str, FrameworkName] = {}
    for klass in framework:  # most derived first: it is the one a subclass would replace
        for name in _layer_of(klass).attributes:
            names.setdefault(name, FrameworkName(klass, "attribute"))
        for name, value in vars(klass).items():
            if name.startswith("__") or name == LAYER_ATTRIBUTE or name in names:
                continue
            names[name] = FrameworkName(klass, _kind(klass, name, value, hooks))
    return tuple(sorted(names.items()))


def _layer_of(klass: type) -> Layer:
    layer = _layer(klass)
    assert layer is not None
    return layer


def _kind(klass: type, name: str, value: Any, hooks: frozenset[str]) -> str:
    if name in hooks:
        return "hook"
    if name.startswith("_"):
        return "internals"
    if isinstance(value, property):
        return "property"
    if callable(value) or hasattr(value, "__func__"):
        return "RPC method" if is_rpc_method(klass, name) else "method"
    return "option"


_RESERVED: dict[type, frozenset[str]] = {}


def reserved_attributes(cls: type) -> frozenset[str]:
    """The instance attributes the framework sets on an object of `cls` (computed once a class)."""
    reserved = _RESERVED.get(cls)
    if reserved is None:
        reserved = frozenset().union(*(_layer_of(klass).attributes for klass in _framework_classes(cls)))
        _RESERVED[cls] = reserved
    return reserved


def check_namespace(cls: type) -> None:
    """Raise TypeError when `cls` or one of its mixins defines a framework name without
    meaning to (see the module docstring); nothing for a framework class itself."""
    mro = cls.__mro__
    if _layer(cls) is not None:
        return
    names = framework_names(cls)
    first_framework = next((i for i, klass in enumerate(mro) if _layer(klass) is not None), len(mro))
    mixins = [klass for klass in mro[1:first_framework] if not _framework_classes(klass)]
    for klass in (cls, *mixins):
        for name, value in vars(klass).items():
            if name.startswith("__"):
                continue
            known = names.get(name)
            if known is not None and known.kind not in ("hook", "option"):
                _check_member(klass, name, value, known)
    for name, value in vars(cls).items():
        if not name.startswith("__") and is_overridden_on_purpose(value) and not _defined_in_bases(cls, name):
            raise TypeError(
                f"{cls.__name__}.{name} is marked @override, but no base class of "
                f"{cls.__name__} defines {name!r}: is the name mistyped, or was it renamed?"
            )


def _check_member(klass: type, name: str, value: Any, known: FrameworkName) -> None:
    clash = f"{klass.__name__}.{name} clashes with {known.owner.__name__}.{name}"
    if known.kind == "attribute":
        raise TypeError(
            f"{clash} (an attribute the framework sets on every instance, which nothing "
            "can replace). Give yours another name."
        )
    if is_overridden_on_purpose(value):
        return
    if known.kind == "internals":
        raise TypeError(
            f"{clash} (the framework's internals). Give yours another name "
            "(@override would replace it, unsupported: internals change without notice)."
        )
    advice = "To replace it on purpose, decorate it with @override (from dotdo)"
    if known.kind == "RPC method":
        scope = method_scope(vars(known.owner)[name])
        advice += (
            "; the replacement is remote only if it is marked @rpc as well "
            f'(@override @rpc(scope="{scope}") keeps it as remote as it was)'
        )
    raise TypeError(f"{clash} (a framework {known.kind}). {advice}. Otherwise give yours another name.")


def _defined_in_bases(cls: type, name: str) -> bool:
    return any(name in vars(base) for base in cls.__mro__[1:])


def assignment_clash(cls: type, name: str) -> TypeError:
    """The error for assigning the framework's instance attribute `name` on an object
    of `cls` that already has it."""
    owner = next(
        (klass.__name__ for klass in _framework_classes(cls) if name in _layer_of(klass).attributes),
        "the framework",
    )
    return TypeError(
        f"{cls.__name__} sets self.{name}, which clashes with {owner}.{name} (an attribute the "
        "framework sets on every instance, which nothing can replace). Give yours another name."
    )
