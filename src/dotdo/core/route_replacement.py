"""A route of dotdo's and one of the app's that replace one another, and an app's `routes` or
`middleware` hook that left dotdo's out: said once, in the log.

The router keeps the later of two routes that are the same route (`Router.add`); when one is
dotdo's and the other the app's, that is most often a mistake (an app's `/stats` silently
hid DOStorage's; an app's route registered before `super().routes(router)` served nothing),
so it is logged once a process and route, unless the app's says `override=True`. An
override of `routes` without `super().routes(router)` serves none of dotdo's routes (`/health`,
`/rpc`, the thing routes: 404), and one of `middleware` without `super().middleware(router)`
installs no CORS; each is logged once a class, unless the class's `hooks_without_super` names it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotdo.core.router import Route, Router
    from dotdo.types import Handler

__all__ = ["SUPER_HOOKS", "check_hooks_without_super", "run_router_hooks", "warn_of_replaced"]

logger = logging.getLogger("dotdo.http")

_replaced_warned: set[tuple[str, str]] = set()
_skipped_warned: set[tuple[type, str]] = set()
_CORS_MODULE = "dotdo.core.middleware.cors"

SUPER_HOOKS = {
    "middleware": "dotdo's middleware is not installed: no CORS headers, so a browser's preflight "
    "is refused and its reads go unread (and no LOG_REQUESTS logging)",
    "routes": "dotdo's routes are not served: /health, /rpc, /ws, /state and every layer's "
    "(/:Noun, /events, ...) answer 404 route_not_found",
}
"""The hooks whose dotdo part an override must call `super()` for, and what is lost without it."""


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


def check_hooks_without_super(owner: str, hooks: object) -> None:
    """A `ValueError` when a class's `hooks_without_super` is not a tuple of names in SUPER_HOOKS."""
    if isinstance(hooks, str) or not isinstance(hooks, tuple | list | frozenset | set):
        raise ValueError(
            f"{owner}.hooks_without_super is a tuple of hook names, such as ('routes',): not {hooks!r}"
        )
    for hook in hooks:
        if hook not in SUPER_HOOKS:
            raise ValueError(
                f"{owner}.hooks_without_super names {hook!r}: it takes {' and '.join(map(repr, SUPER_HOOKS))}"
            )


def run_router_hooks(obj: Any, router: Router) -> None:
    """Build an object's router from its hooks, `middleware(router)` then `routes(router)`, and
    log a warning, once a class and hook, when one left dotdo's own out (a `super()` call
    forgotten), unless the class's `hooks_without_super` says it is meant: no route of dotdo's
    was registered (each of dotdo's handlers is a function of a `dotdo.` module; an app replacing
    every one of them is no case), or no CORS middleware of dotdo's was installed (an app's own
    `router.use(cors(...))` counts: the warning is about CORS lost)."""
    obj.middleware(router)
    obj.routes(router)
    cls = type(obj)
    ran: set[str] = set()
    if any(_is_dotdos(route.handler) for route in router.routes):
        ran.add("routes")
    if any(getattr(middleware, "__module__", "") == _CORS_MODULE for middleware in router.middleware):
        ran.add("middleware")
    meant = getattr(cls, "hooks_without_super", ())
    for hook, lost in SUPER_HOOKS.items():
        if hook in ran or hook in meant or (cls, hook) in _skipped_warned:
            continue
        _skipped_warned.add((cls, hook))
        defined = getattr(getattr(cls, hook, None), "__qualname__", f"{cls.__qualname__}.{hook}")
        logger.warning(
            "%s did not call super().%s(router): %s; call it in %s(), or set hooks_without_super = "
            "(%r,) on %s if leaving dotdo's out is meant",
            defined,
            hook,
            lost,
            hook,
            hook,
            cls.__qualname__,
        )
