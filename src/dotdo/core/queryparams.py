"""The query parameters a route takes, and whether it takes a body: anything else is
refused before its handler runs.

A route says which it takes where it is registered (`Router.route(query=...)`); a
request giving another gets a 400 `invalid_query` naming it and the closest name the
route takes, as a body field a route does not take is refused (`remote.calls.check_fields`).
A route that reads no body says so (`Router.route(body=False)`): a body sent to it is a
400 `unexpected_body`.
"""

from __future__ import annotations

from dotdo.core.http import HttpRequest
from dotdo.errors import BadRequest

__all__ = ["check_body", "check_query"]


def check_query(request: HttpRequest, takes: frozenset[str]) -> None:
    """400 `invalid_query` naming the first query parameter of `request` that the route does
    not take (with the closest it does, when one is close: `details["suggestion"]`); then
    the handler may read only `takes` (`HttpRequest.accepted_query`)."""
    for name in request.query_names():
        if name in takes:
            continue
        what = f"{request.method} {request.path}"
        taken = f"it takes {', '.join(sorted(takes))}" if takes else "it takes none"
        if name == "token":
            taken += (
                "; ?token= is accepted only on WebSocket upgrades and /capnweb: send Authorization: Bearer"
            )
        import difflib  # here, not at import: only a misspelt parameter needs it

        close = difflib.get_close_matches(name, sorted(takes), n=1)
        suggestion = close[0] if close else None
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        raise BadRequest(
            f"Query parameter {name!r} is not taken by {what}{hint} ({taken})",
            code="invalid_query",
            details={"parameter": name, "suggestion": suggestion},
        )
    request.accepted_query = takes


def check_body(request: HttpRequest) -> None:
    """400 `unexpected_body` when `request` carries a body (anything but whitespace, which
    JSON reads as nothing) to a route that reads none (`Router.route(body=False)`): it
    would be answered as if it were not there, whatever the caller meant by it."""
    if request.has_body:
        raise BadRequest(
            f"{request.method} {request.path} takes no body; send the request without one",
            code="unexpected_body",
        )
