"""A WebSocket server for the event clients' unit tests: websockets' sync server on a
thread, so both the asyncio clients and the sync ones (`dotdo.testing`'s) can talk to it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def socket_server(handle: Callable[[Any], None], process_request: Any = None) -> Iterator[int]:
    """Serve `handle(connection)` (a websockets sync `ServerConnection`) on 127.0.0.1 until
    the block ends; the port. `process_request(connection, request)` may answer the upgrade
    with an HTTP response instead (websockets' hook)."""
    from websockets.sync.server import serve

    with serve(handle, "127.0.0.1", 0, process_request=process_request) as listening:
        thread = threading.Thread(target=listening.serve_forever, daemon=True)
        thread.start()
        try:
            yield listening.socket.getsockname()[1]
        finally:
            listening.shutdown()
            thread.join()
