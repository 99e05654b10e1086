"""The Workers SDK's `DurableObject` base class, or under CPython (where the SDK cannot be
imported: it imports `js`) a stand-in keeping `ctx` and `env`, so that every layer imports
for type checking and unit tests of an app's pure code; only the runtime runs an object."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DurableObject"]

if TYPE_CHECKING:
    from workers import DurableObject
else:
    try:
        from workers import DurableObject
    except ImportError:  # CPython outside the runtime

        class DurableObject:
            """The SDK's base class as CPython sees it: it keeps `ctx` and `env`."""

            def __init__(self, ctx: Any, env: Any) -> None:
                self.ctx = ctx
                self.env = env
