"""The server side of the Cap'n Web protocol (npm `capnweb`), over HTTP batch and WebSocket.

An unmodified JavaScript client (`newHttpBatchRpcSession`, `newWebSocketRpcSession`)
can call the object's RPC methods, pipeline on their results (including
`RpcTarget` objects returned by reference) and get failures as rejections.

Supported messages: push, pull, release, abort; expressions: literals, array
escapes, date, bytes, bigint, inf/-inf/nan, undefined, error, import / pipeline
references with property paths and calls, and remap (`.map()` with mappers that
call the server's own objects). Not supported (answered with an error): stubs
or promises exported by the client (callbacks), streams.

The import table lives in memory for the session: one HTTP request, or one
socket while the object stays awake. Both sides number pushes and exports by
counting, so a socket keeps its counters (`SessionIds`) where they survive
hibernation; a session rebuilt after it continues the numbering, and a reference
made before it (its object is gone) fails that call with `reference_lost`
instead of reaching another object or aborting the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from dotdo.errors import BadRequest, HttpError, NotFound, ProtocolError, TooManyRequests
from dotdo.remote.calls import invoke
from dotdo.remote.marks import Authorize
from dotdo.remote.targets import resolve_call, resolve_operation, resolve_property, step_text
from dotdo.wire.batch_answer import BatchAnswer, HeldAnswers, check_value_bytes
from dotdo.wire.capnweb_parts import (
    MAX_DEPTH,
    SessionIds,
    Taken,
    abort_line,
    batch_messages,
    failed_call,
    is_int,
    literal,
    lost_reference,
    reject,
    serialize,
    take_imports,
)
from dotdo.wire.codec import parse_json
from dotdo.wire.pushtexts import PushTexts

__all__ = [
    "ABORT_CLOSE_CODE",
    "MAX_MESSAGES",
    "CapnWebSession",
    "ProtocolError",
    "SessionIds",
    "batch_messages",
]

MAX_MESSAGES = 1000
"""Most messages in one HTTP batch session."""
MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest message (1 MiB); past it, the session is aborted."""
ABORT_CLOSE_CODE = 1002
"""A session the server aborted closes with: a protocol error (RFC 6455 section 7.4.1)."""
logger = logging.getLogger("dotdo.rpc")


class CapnWebSession:
    """One session: the client's pushes are our exports, by the ids the client assigns.

    Over a WebSocket (`send` given), `resume` continues a session whose in-memory
    state hibernation dropped, `remember` is told every new `SessionIds`, and
    `admit` is asked before each call (it raises TooManyRequests to refuse it: the call
    is rejected `rate_limited`, with the seconds to wait as `retry_after`).
    Over HTTP batch a session carries at most `MAX_MESSAGES` messages.

    `close(code, reason)` ends the socket after the session is aborted.

    `main` is export 0, what the client's first calls reach (the object);
    `authorize(method name, scope)` raises Forbidden for a call the caller's token
    does not allow. With `development` (ENVIRONMENT=development), the rejection of a call
    that failed on the server's own names the exception (`dotdo.errors.internal_error`);
    that failure is logged to `log` (`dotdo.rpc`, or its object's `ObjectLog`: `[acme] ...`).
    """

    def __init__(
        self,
        main: Any,
        authorize: Authorize,
        send: Callable[[str], object] | None = None,
        resume: SessionIds | None = None,
        remember: Callable[[SessionIds], None] | None = None,
        admit: Callable[[], None] | None = None,
        close: Callable[[int, str], object] | None = None,
        development: bool = False,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
    ) -> None:
        self._main = main
        self._authorize = authorize
        self._send = send  # WebSocket: send each answer as it is ready; HTTP batch: None
        self._remember = remember
        self._admit = admit
        self._close = close  # WebSocket: ends the socket after an abort
        self._development = development
        self._log = log
        self._exports: dict[int, asyncio.Future[Any]] = {}
        self._texts = PushTexts()  # each push as written, for a step on its null answer
        start = resume or SessionIds()
        self._next_push = self._first_push = start.next_push
        self._next_export = self._first_export = start.next_export
        self._pulled: list[tuple[int, asyncio.Future[Any]]] = []
        self._answered: set[int] = set()  # every id pulled: a second pull is not answered again
        self._calls: list[asyncio.Future[Any]] = []  # HTTP batch: every call, pulled or not
        self._held = BatchAnswer()  # HTTP batch: the answers it holds until its end
        self._unreleased = HeldAnswers()  # WebSocket: those the client has not released
        self._written = BatchAnswer()  # HTTP batch: its answer's lines, each pull answered once
        self._tasks: set[asyncio.Future[str]] = set()  # answers being sent (WebSocket)
        self._messages = 0
        self.aborted = False
        self._abort_line = ""
        main_future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
        main_future.set_result(main)
        self._exports[0] = main_future

    # -- messages in -----------------------------------------------------------

    async def receive(self, text: str) -> None:
        """Handle one message (one line of a batch, or one WebSocket message)."""
        if self.aborted:
            return
        self._messages += 1
        try:
            if self._send is None and self._messages > MAX_MESSAGES:
                raise ProtocolError(f"a session carries at most {MAX_MESSAGES} messages")
            if len(text) > MAX_MESSAGE_BYTES or len(text.encode()) > MAX_MESSAGE_BYTES:
                raise ProtocolError(f"a message is at most {MAX_MESSAGE_BYTES} bytes")
            try:
                message = parse_json(text)
            except ValueError as exc:  # NaN and Infinity are not JSON; Cap'n Web sends ["nan"]
                raise ProtocolError(f"message is not JSON: {exc}") from exc
            if not isinstance(message, list) or not message or not isinstance(message[0], str):
                raise ProtocolError("a message is an array starting with its type")
            await self._dispatch(message)
        except ProtocolError as error:
            self.abort(str(error))

    async def _dispatch(self, message: list[Any]) -> None:
        kind = message[0]
        if kind == "stream":
            raise ProtocolError("streams are not supported by this server")
        if kind == "push" and len(message) == 2:
            export_id = self._next_push
            # Taken now, in message order: an id names an earlier push or an export, so a push
            # never waits on itself or a later one, and a later release takes nothing from it.
            imports = Taken()
            take_imports(message[1], export_id, self._exports, imports.futures)
            imports.texts = self._texts.hold(imports.futures)
            self._advance(pushes=1)
            try:
                if self._admit is not None:
                    self._admit()
                self._unreleased.check()  # WebSocket: answers the client has not released
            except (TooManyRequests, BadRequest) as refusal:
                self._exports[export_id] = failed_call(refusal)
            else:
                self._texts.add(export_id, message[1])
                call = asyncio.ensure_future(self._push(export_id, message[1], imports))
                call.add_done_callback(self._settled)
                self._exports[export_id] = call
                if self._send is None:
                    self._calls.append(call)
                else:
                    self._unreleased.hold(export_id)
        elif kind == "pull" and len(message) == 2 and is_int(message[1]):
            self._pull(message[1])
        elif kind == "release" and len(message) == 3 and is_int(message[1]) and is_int(message[2]):
            self._release(message[1], message[2])
        elif kind == "abort":
            self.aborted = True
        elif kind in ("resolve", "reject"):
            raise ProtocolError("this server exports no promises to resolve")
        elif kind in ("pull", "release"):
            shape = '["pull", id]' if kind == "pull" else '["release", id, count]'
            raise ProtocolError(f"malformed {kind}: {shape} with integers")
        else:
            raise ProtocolError(f"unsupported message {kind!r}")

    def _release(self, import_id: int, count: int) -> None:
        """The client is done with `import_id`, introduced to it `count` times: once here (a
        push, or one export in an answer); another count or a second release aborts, as in
        the reference implementation. The main interface (0) stays."""
        if not (self._next_export < import_id < self._next_push):
            raise ProtocolError(f"release of unknown import {import_id}: no push or export has that id yet")
        if count != 1:
            raise ProtocolError(f"release of import {import_id} {count} times: it was introduced once")
        if import_id != 0 and self._exports.pop(import_id, None) is None and not self._lost(import_id):
            raise ProtocolError(f"release of import {import_id}, already released")
        self._texts.release(import_id)
        self._unreleased.release(import_id)
        self._answered.discard(import_id)  # a pull of a released id aborts: no need to keep it

    def _settled(self, call: asyncio.Future[Any]) -> None:
        """A push finished, pulled or not: a malformed expression aborts the session, a
        failure of the server's own is logged (once); a client's mistake waits for its pull."""
        if call.cancelled():
            return
        error = call.exception()  # retrieved here, so asyncio never reports it as unhandled
        if isinstance(error, ProtocolError):
            self.abort(str(error))
        elif error is not None and not isinstance(error, HttpError):
            self._log.error("Cap'n Web call failed", exc_info=error)

    def _advance(self, pushes: int = 0, exports: int = 0) -> None:
        """Move the counters on, stored (`remember`) first: if they cannot be, the numbering
        after hibernation could not match the client's, so the session ends."""
        ids = SessionIds(self._next_push + pushes, self._next_export - exports)
        if self._remember is not None:
            try:
                self._remember(ids)
            except Exception as error:
                self._log.exception("Cap'n Web session counters could not be stored")
                raise ProtocolError("the session's state could not be kept") from error
        self._next_push, self._next_export = ids.next_push, ids.next_export

    def _lost(self, import_id: int) -> bool:
        """Was this id given out before the session was rebuilt (its object is gone)?"""
        return 0 < import_id < self._first_push or self._first_export < import_id < 0

    def _pull(self, export_id: int) -> None:
        if export_id in self._answered:  # answered once, as capnweb's own server does
            return
        self._answered.add(export_id)
        if export_id not in self._exports:
            if not self._lost(export_id):
                raise ProtocolError(f"pull of unknown import {export_id}")
            self._exports[export_id] = failed_call(lost_reference())
        # The answer is the export as it is now: a `release` after the pull (legal, the
        # client is done with the id) must not take away what the pull is owed.
        future = self._exports[export_id]
        if self._send is None:
            self._pulled.append((export_id, future))
        else:
            task = asyncio.ensure_future(self._answer(export_id, future))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- answers out --------------------------------------------------------------

    async def _answer(self, export_id: int, future: asyncio.Future[Any]) -> str:
        try:
            value = await future
        except ProtocolError as error:
            self.abort(str(error))
            return ""
        except Exception as error:  # logged by _settled if it is the server's own
            line = reject(export_id, error, named=self._development)
        else:
            try:
                if self._send is None:  # HTTP batch: what it has written of its answer so far
                    self._written.check()
                line = json.dumps(
                    ["resolve", export_id, serialize(value, 0, self._export)],
                    separators=(",", ":"),
                    allow_nan=False,
                )
            except ProtocolError as error:
                self.abort(str(error))
                return ""
            except Exception as error:
                if not isinstance(error, HttpError):
                    self._log.exception("Cap'n Web result could not be sent")
                line = reject(export_id, error, named=self._development)
        self._written.bytes += len(line)
        if self._send is not None and not self.aborted:
            self._send(line)
        return line

    async def drain(self) -> str:
        """HTTP batch: every pulled answer, in the order pulled, newline-separated; calls
        nobody pulled finish first too (the batch's response is its end)."""
        await asyncio.gather(*self._calls, return_exceptions=True)
        lines = [await self._answer(export_id, future) for export_id, future in self._pulled]
        if self.aborted:
            return self._abort_line
        return "\n".join(line for line in lines if line)

    def abort(self, reason: str) -> None:
        """End the session: `["abort", ["error", "Error", reason]]` is sent (over a socket)
        or becomes the whole batch answer; later messages are ignored. Idempotent."""
        if self.aborted:
            return
        self.aborted = True
        self._abort_line = abort_line(reason)
        if self._send is not None:
            self._send(self._abort_line)
        if self._close is not None:  # nothing more is read: the client learns it at once
            self._close(ABORT_CLOSE_CODE, reason)

    # -- expressions ------------------------------------------------------------

    async def _push(self, export_id: int, expression: Any, imports: Taken) -> Any:
        """A push's value, at most MAX_BATCH_ANSWER_BYTES written (400 `answer_too_large`),
        its bytes counted once, for what a socket holds too."""
        value = await self._evaluate(expression, 0, None, imports)
        self._unreleased.answered(export_id, check_value_bytes(value, "this push's answer"))
        return value

    async def _evaluate(
        self,
        expression: Any,
        depth: int,
        scope: dict[int, Any] | None,
        imports: Taken,
    ) -> Any:
        """Evaluate an expression; `scope` is a mapper function's own import table (remap),
        `imports` the session's exports the push refers to, taken when it arrived."""
        if depth > MAX_DEPTH:
            raise ProtocolError("expression nested too deeply")
        if isinstance(expression, dict):
            return {
                key: await self._evaluate(value, depth + 1, scope, imports)
                for key, value in expression.items()
            }
        if not isinstance(expression, list):
            return expression
        if len(expression) == 1 and isinstance(expression[0], list):
            return [await self._evaluate(item, depth + 1, scope, imports) for item in expression[0]]
        if not expression or not isinstance(expression[0], str):
            raise ProtocolError("an array expression is wrapped in a second array")
        tag, args = expression[0], expression[1:]
        if tag in ("pipeline", "import"):
            return await self._call(args, depth, scope, imports)
        if tag == "remap":
            if len(args) != 4:
                raise ProtocolError("remap takes an import, a path, captures and instructions")
            return await self._remap(args, depth, scope, imports)
        return literal(tag, args)

    async def _reference(self, import_id: Any, scope: dict[int, Any] | None, imports: Taken) -> Any:
        if scope is not None:
            if import_id not in scope:
                raise ProtocolError(f"mapper reference to unknown import {import_id!r}")
            return scope[import_id]
        if not is_int(import_id):
            raise ProtocolError(f"reference to unknown import {import_id!r}")
        if import_id not in imports.futures:
            if self._lost(import_id):
                raise lost_reference()
            if 0 < import_id < self._next_push or self._next_export < import_id < 0:
                raise ProtocolError(f"reference to import {import_id}, released before the push")
            raise ProtocolError(f"reference to unknown import {import_id!r}")
        return await imports.futures[import_id]

    async def _call(
        self,
        args: list[Any],
        depth: int,
        scope: dict[int, Any] | None,
        imports: Taken,
    ) -> Any:
        if not args or len(args) > 3:  # nothing past the call arguments: not ignored in silence
            raise ProtocolError("a reference is an import, then a property path and call arguments")
        target = await self._reference(args[0], scope, imports)
        path = args[1] if len(args) > 1 and args[1] is not None else []
        call_args = args[2] if len(args) > 2 else None
        if not isinstance(path, list) or (call_args is not None and not isinstance(call_args, list)):
            raise ProtocolError("a property path and call arguments are arrays")
        is_root = target is self._main
        taken = self._texts.text(args[0], imports.texts) if scope is None else "the call"
        if call_args is None:
            for name in path:
                target = resolve_property(target, name, is_root, taken)
                is_root, taken = False, step_text(taken, name)
            return target
        for name in path[:-1]:
            target = resolve_property(target, name, is_root, taken)
            is_root, taken = False, step_text(taken, name)
        if path:
            method, needed, operation = resolve_operation(target, path[-1], is_root, taken)
            if needed is not None:
                self._authorize(operation, needed)
        else:  # a reference called itself: a noun accessor called with an id
            called = None if is_root else resolve_call(target)
            if called is None:
                raise NotFound("The target is not callable", code="method_not_found")
            method = called
        values = [await self._evaluate(item, depth + 1, scope, imports) for item in call_args]
        check_value_bytes(values, f"the arguments of {taken}")
        if self._send is None:  # a batch answers at its end: past its bound, no more calls run
            return await self._held.run(invoke, method, values)
        return await imports.answers.run(invoke, method, values)  # a push holds them to its end

    async def _remap(
        self,
        args: list[Any],
        depth: int,
        scope: dict[int, Any] | None,
        imports: Taken,
    ) -> Any:
        """`.map(fn)`: run the mapper's instructions on the value, or on each element of a list.

        In a mapper, import 0 is the input, -1, -2, ... the captures, 1, 2, ... the
        results of earlier instructions; the last instruction is the result."""
        import_id, path, captures, instructions = args
        if not isinstance(captures, list) or not isinstance(instructions, list) or not instructions:
            raise ProtocolError("remap takes captures and a non-empty list of instructions")
        target = await self._call([import_id, path], depth, scope, imports)
        captured: dict[int, Any] = {}
        for index, capture in enumerate(captures):
            if not (isinstance(capture, list) and len(capture) == 2 and capture[0] == "import"):
                raise ProtocolError("a mapper may capture only the server's own objects")
            captured[-1 - index] = await self._reference(capture[1], scope, imports)

        async def apply(value: Any) -> Any:
            table = {**captured, 0: value}
            result = None
            for position, instruction in enumerate(instructions, start=1):
                result = await self._evaluate(instruction, depth + 1, table, imports)
                table[position] = result
            return result

        if target is None:
            return None
        if isinstance(target, list):
            return [await apply(item) for item in target]
        return await apply(target)

    def _export(self, value: Any) -> int:
        """A new export of the session for `value` (a reference in an answer); its id."""
        export_id = self._next_export
        self._advance(exports=1)
        future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
        future.set_result(value)
        self._exports[export_id] = future
        return export_id
