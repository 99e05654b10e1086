"""Request bodies nobody reads, read and dropped all the same.

A response sent while the request body is still unread leaves the runtime piping
it after the response ("Can't read from request stream after response has been
sent"), which breaks the client's keep-alive connection: the next request on it
fails. So the worker (an invalid tenant) and the object (a GET's body, a refused
body) drain what they will not use. These touch the runtime's request object, so
they run only under Workers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DRAIN_BYTES", "discard_body", "has_body"]

MAX_DRAIN_BYTES = 16 * 1024 * 1024
"""A body up to this many bytes is read to its end; a larger one is cancelled."""


def has_body(headers: dict[str, str]) -> bool:
    """Does a request with these (lower-case) headers carry a body?"""
    length = headers.get("content-length")
    return (length is not None and length.strip() not in ("", "0")) or "transfer-encoding" in headers


async def discard_body(request: Any, declared: str | None) -> None:
    """Read and drop the body of the runtime's `request` (its declared Content-Length is
    `declared`); one longer than MAX_DRAIN_BYTES is cancelled instead."""
    from pyodide.ffi import JsException

    try:
        if declared is not None and declared.isdigit() and int(declared) <= MAX_DRAIN_BYTES:
            await request.bytes()
        elif declared is None and request.body is not None:
            await _drain_stream(request.body)  # chunked: no length to judge it by
        elif request.body is not None:
            await request.body.cancel()
    except (JsException, TypeError, ValueError):
        pass  # the body is already consumed or gone (the SDK maps JS errors to these): nothing to release


async def _drain_stream(stream: Any) -> None:
    """Read a body of unknown length chunk by chunk, cancelling past `MAX_DRAIN_BYTES`."""
    reader = stream.getReader()
    seen = 0
    while True:
        chunk = await reader.read()
        if chunk.done:
            return
        seen += int(chunk.value.byteLength)
        if seen > MAX_DRAIN_BYTES:
            await reader.cancel()
            return
