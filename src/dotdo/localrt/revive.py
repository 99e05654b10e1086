"""When a local runtime that died on its own is started again: the one policy of `dotdo
dev` and of `dotdo.testing`'s runtime (ADR 0046). A runtime dies on its own when a workerd
of it or the local AI binding's process exits unasked (`server.mjs` then stops with
`RUNTIME_DIED`), or node is killed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from dotdo.core.timers import backoff
from dotdo.localrt.server import Server

__all__ = ["RestartPolicy", "revive"]

logger = logging.getLogger("dotdo.localrt")


@dataclass
class RestartPolicy:
    """When `dotdo dev` (and `dotdo.testing`'s runtime) starts again a runtime that died on
    its own (a workerd or the local AI binding's process killed, node crashed): after
    `delay` seconds, doubled for each death in a row (0.5, 1, 2, 4, 8 s by default), giving
    up after `limit` deaths in a row; a runtime that served for `stable_after` seconds
    before it died starts a new row."""

    limit: int = 5
    delay: float = 0.5
    stable_after: float = 60.0
    streak: int = 0
    """Deaths in the current row."""

    def next_delay(self, uptime: float) -> float | None:
        """Seconds to wait before the next start of a runtime that died after `uptime`
        seconds up, or None to give up."""
        if uptime >= self.stable_after:
            self.streak = 0
        self.streak += 1
        if self.streak > self.limit:
            return None
        return float(backoff(self.delay, self.streak))


def revive(
    server: Server,
    policy: RestartPolicy,
    *,
    control: bool = False,
    start: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: logging.Logger = logger,
) -> int | None:
    """Start `server`, whose process has exited, again if it died on its own (`start()`,
    by default `server.start(control=control)`); None when it did, else the exit status its
    user should end with: the runtime's own for an exit it chose (a failed start), 1 once
    `policy` gives up. Says which in `log`."""
    cause = server.exit_cause()
    code = server.process.poll() if server.process is not None else None
    if cause is None:
        log.error("the local runtime stopped (exit status %s)", code)
        return 1 if code is None else code
    delay = policy.next_delay(server.uptime())
    if delay is None:
        log.error(
            "%s; the local runtime died %d times in a row, giving up (its output above says why)",
            cause,
            policy.limit,
        )
        server.stop()
        return 1
    # What is left of its process group first (a workerd still holding the port, whose
    # proxy answers a 500 for the worker that died): once the line below is logged, the
    # port is closed or served by the new runtime, never by the dead one's remains.
    server.stop()
    log.warning(
        "%s; starting the local runtime again in %s s (%d of %d in a row)",
        cause,
        f"{delay:g}",
        policy.streak,
        policy.limit,
    )
    sleep(delay)
    if start is None:
        server.start(control=control)
    else:
        start()
    return None
