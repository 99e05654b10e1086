"""A route of dotdo's and one of the app's that replace one another: said once, in the log.

The router keeps the later of two routes that are the same route (`Router.add`); when one is
dotdo's and the other the app's, that is most often a mistake (an app's `/stats` silently
hid DOStorage's; an app's route registered before `super().routes(router)` served nothing),
so it is logged once a process and route, unless the app's says `override=True`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dotdo.core.router import Route
    from dotdo.types import Handler

__all__ = ["warn_of_replaced"]

logger = logging.getLogger("dotdo.http")

_replaced_warned: set[tuple[str, str]] = set()


def _is_dotdos(handler: object) -> bool:
    return str(getattr(handler, "__module__", "")).startswith("dotdo.")


def warn_of_replaced(route: Route, pattern: str, handler: Handler) -> None:
    """A warning, once a process and route, when one of dotdo's own routes and an app's
    replace one another: an app's `/stats` silently hid DOStorage's, and an app's route
    registered before `super().routes(router)` silently served nothing."""
    ours, theirs = _is_dotdos(route.handler), _is_dotdos(handler)
    if ours == theirs or (route.method, route.pattern) in _replaced_warned:
        return
    _replaced_warned.add((route.method, route.pattern))
    if ours:
        logger.warning(
            "%s %s of %s replaces dotdo's own route (%s): register it under another path, or "
            "pass override=True to say the replacement is meant",
            route.method,
            pattern,
            getattr(handler, "__qualname__", handler),
            getattr(route.handler, "__qualname__", route.handler),
        )
    else:
        logger.warning(
            "%s %s of %s is replaced by dotdo's own route (%s), registered after it: it serves "
            "nothing; register it after super().routes(router) to replace dotdo's",
            route.method,
            route.pattern,
            getattr(route.handler, "__qualname__", route.handler),
            getattr(handler, "__qualname__", handler),
        )
