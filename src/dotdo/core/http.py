"""Plain HTTP request and response values that the router and middleware work on.

They carry no runtime objects, so routing, middleware and validation run the
same under CPython (unit tests) and under Pyodide; `durable.py` converts to and
from the `workers` SDK's Request and Response at the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dotdo.errors import BadRequest, HttpError, PayloadTooLarge
from dotdo.wire.codec import dump, dumps, loads, parse_json

__all__ = ["MAX_BODY_BYTES", "HttpRequest", "HttpResponse", "error_response", "json_response"]

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted (1 MiB); larger ones are answered 413."""


@dataclass
class HttpRequest:
    """An HTTP request. Header names are lower-case."""

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

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        parts = urlsplit(self.url)
        self.path = unquote(parts.path) or "/"
        self.raw_path = parts.path or "/"
        self.host = (parts.hostname or "").lower()
        self._query = parse_qs(parts.query, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def query(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self._query.get(name)
        return values[0] if values else default

    def query_all(self, name: str) -> list[str]:
        return list(self._query.get(name, []))

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("Request body is not valid UTF-8", code="invalid_body") from exc

    def json(self) -> Any:
        """The body's value: strict JSON with the codec's tags decoded (`{"$bigint": "..."}`
        is an int, `{"$bytes": ...}` bytes, ...; see `dotdo.wire.codec`). A 400
        `invalid_json` when it is not JSON (a bare NaN included, or nested deeper than
        `codec.MAX_JSON_DEPTH`), `invalid_value` on a bad tag."""
        if not self.body.strip():
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


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None, *, encoded: bool = False
) -> HttpResponse:
    """A JSON response with `data` in the codec's one encoding (`dotdo.wire.codec.dumps`):
    bytes, big integers and non-finite numbers as tags, never a bare NaN. A value with no
    wire form raises BadRequest (`unserializable_result`). `encoded=True`: `data` is
    already in its wire form (`codec.encode`) and is only written out."""
    body = dump(data) if encoded else dumps(data)
    merged = {"content-type": "application/json; charset=utf-8"}
    if headers:
        merged.update({k.lower(): v for k, v in headers.items()})
    return HttpResponse(status=status, body=body, headers=merged)


def error_response(error: HttpError) -> HttpResponse:
    return json_response(error.to_dict(), status=error.status, headers=error.headers)


def check_body_size(content_length: str | None, limit: int = MAX_BODY_BYTES) -> None:
    """Refuse a body by its declared length before reading it."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError as exc:
        raise BadRequest("Content-Length is not a number", code="invalid_header") from exc
    if declared > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")


def check_body_bytes(body: bytes, limit: int = MAX_BODY_BYTES) -> None:
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
