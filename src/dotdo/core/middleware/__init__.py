"""Middleware dotdo ships: CORS and request logging (DOCore installs both), and bearer-token
auth for an app's own routers (DOCore's routes go through the access layer instead).

Every object installs CORS, so it loads with the package; request logging (installed only
with `LOG_REQUESTS=1`) and bearer auth (only in an app that asks for it) load on first use
(PEP 562), so a cold start imports neither for nothing (ADR 0036)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Eager, and under its own name: importing the submodule binds `cors` to it in this
# package, and the function must win over the module.
from dotdo.core.middleware.cors import CorsPolicy, cors

if TYPE_CHECKING:
    from dotdo.core.middleware.auth import bearer_auth
    from dotdo.core.middleware.logging import request_logger

__all__ = ["CorsPolicy", "bearer_auth", "cors", "request_logger"]

_LAZY = {"bearer_auth": "auth", "request_logger": "logging"}
"""Each name loaded on first use -> its module in this package."""


def __getattr__(name: str) -> Any:
    """`bearer_auth` or `request_logger`, imported on first use and kept in the package's
    namespace (AttributeError for any other name)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The names imported so far and every public name."""
    return sorted({*globals(), *__all__})
