"""Stand-in for the runtime-provided module the `workers` SDK imports.

On Cloudflare this module is supplied by workerd's Python entrypoint; the local
runtime supplies the same names from its JavaScript host.
"""

from collections.abc import Generator
from typing import Any

from _dotdo_host_js import (  # type: ignore[import-not-found]
    cloudflareSocketsModule,
    cloudflareWorkersModule,
    doAnImport,
)

__all__ = [
    "cloudflareSocketsModule",
    "cloudflareWorkersModule",
    "doAnImport",
    "patchWaitUntil",
    "patch_env_helper",
]


def patchWaitUntil(ctx: Any) -> None:  # noqa: N802 - the SDK's name
    """workerd lets `ctx.waitUntil` take Python awaitables; here it takes JS promises only."""


def patch_env_helper(kwds: Any) -> Generator[None]:
    """`workers.patch_env`'s helper: not available locally (NotImplementedError)."""
    raise NotImplementedError("workers.patch_env is not supported by the dotdo local runtime")
    yield
