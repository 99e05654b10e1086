"""Plain HTTP request and response values that the router and middleware work on.

They carry no runtime objects, so routing, middleware and validation run the
same under CPython (unit tests) and under Pyodide; `durable.py` converts to and
from the `workers` SDK's Request and Response at the edge.

Paths and query strings are percent-decoded strictly (RFC 3986 section 2.1): a
`%` not followed by two hex digits, or octets that are not UTF-8 (RFC 3629), is
a 400 `invalid_path` / `invalid_query`, never a replacement character, so two
different requests never decode to one key. What RFC 3986 section 6.2.2 calls
equivalent stays equivalent (`%41` is `A`, `%c3%a9` is `%C3%A9`), and a `%2F`
stays inside its segment: only a literal `/` separates segments.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from dotdo.errors import BadRequest, HttpError, PayloadTooLarge
from dotdo.values import lowered_headers
from dotdo.wire.codec import dump, dumps, loads, parse_json

__all__ = [
    "MAX_BODY_BYTES",
    "HttpRequest",
    "HttpResponse",
    "decimal_integer",
    "decode_component",
    "error_response",
    "json_response",
    "json_text_response",
    "parse_query",
    "rest_of_path",
    "split_path",
]

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted (1 MiB); larger ones are answered 413."""


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def decode_component(text: str) -> str:
    """Percent-decode one path segment or query name/value, strictly.

    ValueError (a UnicodeError when the octets are not UTF-8) for a `%` that does
    not start a `%XX` escape or for octets that do not decode; never a lossy
    replacement. `+` is left as it is (query strings turn it into a space first)."""
    if "%" not in text and text.isascii():
        return text  # no escape to decode, and ASCII text is its own UTF-8: most segments
    if _BAD_ESCAPE.search(text):
        raise ValueError("a '%' that does not start a %XX escape")
    return unquote_to_bytes(text).decode("utf-8")


def split_path(raw_path: str) -> tuple[list[str], list[str]]:
    """A still percent-encoded path's segments, as sent and decoded.

    `/` at either end is ignored (`/a/b/` is `/a/b`); a `%2F` is part of its
    segment. BadRequest `invalid_path` when a segment does not decode, or is `.`
    or `..` (also as `%2E`): URL parsers remove those (RFC 3986 section 5.2.4; the
    runtime's WHATWG parser does, `%2E` included), so no value can travel in one."""
    stripped = raw_path.strip("/")
    raw = stripped.split("/") if stripped else []
    try:
        decoded = [decode_component(part) for part in raw]
    except ValueError as exc:
        raise BadRequest(f"The path is not valid percent-encoded UTF-8: {exc}", code="invalid_path") from exc
    if "." in decoded or ".." in decoded:
        raise BadRequest("A path segment cannot be '.' or '..'", code="invalid_path")
    return raw, decoded


def rest_of_path(first: str, rest: str) -> str:
    """An id that may hold `/`, from a `/:id/*` route: `first` (the `:id` segment, already
    decoded) and `rest` (`params["*"]`, still percent-encoded), each part decoded and the
    parts joined by `/`. So `/schedules/a/b%20c` and `/schedules/a%2Fb%20c` both name `a/b c`.

    The router already decoded every segment of the path (a bad escape was its 400
    `invalid_path`), so this does not fail."""
    if not rest:
        return first
    return "/".join([first, *(decode_component(part) for part in rest.split("/"))])


def parse_query(query: str) -> dict[str, list[str]]:
    """A query string's values by name, in order (`application/x-www-form-urlencoded`:
    `&` separates pairs, `+` is a space, a name without `=` has the value "").

    BadRequest `invalid_query` when a name or value does not decode."""
    values: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        try:
            decoded = decode_component(name.replace("+", " ")), decode_component(value.replace("+", " "))
        except ValueError as exc:
            raise BadRequest(
                f"The query string is not valid percent-encoded UTF-8: {exc}", code="invalid_query"
            ) from exc
        values.setdefault(decoded[0], []).append(decoded[1])
    return values


_DECIMAL = re.compile(r"-?[0-9]+")


def decimal_integer(text: str) -> int | None:
    """A query parameter's integer: ASCII digits with an optional leading `-`, else None.

    Python's `int()` also takes other scripts' digits (`"\u0661\u0662"` is 12),
    `"1_000"`, `"+7"` and `" 7 "`, and `str.isdigit()` passes `"\u00b2"`, which
    `int()` then refuses; none of them is how a URL writes a number."""
    if not _DECIMAL.fullmatch(text):
        return None
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return None


@dataclass
class HttpRequest:
    """An HTTP request. Header names are lower-case.

    `path` is the decoded path, for messages and logs (the path as sent when it
    does not decode); routing works on `segments`, where a `%2F` stays inside its
    segment. A path or query string that does not decode is refused when it is
    used: `segments` raises 400 `invalid_path`, `query()` 400 `invalid_query`,
    and the router checks both before any handler runs (`check_url`). A parameter read
    with `query()` takes one value: given twice, it is a 400 `invalid_query` too."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    """Path parameters, filled in by the router."""
    state: dict[str, Any] = field(default_factory=dict)
    """Per-request values that middleware passes down (e.g. the authenticated subject)."""
    raw: Any = None
    """The runtime's own request object, when there is one (needed for WebSocket upgrades)."""
    accepted_query: frozenset[str] | None = None
    """The query parameters the route serving the request takes, set by the router when the
    route says (`Router.route(query=...)`); reading another is a programming error."""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        parts = urlsplit(self.url)
        self.raw_path = parts.path or "/"
        try:
            self.path = decode_component(self.raw_path)
        except ValueError:
            self.path = self.raw_path
        self._segments: tuple[list[str], list[str]] | BadRequest
        try:
            self._segments = split_path(self.raw_path)
        except BadRequest as error:
            self._segments = error
        self._query: dict[str, list[str]] | BadRequest = {}
        if parts.query:
            try:
                self._query = parse_query(parts.query)
            except BadRequest as error:
                self._query = error

    @functools.cached_property
    def host(self) -> str:
        """The URL's host name, lower-case ("" without one): parsed when first read (the
        object's own routes never read it)."""
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def segments(self) -> list[str]:
        """The path's decoded segments; 400 `invalid_path` when it does not decode."""
        return list(self._decoded_segments()[1])

    @property
    def raw_segments(self) -> list[str]:
        """The path's segments as sent (still percent-encoded); 400 `invalid_path` too."""
        return list(self._decoded_segments()[0])

    def _decoded_segments(self) -> tuple[list[str], list[str]]:
        if isinstance(self._segments, BadRequest):
            raise self._segments
        return self._segments

    def _decoded_query(self) -> dict[str, list[str]]:
        if isinstance(self._query, BadRequest):
            raise self._query
        return self._query

    def check_url(self) -> None:
        """Raise 400 `invalid_path` or `invalid_query` when the path or query string does
        not decode (the router calls it before any handler)."""
        self._decoded_segments()
        self._decoded_query()

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header's value, by case-insensitive `name`; `default` when absent."""
        return self.headers.get(name.lower(), default)

    def query(self, name: str, default: str | None = None) -> str | None:
        """A query parameter that takes one value: its value, `default` when absent.

        400 `invalid_query` when the query string does not decode, or when it gives `name`
        more than once (`?limit=1&limit=2`): reading the first or the last would each be a
        guess, and proxies and frameworks disagree on which one wins (RFC 3986 leaves
        repeated names to the application). A parameter that takes a list is read with
        `query_all`."""
        values = self._read(name)
        if not values:
            return default
        if len(values) > 1:
            raise BadRequest(
                f"Query parameter {name!r} is given {len(values)} times; it takes one value",
                code="invalid_query",
            )
        return values[0]

    def query_int(self, name: str, default: int) -> int:
        """A query parameter written in ASCII decimal digits (an optional `-`), or `default`
        when absent or empty; 400 `invalid_<name>` otherwise (`?limit=ten`), 400
        `invalid_query` when given more than once (as `query`)."""
        value = self.query(name)
        if value is None or value == "":
            return default
        number = decimal_integer(value)
        if number is None:
            raise BadRequest(f"{name} is an integer", code=f"invalid_{name}")
        return number

    def query_all(self, name: str) -> list[str]:
        """Every value of a query parameter, in order; 400 `invalid_query` as `query`."""
        return list(self._read(name) or [])

    def query_names(self) -> list[str]:
        """The query parameters given, each once, in order; 400 `invalid_query` when the
        query string does not decode."""
        return list(self._decoded_query())

    def _read(self, name: str) -> list[str] | None:
        accepted = self.accepted_query
        if accepted is not None and name not in accepted:
            # The route's declaration is what the router let through: reading another name
            # would read a value it never checked (always None), a bug in the route.
            raise LookupError(f"{self.method} {self.path} reads ?{name}=, which its route does not declare")
        return self._decoded_query().get(name)

    @property
    def has_body(self) -> bool:
        """Does the request carry a body? Whitespace alone is none, as JSON reads it: the
        one rule of every route that takes a body or refuses one."""
        return bool(self.body.strip(b" \t\r\n"))  # JSON's whitespace (RFC 8259 section 2)

    def text(self) -> str:
        """The body as text; 400 `invalid_body` when it is not UTF-8."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("Request body is not valid UTF-8", code="invalid_body") from exc

    def json(self) -> Any:
        """The body's value: strict JSON with the codec's tags decoded (`{"$bigint": "..."}`
        is an int, `{"$bytes": ...}` bytes, ...; see `dotdo.wire.codec`). A 400
        `invalid_json` when it is not JSON (a bare NaN included, or nested deeper than
        `codec.MAX_JSON_DEPTH`), `invalid_value` on a bad tag."""
        if not self.has_body:
            raise BadRequest("Request body is empty; expected JSON", code="invalid_json")
        return loads(self.text())


@dataclass
class HttpResponse:
    """An HTTP response. `body` is sent as is; `web_socket` carries an accepted client socket."""

    status: int = 200
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    web_socket: Any = None

    def json(self) -> Any:
        """The body parsed as JSON, tags left as they are (for tests and middleware)."""
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        return parse_json(body or "null")


_JSON = "application/json; charset=utf-8"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, *, encoded: bool = False
) -> HttpResponse:
    """A JSON response with `data` in the codec's one encoding (`dotdo.wire.codec.dumps`):
    bytes, big integers and non-finite numbers as tags, never a bare NaN. A value with no
    wire form raises BadRequest (`unserializable_result`). `encoded=True`: `data` is
    already in its wire form (`codec.encode`) and is only written out."""
    body = dump(data) if encoded else dumps(data)
    merged = {"content-type": _JSON}
    if headers:
        try:  # no call of its own: json_text_response answers each create (bench/request_path.py)
            merged.update(lowered_headers(headers))
        except TypeError as error:
            raise TypeError(f"json_response: {error}") from None
    return HttpResponse(status=status, body=body, headers=merged)


def json_text_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """A JSON response whose `body` is already JSON text in the codec's one encoding (what
    `dotdo.wire.codec.dumps` writes), with `json_response`'s headers."""
    merged = {"content-type": _JSON}
    if headers:
        try:  # no call of its own: json_text_response answers each create (bench/request_path.py)
            merged.update(lowered_headers(headers))
        except TypeError as error:
            raise TypeError(f"json_text_response: {error}") from None
    return HttpResponse(status=status, body=body, headers=merged)


def error_response(error: HttpError) -> HttpResponse:
    """`error` as its response: its status, its headers, `{"error": {"code", "message", ...}}`."""
    return json_response(error.to_dict(), status=error.status, headers=error.headers)


def check_body_size(content_length: str | None, limit: int = MAX_BODY_BYTES) -> None:
    """Refuse a body by its declared length before reading it: 413 `payload_too_large`
    past `limit` bytes, 400 `invalid_header` when Content-Length is no integer."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError as exc:
        raise BadRequest("Content-Length is not a number", code="invalid_header") from exc
    if declared > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")


def check_body_bytes(body: bytes, limit: int = MAX_BODY_BYTES) -> None:
    """413 `payload_too_large` when the body read is past `limit` bytes (a body sent
    chunked has no Content-Length to check first)."""
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
