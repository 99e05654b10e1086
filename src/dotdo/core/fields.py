"""What the runtime sends of a response's header fields and body, by the rules the runtime's
`Response` applies (the Fetch standard): a header name is an RFC 9110 token, a value text
with no CR, LF or NUL, and a 101, 204, 205 or 304 has no body (an empty one is none). The
runtime refuses the rest with a TypeError, after the router has answered
(`dotdo.core.answers` checks them where it receives an answer instead).

Whitespace at either end of a value is stripped by the runtime, as every HTTP reader would
strip it (RFC 9110 section 5.5: it is no part of the value), so it is let through; so is
text past Latin-1, which the runtime sends as UTF-8.

Two names that differ only in case are one header (RFC 9110 section 5.1), which the runtime
sends once with both values joined (`text/plain, text/html`), and a header block past what
the runtime sends (`MAX_HEADER_BYTES`) was never answered at all: both are refused too.
"""

from __future__ import annotations

import re
from typing import Any

from dotdo.values import LONE_SURROGATE, one_header

__all__ = [
    "COMMON_NAMES",
    "MAX_HEADER_BYTES",
    "MIDDLEWARE_ROOM",
    "NULL_BODY_STATUSES",
    "SHORT_VALUE",
    "field_fault",
    "headers_fault",
    "sendable_text",
]

MAX_HEADER_BYTES = 96 * 1024
"""Most bytes of an answer's header fields (each `name: value` and its CRLF, the value in
UTF-8). The runtime sends a header block of at most 128 KiB (Cloudflare's Workers limits:
"Response header size 128 KB (total)"); past it the local runtime logs workerd's `header too
large` and never answers, and a single field of 100 KiB or more it drops without a word
(measured with workerd 1.20260503). The rest of the 128 KiB is left to the status line, the
runtime's own fields (Content-Length, Content-Type) and dotdo's CORS fields."""

MIDDLEWARE_ROOM = 16 * 1024
"""Bytes a middleware's answer may add past MAX_HEADER_BYTES (CORS adds a few hundred to every
answer), so a handler's answer near the bound is blamed on the handler, not on the
middleware around it; the runtime's 128 KiB still holds it, and no single field may pass
MAX_HEADER_BYTES."""

SHORT_VALUE = 1024
"""Characters of a value that the router's usual answer (ADR 0052) lets pass with no count:
fields of `COMMON_NAMES` (each once) with values this short stay far below MAX_HEADER_BYTES
(4 UTF-8 bytes a character at most), so only a longer one is counted (`headers_fault`)."""

NULL_BODY_STATUSES = frozenset({101, 204, 205, 304})
"""Statuses whose response has no body (Fetch's "null body status")."""

COMMON_NAMES = frozenset(
    {
        "access-control-allow-credentials",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-allow-origin",
        "access-control-expose-headers",
        "access-control-max-age",
        "allow",
        "cache-control",
        "content-disposition",
        "content-language",
        "content-type",
        "etag",
        "last-modified",
        "location",
        "retry-after",
        "set-cookie",
        "vary",
        "www-authenticate",
    }
)
"""Header names known to be tokens: the router's usual answer is checked with no call
(ADR 0052), and another name costs one (`field_fault`)."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 9110 section 5.6.2: a field name is a token."""


def field_fault(name: Any, value: Any) -> str | None:
    """What is wrong with the header `name: value` for the runtime, None when nothing is."""
    if not isinstance(name, str):
        return f"header name {name!r} is not a str"
    if not _TOKEN.fullmatch(name):
        return f"header name {name!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)"
    if not isinstance(value, str):
        return f"header {name!r} is {value!r}, not a str"
    if "\r" in value or "\n" in value or "\0" in value:
        return f"header {name!r} holds a CR, LF or NUL: {value!r}"
    return None


def headers_fault(headers: dict[Any, Any], room: int = 0) -> str | None:
    """What is wrong with `headers` for the runtime, None when nothing is: a field
    (`field_fault`), two names that are one header, more than MAX_HEADER_BYTES and `room` in
    all, or a field past MAX_HEADER_BYTES."""
    seen: dict[str, str] = {}
    size = 0
    for name, value in headers.items():
        fault = field_fault(name, value)
        if fault is not None:
            return fault
        other = seen.setdefault(name.lower(), name)
        if other != name:
            return one_header(other, name)
        field = len(name) + len(value.encode("utf-8", "surrogatepass")) + 4  # ": " and CRLF
        if field > MAX_HEADER_BYTES:
            return f"header {name!r} is {field} bytes, past the {MAX_HEADER_BYTES} {_SENT}"
        size += field
    if size > MAX_HEADER_BYTES + room:
        return f"headers are {size} bytes, past the {MAX_HEADER_BYTES + room} {_SENT}"
    return None


_SENT = "the runtime sends: send a large value in the body"


def sendable_text(body: str) -> str:
    """`body` with each lone surrogate replaced by U+FFFD, as a JavaScript `Response` reads
    a string body (a USVString): UTF-8 has no form for one, and the runtime's conversion
    wrote its bytes anyway (invalid UTF-8, sent with a 200). ASCII text has none: the
    caller asks `isascii()` first, on every text answer."""
    return LONE_SURROGATE.sub("\ufffd", body) if LONE_SURROGATE.search(body) else body
