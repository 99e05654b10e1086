"""Protocol types shared across the layers: JSON values, HTTP handlers, middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from dotdo.core.http import HttpRequest, HttpResponse

JSON: TypeAlias = Any
"""A value that `json.dumps` accepts: dict, list, str, int, float, bool or None."""

Handler: TypeAlias = "Callable[[HttpRequest], Awaitable[HttpResponse]]"
"""An HTTP route handler."""

Middleware: TypeAlias = "Callable[[HttpRequest, Handler], Awaitable[HttpResponse]]"
"""Middleware: receives the request and the rest of the chain (`call_next`)."""

Row: TypeAlias = "dict[str, Any]"
"""One row of a SQL result, by column name."""

Env: TypeAlias = Any
"""The worker's bindings (`self.env`): vars and secrets arrive as `str`."""
