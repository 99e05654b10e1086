"""The parts of Cap'n Web that need no running session: the numbering of pushes and
exports (`SessionIds`), the messages of an HTTP batch body, the session's exports a push
refers to (checked against capnweb's rule that an import id names an earlier push or an
export), literal values, and a call's rejection."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dotdo.errors import BadRequest, Gone, HttpError, ProtocolError, internal_error
from dotdo.remote.marks import is_reference
from dotdo.wire.batch_answer import BatchAnswer
from dotdo.wire.codec import MAX_SAFE_INTEGER, bigint, epoch_ms, from_epoch_ms
from dotdo.wire.pushtexts import PushParts

__all__ = [
    "MAX_DEPTH",
    "SessionIds",
    "Taken",
    "abort_line",
    "batch_messages",
    "digits",
    "failed_call",
    "is_int",
    "literal",
    "lost_reference",
    "reject",
    "serialize",
    "take_imports",
]

MAX_DEPTH = 64
"""Deepest nesting of an expression or a result."""


@dataclass(frozen=True)
class SessionIds:
    """The next id for the client's next push (counting up from 1) and for our next
    export (counting down from -1), as the protocol numbers them."""

    next_push: int = 1
    next_export: int = -1

    def to_json(self) -> list[int]:
        """`[next_push, next_export]`, as a socket's attachment keeps it."""
        return [self.next_push, self.next_export]

    @classmethod
    def from_json(cls, value: Any) -> SessionIds:
        """The ids `to_json` wrote; a fresh session's for anything else (never raises)."""
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(is_int(v) for v in value)
            and value[0] >= 1
            and value[1] <= -1
        ):
            return cls(value[0], value[1])
        return cls()


def abort_line(reason: str) -> str:
    """The message that ends a session: `["abort", ["error", "Error", reason]]`."""
    return json.dumps(["abort", ["error", "Error", reason]], separators=(",", ":"))


def is_int(value: Any) -> bool:
    """A JSON integer, as an id, a count or an index of a message (never `true`, which
    Python calls 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Taken:
    """What a push refers to, taken when it arrived (a release after it takes nothing
    away): the session's exports by id (`futures`, `take_imports`) and, of those that are
    pushes, the parts of their texts (`texts`, `PushTexts.hold`); and the answers of the
    calls it has made so far (`answers`: one push may make many, over a socket too)."""

    futures: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    texts: dict[int, PushParts] = field(default_factory=dict)
    answers: BatchAnswer = field(default_factory=lambda: BatchAnswer("this push"))


def batch_messages(body: str) -> list[str]:
    """The messages of an HTTP batch body: one a line, a newline after the last one
    allowed (as after every other); an empty body is none."""
    body = body.removesuffix("\n")
    return body.split("\n") if body else []


def take_imports(
    expression: Any,
    push_id: int,
    exports: dict[int, asyncio.Future[Any]],
    imports: dict[int, asyncio.Future[Any]],
    depth: int = 0,
) -> None:
    """Collect into `imports` the `exports` that `expression` (push `push_id`) refers to,
    walking it as the session evaluates it (a mapper's instructions have their own table).

    ProtocolError for a reference to the push itself or a later one (it would wait on
    itself: capnweb's protocol numbers imports so that each names an earlier push or an
    export); an id unknown otherwise is left for the evaluation to report."""
    if depth > MAX_DEPTH:
        raise ProtocolError("expression nested too deeply")
    if isinstance(expression, dict):
        for value in expression.values():
            take_imports(value, push_id, exports, imports, depth + 1)
        return
    if not isinstance(expression, list) or not expression:
        return
    if len(expression) == 1 and isinstance(expression[0], list):
        for item in expression[0]:
            take_imports(item, push_id, exports, imports, depth + 1)
        return
    tag, args = expression[0], expression[1:]
    references: list[Any] = []
    if tag in ("pipeline", "import") and args:
        references.append(args[0])
        if len(args) > 2 and isinstance(args[2], list):
            for item in args[2]:
                take_imports(item, push_id, exports, imports, depth + 1)
    elif tag == "remap" and len(args) == 4:
        references.append(args[0])
        if isinstance(args[2], list):
            references += [c[1] for c in args[2] if isinstance(c, list) and len(c) == 2 and c[0] == "import"]
    for import_id in references:
        if not is_int(import_id):
            continue
        if import_id >= push_id:
            which = "itself" if import_id == push_id else f"import {import_id}, a later push"
            raise ProtocolError(
                f"push {push_id} refers to {which}: an import id names an earlier push or an export"
            )
        if import_id in exports:
            imports[import_id] = exports[import_id]


def digits(value: int) -> str:
    """`value` in decimal; BadRequest `unserializable_result` past Python's int-to-text limit."""
    try:
        return str(value)
    except ValueError as exc:  # past Python's int-to-text limit
        raise BadRequest("an integer too long to write", code="unserializable_result") from exc


def literal(tag: str, args: list[Any]) -> Any:
    """The value of a literal expression `[tag, *args]` (date, bytes, bigint, inf/-inf/nan,
    undefined, error); ProtocolError for a malformed or unsupported one."""
    try:
        if tag == "date" and len(args) == 1 and isinstance(args[0], int | float):
            return from_epoch_ms(args[0])
        if tag == "bytes" and len(args) == 1 and isinstance(args[0], str):
            return base64.b64decode(args[0], validate=True)
        if tag == "bigint" and len(args) == 1 and isinstance(args[0], str):
            return bigint(args[0])
    except (ValueError, OverflowError, OSError, binascii.Error) as exc:
        raise ProtocolError(f"invalid {tag} value") from exc
    if tag in ("inf", "-inf", "nan") and not args:
        return {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}[tag]
    if tag == "undefined" and not args:
        return None
    if tag == "error":  # ["error", type, message, stack?, properties?], as _reject writes one
        if not 2 <= len(args) <= 4 or not all(isinstance(part, str) for part in args[:2]):
            raise ProtocolError('an error is ["error", type, message, stack?, properties?]')
        return RuntimeError(f"{args[0]}: {args[1]}")
    if tag in ("export", "promise", "writable", "readable", "headers", "request", "response"):
        raise ProtocolError(f"{tag!r} expressions are not supported by this server")
    raise ProtocolError(f"unknown expression type {tag!r}")


def reject(export_id: int, error: BaseException, *, named: bool = False) -> str:
    """The rejection of one call: the error's message and code when it is the client's
    to see (an HttpError); a failure of the server's own is `internal_error`, named only
    when `named` (ENVIRONMENT=development: `dotdo.errors.internal_error`)."""
    if isinstance(error, HttpError):
        kind = "TypeError" if error.code in ("invalid_params",) else "Error"
        expression = ["error", kind, error.message, None, {**error.details, "code": error.code}]
    else:
        message = internal_error(error, named=named)
        expression = ["error", "Error", message, None, {"code": "internal_error"}]
    return json.dumps(["reject", export_id, expression], separators=(",", ":"))


def failed_call(error: BaseException) -> asyncio.Future[Any]:
    """A call refused before it ran; answered only if pulled, never logged as unhandled."""
    future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    future.set_exception(error)
    future.exception()  # marks it retrieved
    return future


def lost_reference() -> HttpError:
    """410 `reference_lost`: an id given out before the session was rebuilt after hibernation."""
    return Gone(
        "This reference was made before the object hibernated and is gone; get it again",
        code="reference_lost",
    )


def serialize(value: Any, depth: int, export: Callable[[Any], int]) -> Any:
    """A result as a Cap'n Web expression: JSON values as they are, integers past 2**53 as
    `bigint`, non-finite floats, dates and bytes tagged, a list wrapped in a second array,
    an RPC target as `["export", id]` (`export(value)` makes its id), anything with a
    `to_dict` by it; 400 `unserializable_result` for anything else."""
    if depth > MAX_DEPTH:
        raise ProtocolError("result nested too deeply")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else ["bigint", digits(value)]
    if isinstance(value, float):
        if math.isnan(value):
            return ["nan"]
        if math.isinf(value):
            return ["inf"] if value > 0 else ["-inf"]
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return ["date", epoch_ms(moment)]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["bytes", base64.b64encode(bytes(value)).decode("ascii")]
    if isinstance(value, list | tuple):
        return [[serialize(item, depth + 1, export) for item in value]]
    if isinstance(value, dict):
        return {str(key): serialize(item, depth + 1, export) for key, item in value.items()}
    if is_reference(value):
        return ["export", export(value)]
    to_dict = getattr(type(value), "to_dict", None)  # on the class, as `codec.encode` asks
    if callable(to_dict):
        return serialize(to_dict(value), depth + 1, export)
    raise BadRequest(f"{type(value).__name__} cannot be sent over RPC", code="unserializable_result")
