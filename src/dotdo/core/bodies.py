"""Request bodies: read within their limit, or read and dropped when nobody will use them.

A response sent while the request body is still unread leaves the runtime piping
it after the response ("Can't read from request stream after response has been
sent"), which breaks the client's keep-alive connection: the next request on it
fails. So the worker (an invalid tenant) and the object (a GET's body, a refused
body) drain what they will not use. These touch the runtime's request object, so
they run only under Workers.

`read_body` reads a body that will be used: a chunked one chunk by chunk, so no more
than the limit is ever held, and one the runtime cannot deliver is the client's 400.
`request_method` is the method as sent, whatever it is; `request_head` reads the method,
URL and headers at once; `runtime_response` is the router's answer as the runtime's Response.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, cast

from dotdo.core.fields import sendable_text
from dotdo.core.http import MAX_BODY_BYTES, HttpResponse, check_body_bytes, check_body_size
from dotdo.errors import BadRequest, PayloadTooLarge

__all__ = [
    "MAX_DRAIN_BYTES",
    "JsFunctions",
    "discard_body",
    "has_body",
    "js_functions",
    "read_body",
    "request_head",
    "request_method",
    "runtime_response",
]

MAX_DRAIN_BYTES = 16 * 1024 * 1024
"""A body up to this many bytes is read to its end; a larger one is cancelled."""


def has_body(headers: dict[str, str]) -> bool:
    """Does a request with these (lower-case) headers carry a body?"""
    length = headers.get("content-length")
    return (length is not None and length.strip() not in ("", "0")) or "transfer-encoding" in headers


async def discard_body(request: Any, declared: str | None) -> None:
    """Read and drop the body of the runtime's `request` (its declared Content-Length is
    `declared`); one longer than MAX_DRAIN_BYTES is cancelled instead."""
    from pyodide.ffi import JsException

    try:
        if declared is not None and declared.isdigit() and int(declared) <= MAX_DRAIN_BYTES:
            await request.bytes()
        elif declared is None and request.body is not None:
            await _drain_stream(request.body)  # chunked: no length to judge it by
        elif request.body is not None:
            await request.body.cancel()
    except (JsException, TypeError, ValueError):
        pass  # the body is already consumed or gone (the SDK maps JS errors to these): nothing to release


async def _drain_stream(stream: Any) -> None:
    """Read a body of unknown length chunk by chunk, cancelling past `MAX_DRAIN_BYTES`."""
    reader = stream.getReader()
    seen = 0
    while True:
        chunk = await reader.read()
        if chunk.done:
            return
        seen += int(chunk.value.byteLength)
        if seen > MAX_DRAIN_BYTES:
            await reader.cancel()
            return


class JsFunctions(NamedTuple):
    """The runtime's JavaScript functions used on every request."""

    from_entries: Any
    """`Object.fromEntries`: a plain object from key/value pairs (or `to_js`'s `dict_converter`)."""
    new_response: Any
    """`Response.new`: `new Response(body, init)`."""
    to_js: Any
    """`pyodide.ffi.to_js`: a Python value as a JavaScript one."""


@functools.cache
def js_functions() -> JsFunctions:
    """The runtime's `JsFunctions`, looked up once per isolate: each lookup is a trip into
    JavaScript (and `to_js` an import a request would otherwise repeat). Only under
    Workers, and never at import time (the start-up snapshot)."""
    import js
    from pyodide.ffi import to_js

    return JsFunctions(js.Object.fromEntries, js.Response.new, to_js)


def request_method(request: Any) -> str:
    """The method the runtime's `request` was sent with, upper-case, whatever it is.

    The `workers` SDK's `Request.method` is an `HTTPMethod` enum member and raises
    KeyError for a method the enum does not list (PROPFIND, PURGE, ...), which the
    runtime accepts; the router answers those 404 or 405 like any other."""
    js_request = getattr(request, "js_object", None)
    return str(js_request.method if js_request is not None else request.method).upper()


def request_head(request: Any) -> tuple[str, str, dict[str, str]]:
    """(method, URL, headers) of the runtime's `request`: the method as `request_method`
    gives it, the headers by lower-case name.

    The headers come over in one conversion (`Object.fromEntries(headers).to_py()`): the
    SDK's `Request.headers` crosses into JavaScript twice per header and builds an
    `http.client.HTTPMessage` through the email parser's policy, which the object only
    copies into a dict (bench/request_path.py counts both). The Fetch standard's Headers
    already yield lower-case names, values stripped of surrounding whitespace and repeats
    joined with ", " (https://fetch.spec.whatwg.org/#concept-header-list-sort-and-combine),
    so the dict is the one the SDK's headers gave."""
    js_request = getattr(request, "js_object", None)
    if js_request is None:  # not a runtime request (a test's stand-in): its own headers
        headers = {k.lower(): v for k, v in request.headers.items()}
        return str(request.method).upper(), str(request.url), headers
    headers = js_functions().from_entries(js_request.headers).to_py()
    return str(js_request.method).upper(), str(js_request.url), headers


async def read_body(request: Any, declared: str | None) -> bytes:
    """The body of the runtime's `request` (its declared Content-Length is `declared`),
    refused past MAX_BODY_BYTES without ever holding more.

    A declared length over the limit is a 413 before reading; a chunked body (no
    length) is read chunk by chunk and is a 413 as soon as it passes the limit (the
    rest is drained, as `discard_body` does, so the connection stays usable). A body the
    runtime cannot deliver (the client went away mid-body, a malformed chunked encoding)
    is the client's 400 `invalid_body`, not a failure of the object."""
    from pyodide.ffi import JsException

    check_body_size(declared)
    js_request = getattr(request, "js_object", None)
    try:
        if declared is not None and js_request is not None:
            # Straight from the runtime's request: the SDK's `bytes()` reads `bodyUsed` twice
            # on the way (two more trips into JavaScript), which nothing here needs.
            body = bytes((await js_request.arrayBuffer()).to_bytes())
        elif declared is not None or request.body is None:
            body = bytes(await request.bytes())
        else:
            body = await _read_stream(request.body)
    except JsException as exc:
        raise BadRequest(f"The request body could not be read: {exc}", code="invalid_body") from exc
    check_body_bytes(body)
    return body


async def _read_stream(stream: Any) -> bytes:
    reader = stream.getReader()
    chunks: list[bytes] = []
    seen = 0
    while True:
        chunk = await reader.read()
        if chunk.done:
            break
        seen += int(chunk.value.byteLength)
        if seen > MAX_DRAIN_BYTES:
            await reader.cancel()
            break
        if seen <= MAX_BODY_BYTES:  # past it the body is refused: drained, never kept
            chunks.append(bytes(chunk.value.to_bytes()))
    if seen > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"Request body is larger than {MAX_BODY_BYTES} bytes")
    return b"".join(chunks)


def runtime_response(response: HttpResponse) -> Any:
    """`response` as the runtime's Response: for a text or empty body a JavaScript `new
    Response(body, {status, headers})`, which `fetch` may return as it is (the SDK's `Response`
    is taken only for its `js_object`: workerd's `python-entrypoint-helper.ts`), since the
    SDK's constructor crosses into JavaScript for every header and reads the `url` back
    (bench/request_path.py counts both). A WebSocket upgrade and a bytes body (or a str
    subclass's) keep the SDK's Response, which lends it the bytes' buffer without a copy. A
    lone surrogate in a text body goes out as U+FFFD (`sendable_text`). (The SDK is imported
    here so that the module imports under CPython.)"""
    body = response.body
    if response.web_socket is not None or (body is not None and body.__class__ is not str):  # no call
        from workers import Response

        if response.web_socket is not None:
            return Response(None, status=101, web_socket=response.web_socket)
        return Response(body, status=response.status, headers=response.headers)
    if body is not None and not body.isascii():  # a lone surrogate goes out as U+FFFD
        body = sendable_text(cast(str, body))
    runtime = js_functions()
    init = runtime.to_js(
        {"status": response.status, "headers": response.headers}, dict_converter=runtime.from_entries
    )
    return runtime.new_response(body, init)
