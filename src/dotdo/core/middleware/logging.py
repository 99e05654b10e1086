"""Request logging: one line per request with method, path, status and duration."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from dotdo.core.http import HttpRequest, HttpResponse
from dotdo.core.logs import Log
from dotdo.types import Handler, Middleware

__all__ = ["request_logger"]

logger = logging.getLogger("dotdo.requests")


def request_logger(emit: Callable[[str], None] | None = None, log: Log = logger) -> Middleware:
    """Log `GET /path?q=1 200 3.1ms` per request (method, raw path, status, milliseconds
    spent in the handlers) to `log` at INFO (the `dotdo.requests` logger; DOCore's is its
    object's `ObjectLog` of it: `[acme] GET ...`), or hand the line to `emit` when one is
    given."""

    async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if emit is None:
            log.info("%s %s %d %.1fms", request.method, request.raw_path, response.status, elapsed_ms)
        else:
            emit(f"{request.method} {request.raw_path} {response.status} {elapsed_ms:.1f}ms")
        return response

    return middleware
