"""Where L3's segments go: an R2 bucket binding from Python (`R2Bucket`), or a bucket in
memory for tests (`MemoryBucket`), behind the `Bucket` protocol (ADR 0024)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Bucket", "MemoryBucket", "R2Bucket"]


class Bucket(Protocol):
    """The object store the archive writes to: an R2 bucket (`R2Bucket`) or, in tests,
    `MemoryBucket`. Keys are strings, bodies bytes."""

    async def put(self, key: str, body: bytes) -> None:
        """Store `body` under `key`, replacing what was there."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The body under `key`, or None."""
        ...


class MemoryBucket:
    """A bucket in a dict (`objects`), for tests under CPython; `gets` counts reads."""

    def __init__(self) -> None:
        """An empty bucket."""
        self.objects: dict[str, bytes] = {}
        self.gets = 0

    async def put(self, key: str, body: bytes) -> None:
        """Store `body` under `key`."""
        self.objects[key] = bytes(body)

    async def get(self, key: str) -> bytes | None:
        """The body under `key`, or None."""
        self.gets += 1
        return self.objects.get(key)


class R2Bucket:
    """An R2 bucket binding (`env.ARCHIVE`) from Python in a Worker, raw or as the Workers
    SDK wraps it. Bodies cross as `Uint8Array`; `get` reads the whole object
    (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/)."""

    def __init__(self, binding: Any) -> None:
        """Over `binding`, the bucket object of the Worker's env."""
        # The SDK's wrapper converts arguments and results for RPC; the raw binding keeps
        # an R2ObjectBody's methods, so this talks to it directly.
        self._binding = getattr(binding, "_binding", binding)

    async def put(self, key: str, body: bytes) -> None:
        """`bucket.put(key, body)`."""
        import js  # only inside the Workers runtime

        array = js.Uint8Array.new(len(body))
        array.assign(body)
        await self._binding.put(key, array)

    async def get(self, key: str) -> bytes | None:
        """`bucket.get(key)`'s body as bytes, or None when there is no such object."""
        found = await self._binding.get(key)
        if found is None or type(found).__name__ == "JsNull" or str(found) == "null":
            return None
        buffer = await found.arrayBuffer()
        return bytes(buffer.to_bytes())
