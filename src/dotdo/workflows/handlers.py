"""The `on` handler registry: `on.Noun.verb`, with `*` for either part.

@on.Customer.signup              # a durable handler: found by method name
async def welcome(self, event): ...

unsubscribe = self.on["*"].created(handler)   # a run-time handler: in memory only
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dotdo.semantic.eventtypes import validate_pattern

__all__ = ["HANDLERS_MARK", "On", "on"]

HANDLERS_MARK = "__dotdo_handlers__"


class _Verbs:
    def __init__(self, on: On, noun: str) -> None:
        self._on = on
        self._noun = noun

    def __getattr__(self, verb: str) -> Callable[[Callable[..., Any]], Any]:
        if verb.startswith("_"):
            raise AttributeError(verb)
        return self[verb]

    def __getitem__(self, verb: str) -> Callable[[Callable[..., Any]], Any]:
        pattern = validate_pattern(f"{self._noun}.{verb}")
        return lambda handler: self._on.attach(pattern, handler)


class On:
    """`on.Noun.verb(handler)`. Unbound (the module's `on`) it marks methods as durable
    handlers; bound to an object (`self.on`) it registers run-time handlers."""

    def __init__(
        self, register: Callable[[str, Callable[..., Any]], Callable[[], None]] | None = None
    ) -> None:
        self._register = register

    def __getattr__(self, noun: str) -> _Verbs:
        if noun.startswith("_"):
            raise AttributeError(noun)
        return self[noun]

    def __getitem__(self, noun: str) -> _Verbs:
        return _Verbs(self, noun)

    def attach(self, pattern: str, handler: Callable[..., Any]) -> Any:
        if self._register is None:
            patterns = getattr(handler, HANDLERS_MARK, ())
            setattr(handler, HANDLERS_MARK, (*patterns, pattern))
            return handler
        return self._register(pattern, handler)


on = On()
"""Mark methods of a DOWorkflow class as durable event handlers: `@on.Customer.created`."""
