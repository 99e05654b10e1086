"""The package's loggers and their default output.

Everything dotdo logs goes through `logging`, to a logger named by area:

    dotdo.access       WARNING  once per class and isolate: open access, a weak secret; ERROR for
                                no secret outside development
    dotdo.full         WARNING  a failed cascade tier or fan-out target; INFO an escalation
    dotdo.full.ai      WARNING  a model that failed (the next is tried); ERROR a failed embedding
    dotdo.http         ERROR    an exception no handler turned into an answer (the client got a 500)
    dotdo.requests     INFO     one line per request, when request logging is on (LOG_REQUESTS=1)
    dotdo.rpc          ERROR    a failure of the server's own under /rpc/pipeline, /capnweb, /ws/rpc
    dotdo.sockets      WARNING  an error the runtime reports on a WebSocket, a message with no wire
                                form; ERROR a socket hook that raised, an error frame not sent
    dotdo.storage      ERROR    a failed group commit; INFO an archive pass; DEBUG a replay
    dotdo.timers       ERROR    an `on_alarm` or a layer's timer source that raised
    dotdo.workflows    ERROR    a durable or run-time handler, schedule, step or workflow run that
                                failed; WARNING for a step that will be retried, a schedule naming
                                no method, an event too deep to push, a test fault point reached

A line about one object starts with the object's name in brackets, `[acme]` (a thing's
object: `[acme/Customer/c-1]`; one never reached by name: its id), and carries it as the
record's `dotdo_object` attribute for a formatter of the application's (`ObjectLog`): one
isolate runs the objects of many tenants. Those are every `dotdo.workflows` line but the
class-definition checks (which name the class); every `dotdo.timers`, `dotdo.requests`,
`dotdo.sockets`, `dotdo.full` and `dotdo.full.ai` line; a `dotdo.rpc` failure; an object's
router's `dotdo.http` lines; DOStorage's `dotdo.storage` lines but a missing
`archive_binding`.
Each component takes the log it writes to (`log`, its area's logger by default), and DOCore
or the layer that builds it passes `ObjectLog(<logger>, label)`, made once per object,
never per request.

Lines about a class or the whole isolate name no object: `dotdo.access` (once per class
and isolate), a `RATE_LIMIT_*` var or an `archive_binding` the env gets wrong (the env is
the worker's, the same for every object), a hook override that left dotdo's out (once per
class), a migration's table kept as it is (`dotdo.migrations`: said while the tables are
made, before the object's name is read from them), the Worker's own lines (`dotdo.worker`,
which name the tenant), a DEBUG note of the RPC binder cache (`dotdo.rpc`, per function), and
the CLI's and the local runtime's.

Failures carry their traceback (`logger.exception`). A time in a message is written for
a reader (`instant`: ISO 8601 in UTC, `2026-12-02T12:34:56.163Z`), never as raw epoch
milliseconds. Python's default (no handler
anywhere) prints WARNING and above to stderr; `install_default_handler` makes that
INFO for `dotdo`, so request lines show too, unless the application configured
logging first.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from typing import Any, TextIO

__all__ = ["FORMAT", "Log", "ObjectLog", "install_default_handler", "instant"]

FORMAT = "%(levelname)s %(name)s: %(message)s"

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]
"""Where a component logs: its area's logger, or an object's `ObjectLog` of it (`[acme] ...`)."""


def instant(epoch_ms: int) -> str:
    """`epoch_ms` (milliseconds since the Unix epoch) as a log message writes it: ISO 8601
    in UTC to the millisecond, `2026-12-02T12:34:56.163Z`."""
    seconds, millis = divmod(int(epoch_ms), 1000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


class ObjectLog(logging.LoggerAdapter[logging.Logger]):
    """`logger` as one object logs through it: each message starts with `[<label>]`, and
    each record carries `dotdo_object` (the label) for a formatter that wants it apart."""

    def __init__(self, logger: logging.Logger, label: str) -> None:
        super().__init__(logger, {"dotdo_object": label})
        self.label = label

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        """The message with the object's label before it, and the label in `extra`."""
        kwargs["extra"] = {**(kwargs.get("extra") or {}), "dotdo_object": self.label}
        return f"[{self.label}] {msg}", kwargs


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (the runtime may swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    def handle(self, record: logging.LogRecord) -> bool:
        """Write `record`, unless the application has configured the root logger since this
        was installed (`logging.basicConfig` after its classes): its handlers write what
        `dotdo` propagates, so writing here too would print each line twice."""
        if logging.getLogger().handlers:
            return False
        return super().handle(record)


def install_default_handler() -> None:
    """Give the `dotdo` logger a stderr handler at INFO when logging is not configured.

    Nothing changes if `dotdo` or the root logger already has a handler (the
    application configured logging, e.g. `logging.basicConfig` at import of its
    worker module) or `dotdo` has a level set. Called when an application's Durable Object
    class is defined (its class-definition warnings are lines like any other, `WARNING
    dotdo.workflows: ...`, not bare text from Python's last-resort handler) and when an object
    starts; stderr is what Workers and the local runtime put in the log. Once the root
    logger has a handler (the application configured logging later), this one writes
    nothing: the root's write what `dotdo` propagates.
    """
    logger = logging.getLogger("dotdo")
    if logger.handlers or logging.getLogger().handlers or logger.level != logging.NOTSET:
        return
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
