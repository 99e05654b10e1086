"""What the runtime sends of a response's header fields and body, by the rules the runtime's
`Response` applies (the Fetch standard): a header name is an RFC 9110 token, a value text
with no CR, LF or NUL, and a 101, 204, 205 or 304 has no body (an empty one is none). The
runtime refuses the rest with a TypeError, after the router has answered
(`dotdo.core.answers` checks them where it receives an answer instead).

Whitespace at either end of a value is stripped by the runtime, as every HTTP reader would
strip it (RFC 9110 section 5.5: it is no part of the value), so it is let through; so is
text past Latin-1, which the runtime sends as UTF-8.
"""

from __future__ import annotations

import re
from typing import Any

from dotdo.values import LONE_SURROGATE

__all__ = ["COMMON_NAMES", "NULL_BODY_STATUSES", "field_fault", "sendable_text"]

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


def sendable_text(body: str) -> str:
    """`body` with each lone surrogate replaced by U+FFFD, as a JavaScript `Response` reads
    a string body (a USVString): UTF-8 has no form for one, and the runtime's conversion
    wrote its bytes anyway (invalid UTF-8, sent with a 200). ASCII text has none: the
    caller asks `isascii()` first, on every text answer."""
    return LONE_SURROGATE.sub("\ufffd", body) if LONE_SURROGATE.search(body) else body
