"""Plain HTTP request and response values that the router and middleware work on.

They carry no runtime objects, so routing, middleware and validation run the
same under CPython (unit tests) and under Pyodide; `durable.py` converts to and
from the `workers` SDK's Request and Response at the edge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dotdo.errors import BadRequest, HttpError, PayloadTooLarge

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "HttpRequest",
    "HttpResponse",
    "error_response",
    "json_response",
    "parse_json",
]

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted (1 MiB); larger ones are answered 413."""
MAX_JSON_DEPTH = 512
"""The deepest JSON a client may send. Pyodide's parser dies of a JavaScript stack overflow
(a fatal error that takes the whole isolate down) somewhere past 6,500 levels; every
nesting dotdo documents (values 64, Cap'n Web expressions 64 escaped arrays) fits in 512."""

_NESTING_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def parse_json(text: str) -> Any:
    """`json.loads` for text a client sent: JSONDecodeError too when it nests deeper than
    `MAX_JSON_DEPTH`, found before the parser recurses into it."""
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:  # only then can it be that deep
        depth = 0
        for match in _NESTING_TOKENS.finditer(text):
            bracket = match.group(0)
            if bracket in ("[", "{"):
                depth += 1
                if depth > MAX_JSON_DEPTH:
                    raise json.JSONDecodeError(
                        f"nested deeper than {MAX_JSON_DEPTH} levels", text, match.start()
                    )
            elif bracket in ("]", "}"):
                depth -= 1
    return json.loads(text)


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
        """The body parsed as JSON; a 400 `invalid_json` when it is not JSON."""
        if not self.body.strip():
            raise BadRequest("Request body is empty; expected JSON", code="invalid_json")
        try:
            return parse_json(self.text())
        except json.JSONDecodeError as exc:
            raise BadRequest(f"Request body is not valid JSON: {exc.msg}", code="invalid_json") from exc


@dataclass
class HttpResponse:
    """An HTTP response. `body` is sent as is; `web_socket` carries an accepted client socket."""

    status: int = 200
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    web_socket: Any = None

    def json(self) -> Any:
        """The body parsed as JSON (for tests and middleware)."""
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        return json.loads(body or "null")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
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
