"""The Workers SDK's base classes (`DurableObject`, `WorkerEntrypoint`), or under CPython (where
the SDK cannot be imported: it imports `js`) stand-ins keeping `ctx` and `env`, so that every
layer and an app's entry module import for type checking and unit tests of an app's pure code;
only the runtime runs an object or a worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["DurableObject", "WorkerEntrypoint"]

if TYPE_CHECKING:
    from workers import DurableObject, WorkerEntrypoint
else:
    try:
        from workers import DurableObject, WorkerEntrypoint
    except ImportError:  # CPython outside the runtime

        class DurableObject:
            """The SDK's base class as CPython sees it: it keeps `ctx` and `env`."""

            def __init__(self, ctx: Any, env: Any) -> None:
                self.ctx = ctx
                self.env = env

        class WorkerEntrypoint:
            """The SDK's worker base class as CPython sees it: it keeps `ctx` and `env`."""

            def __init__(self, ctx: Any, env: Any) -> None:
                self.ctx = ctx
                self.env = env
