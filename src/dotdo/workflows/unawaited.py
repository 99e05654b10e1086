"""A plain-`def` handler that calls one of the object's coroutine methods and drops the result:
`self.send_event("Triage.done")` in a synchronous `@on` handler sends nothing (the coroutine is
never awaited, and only Python's RuntimeWarning says so), so it is logged when the class is
defined, naming `await` and the synchronous `emit`.

The check reads the handler's bytecode: a method call on its first argument (`self`) whose
result is popped at once, the call found by the stack depth `dis.stack_effect` gives, so a
call's arguments may hold calls of their own. A call whose result is kept (`return
self.send_event(...)`, which the handler's caller awaits, or one assigned) and any call the scan
cannot follow (past a jump: a conditional expression, a comprehension inlined by 3.12) are not
reported: it misses some, and names none that is not dropped.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import sys
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dis

__all__ = ["check_unawaited_calls", "dropped_calls"]

logger = logging.getLogger("dotdo.workflows")

_ENDS = ("RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "FOR_ITER", "SEND")


def _method_load(instruction: dis.Instruction) -> bool:
    """A load of a method to call (`self.name(...)`): `LOAD_METHOD` (3.11), or from 3.12 a
    `LOAD_ATTR` whose low bit asks for the method."""
    if instruction.opname == "LOAD_METHOD":
        return True
    return (
        instruction.opname == "LOAD_ATTR"
        and sys.version_info >= (3, 12)
        and bool(instruction.arg or 0) & 1 == 1
    )


def dropped_calls(function: Callable[..., Any], names: Iterable[str]) -> list[tuple[str, int | None]]:
    """The calls `self.<name>(...)` in `function`'s own code, of a name in `names`, whose result
    is dropped at once (name, line): (), for a coroutine function or a generator (they can
    await or yield the call), or code with no first argument."""
    code = getattr(inspect.unwrap(getattr(function, "__func__", function)), "__code__", None)
    if code is None or code.co_argcount == 0 or code.co_flags & (inspect.CO_COROUTINE | inspect.CO_GENERATOR):
        return []
    wanted = frozenset(names) & frozenset(code.co_names)
    if not wanted:  # most handlers: no bytecode read, and `dis` never imported (a cold start's cost)
        return []
    import dis

    receiver = code.co_varnames[0]
    instructions = list(dis.get_instructions(code))
    found: list[tuple[str, int | None]] = []
    for index, load in enumerate(instructions):
        if not (_method_load(load) and load.argval in wanted and index > 0):
            continue
        before = instructions[index - 1]
        if not (before.opname.startswith("LOAD_FAST") and before.argval == receiver):
            continue
        depth = 0  # the stack, from before the load: the method's call leaves it at 0
        for position in range(index, len(instructions) - 1):
            step = instructions[position]
            if step is not load and ("JUMP" in step.opname or step.opname in _ENDS):
                break
            argument = step.arg if step.opcode >= dis.HAVE_ARGUMENT else None
            depth += dis.stack_effect(step.opcode, argument, jump=False)
            if step.opname.startswith("CALL") and depth == 0:
                if instructions[position + 1].opname == "POP_TOP":
                    found.append((str(load.argval), load.positions.lineno if load.positions else None))
                break
    return found


def _function(value: Any) -> Any:
    """The function a method is, as the class holds it: `__func__` of a `@staticmethod`,
    `@classmethod` or dotdo's sealing (`LocalMethod`), never what a decorator's wrapper
    wraps (`__wrapped__`): a synchronous wrapper of an `async def` (one that returns
    `asyncio.ensure_future(...)`) is called as the synchronous function it is."""
    return getattr(value, "__func__", value) if callable(value) else None


_warned: weakref.WeakSet[Any] = weakref.WeakSet()
"""The methods already warned of: a mixin's is defined once, whatever number of classes use it."""


def _definer(owner: type, name: str) -> type:
    return next((base for base in owner.__mro__ if name in base.__dict__), owner)


def check_unawaited_calls(owner: type, methods: Iterable[tuple[str, str]]) -> list[str]:
    """Log, as a WARNING, each plain-`def` method of `owner` (`methods`: its name and what it is,
    "handler") that drops a call of one of the class's coroutine methods (`dropped_calls`),
    once per method (the class named is the one that defines it); return the messages."""
    plain = [
        (name, what)
        for name, what in methods
        if not inspect.iscoroutinefunction(function := _function(getattr(owner, name)))
        and function not in _warned
    ]
    if not plain:
        return []
    coroutines = {
        name
        for name in dir(owner)
        if not name.startswith("__") and inspect.iscoroutinefunction(_function(getattr(owner, name, None)))
    }
    messages: list[str] = []
    for name, what in plain:
        function = _function(getattr(owner, name))
        definer = _definer(owner, name).__qualname__
        for called, line in dropped_calls(function, coroutines):
            with contextlib.suppress(TypeError):  # a callable no weak reference can hold
                _warned.add(function)
            instead = " (or the synchronous self.emit(...))" if called == "send_event" else ""
            where = f" (line {line})" if line is not None else ""
            message = (
                f"{definer}: {what} {name} is a plain def and drops self.{called}(...){where}, "
                f"a coroutine: the call does nothing until awaited. Make {name} an async def and "
                f"await self.{called}(...){instead}"
            )
            logger.warning(message)
            messages.append(message)
    return messages
