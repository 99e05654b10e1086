"""Request logging: one line per request with method, path, status and duration."""

from __future__ import annotations

import time
from collections.abc import Callable

from dotdo.core.http import HttpRequest, HttpResponse
from dotdo.types import Handler, Middleware

__all__ = ["request_logger"]


def request_logger(emit: Callable[[str], None] = print) -> Middleware:
    async def middleware(request: HttpRequest, call_next: Handler) -> HttpResponse:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        emit(f"{request.method} {request.raw_path} {response.status} {elapsed_ms:.1f}ms")
        return response

    return middleware
