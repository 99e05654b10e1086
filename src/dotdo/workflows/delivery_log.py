"""What the event bus logs of a failing delivery, and where its dead letter is replayed:
the words of `EventBus._failed` and of a delivery to a handler the class no longer has,
each line naming the object it came from (`Host.log`) and, for a dead letter, the request
that replays it on that object (`BusHost.request_path`)."""

from __future__ import annotations

from collections.abc import Sequence

from dotdo.core.logs import ObjectLog, instant
from dotdo.semantic.eventtypes import Event
from dotdo.workflows.host import BusHost

__all__ = ["log_failed", "missing_handler", "replay_request"]


def replay_request(host: BusHost, delivery_id: str) -> str:
    """The request that replays the dead letter `delivery_id` of `host`'s object: `POST
    /@acme/events/dead/<id>/replay` in development, the path on the tenant's host deployed;
    for an object no request reaches, the call its own code makes."""
    path = host.request_path(f"/events/dead/{delivery_id}/replay")
    call = f'await self.replay_dead_letter("{delivery_id}")'
    return call if path is None else f"POST {path} or {call}"


def missing_handler(host: BusHost, name: str, event_type: str, now: Sequence[str]) -> str:
    """The error of a delivery to `name`, a handler the class no longer has (renamed or
    removed while the delivery waited): `now`, the handlers `event_type` has, and how to
    send the delivery's dead letter to one of them (`replay`)."""
    error = f"no handler method {name!r} for {event_type} (renamed or removed?)"
    if not now:
        return f"{error}; no durable handler listens to {event_type} now"
    path = host.request_path("/events/dead/<id>/replay")
    request = "" if path is None else f'POST {path} {{"handler": "{now[0]}"}} or '
    return (
        f"{error}; its handlers now: {', '.join(now)}. Once this is a dead letter, replay it to one "
        f'of them: {request}await self.replay_dead_letter("<id>", handler="{now[0]}")'
    )


def log_failed(
    host: BusHost,
    delivery_id: str,
    event: Event,
    handler: str,
    attempts: int,
    limit: int,
    error: str,
    next_at: int | None,
    known: bool,
) -> None:
    """Log the `attempts`-th failed attempt of a delivery: a dead letter (`next_at` None),
    with where to replay it once the handler is fixed when the handler is still one of the
    event's (`known`; for one that is gone, `error` says: `missing_handler`), or a retry."""
    log: ObjectLog = host.log
    if next_at is None:
        replay = f"; once the handler is fixed, replay it: {replay_request(host, delivery_id)}"
        log.error(
            "delivery %s of %s %s to handler %s is a dead letter after %d attempts (last: %s)%s",
            *(delivery_id, event.type, event.id, handler, attempts, error, replay if known else ""),
        )
    else:  # always, when not dead: the traceback logged is not the end of it
        log.warning(
            "delivery %s of %s %s to handler %s: attempt %d of %d failed, retried in %.1f s (at %s)",
            *(delivery_id, event.type, event.id, handler, attempts, limit),
            *((next_at - host.timers.now()) / 1000, instant(next_at)),
        )
