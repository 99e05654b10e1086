from __future__ import annotations

import asyncio
import ipaddress
import json
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo import worker
from dotdo.worker import (
    InvalidTenant,
    dev_tenant_path,
    forward_to_tenant,
    get_object,
    object_unavailable_body,
    tenant_from_host,
)


@pytest.mark.parametrize(
    ("host", "tenant"),
    [
        ("acme.api.example.com", "acme"),
        ("acme.localhost", "acme"),
        ("Acme.Example.com", "acme"),
        ("a-1.example.com.", "a-1"),
        ("localhost", "default"),
        ("127.0.0.1", "default"),
        ("[::1]", "default"),
        ("::1", "default"),
        ("", "default"),
        ("x" * 63 + ".example.com", "x" * 63),
    ],
)
def test_tenant_from_host(host: str, tenant: str) -> None:
    assert tenant_from_host(host) == tenant


@pytest.mark.parametrize(
    "host",
    [
        "a_b.example.com",
        "x" * 64 + ".example.com",
        ".example.com",
        "-a.example.com",
        "a-.example.com",
        "acme\n.example.com",  # `$` matches before a final newline: the whole label is checked
    ],
)
def test_invalid_tenants(host: str) -> None:
    with pytest.raises(InvalidTenant):
        tenant_from_host(host)


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("/@acme/health", ("acme", "/health")),
        ("/@acme", ("acme", "/")),
        ("/@acme/", ("acme", "/")),
        ("/@a-1/Customer/c-1", ("a-1", "/Customer/c-1")),
        ("/@x--y/", ("x--y", "/")),
        ("/@7", ("7", "/")),
        ("/health", None),
        ("/Customer/@x", None),
    ],
)
def test_dev_tenant_path(path: str, found: tuple[str, str] | None) -> None:
    assert dev_tenant_path(path) == found


@pytest.mark.parametrize(
    "path", ["/@/health", "/@Acme/x", "/@a_b", "/@" + "x" * 64, "/@-a/health", "/@a-/x", "/@-", "/@acme\n/x"]
)
def test_dev_tenant_path_refuses_invalid_tenants(path: str) -> None:
    with pytest.raises(InvalidTenant):
        dev_tenant_path(path)


class _Namespace:
    """A Durable Object namespace binding: ids by name, stubs that record what they get."""

    def __init__(self) -> None:
        self.fetched: list[tuple[str, str]] = []

    def idFromName(self, name: str) -> str:  # noqa: N802 - the binding's own name
        return f"id:{name}"

    def get(self, object_id: str) -> Any:
        namespace = self

        class Stub:
            async def fetch(self, request: Any) -> str:
                namespace.fetched.append((object_id, request.url))
                return "answered"

        return Stub()


class _NamespaceByName(_Namespace):
    """A binding of a runtime with `getByName` (workerd since 2025): one call for a stub."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def idFromName(self, name: str) -> str:  # noqa: N802 - the binding's own name
        self.calls.append("idFromName")
        return super().idFromName(name)

    def get(self, object_id: str) -> Any:
        self.calls.append("get")
        return super().get(object_id)

    def getByName(self, name: str) -> Any:  # noqa: N802 - the binding's own name
        self.calls.append("getByName")
        return _Namespace.get(self, _Namespace.idFromName(self, name))


@pytest.mark.parametrize("namespace_class", [_Namespace, _NamespaceByName])
def test_get_object_by_name(namespace_class: type[_Namespace]) -> None:
    namespace = namespace_class()
    asyncio.run(get_object(namespace, "Customer/c-1").fetch(SimpleNamespace(url="http://x/")))
    assert namespace.fetched == [("id:Customer/c-1", "http://x/")]
    for bad in ("", None, 3):
        with pytest.raises(ValueError, match="non-empty string"):
            get_object(namespace, bad)  # type: ignore[arg-type]


def test_get_object_takes_one_call_where_the_binding_has_get_by_name() -> None:
    namespace = _NamespaceByName()
    get_object(namespace, "acme")
    assert namespace.calls == ["getByName"]


@pytest.fixture
def runtime_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-ins for `workers` and `js`, enough for forward_to_tenant under CPython."""

    class Response:
        def __init__(self, body: str, status: int = 200, headers: Any = None) -> None:
            self.body, self.status, self.headers = body, status, headers or {}

    class Request:
        def __init__(self, js_request: Any) -> None:
            self.url, self.js_object = js_request.url, js_request
            self.method, self.headers = js_request.method, js_request.headers

    js_request = SimpleNamespace(
        new=lambda url, init: SimpleNamespace(url=url, method=init.method, headers=init.headers)
    )
    monkeypatch.setitem(sys.modules, "workers", SimpleNamespace(Response=Response, Request=Request))
    monkeypatch.setitem(sys.modules, "js", SimpleNamespace(Request=js_request))
    # The refusal path drains a request body with the object layer's helpers (Pyodide-only).
    helpers = SimpleNamespace(has_body=lambda headers: False, discard_body=None)
    monkeypatch.setitem(sys.modules, "dotdo.core.durable", helpers)


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    headers = headers or {}
    return SimpleNamespace(
        url=url, method=method, headers=headers, js_object=SimpleNamespace(method=method, headers=headers)
    )


@pytest.mark.usefixtures("runtime_modules")
def test_development_names_the_tenant_by_path_prefix() -> None:
    namespace = _Namespace()
    env = SimpleNamespace(ENVIRONMENT="development")
    answer = asyncio.run(
        forward_to_tenant(_request("http://127.0.0.1:8787/@acme/health?x=1"), namespace, env=env)
    )
    assert answer == "answered"
    assert namespace.fetched == [("id:acme", "http://127.0.0.1:8787/health?x=1")]


@pytest.mark.usefixtures("runtime_modules")
@pytest.mark.parametrize("env", [None, SimpleNamespace(ENVIRONMENT="production"), SimpleNamespace()])
def test_elsewhere_the_path_prefix_is_refused(env: Any) -> None:
    namespace = _Namespace()
    answer = asyncio.run(
        forward_to_tenant(_request("https://api.example.com/@acme/health"), namespace, env=env)
    )
    assert answer.status == 400
    assert json.loads(answer.body)["error"]["code"] == "tenant_prefix_refused"
    assert namespace.fetched == []
    # Written as every other error body is (compact JSON, as the object's router writes it).
    assert answer.body == json.dumps(json.loads(answer.body), separators=(",", ":"))


@pytest.mark.usefixtures("runtime_modules")
def test_host_names_still_pick_the_tenant() -> None:
    namespace = _Namespace()
    env = SimpleNamespace(ENVIRONMENT="development")
    asyncio.run(forward_to_tenant(_request("http://acme.localhost:8787/health"), namespace, env=env))
    asyncio.run(forward_to_tenant(_request("https://api.example.com/health"), namespace))
    assert namespace.fetched == [
        ("id:acme", "http://acme.localhost:8787/health"),
        ("id:api", "https://api.example.com/health"),
    ]


class _ResetNamespace(_Namespace):
    """A binding whose object fails as a whole, as a reset one does (its fetch raises)."""

    def get(self, object_id: str) -> Any:
        class Stub:
            async def fetch(self, request: Any) -> str:
                raise RuntimeError("Durable Object reset because its isolate exceeded its memory limit")

        return Stub()


@pytest.mark.usefixtures("runtime_modules")
def test_an_object_that_fails_as_a_whole_is_a_503_not_a_500() -> None:
    """An object reset under a request (a breaker's query ran it out of memory) reached the
    client as the runtime's 500: the passthrough answers a JSON 503 that says to retry."""
    answer = asyncio.run(forward_to_tenant(_request("http://acme.localhost/query"), _ResetNamespace()))
    assert (answer.status, answer.headers["retry-after"]) == (503, "1")
    error = json.loads(answer.body)["error"]
    assert error == object_unavailable_body("acme")["error"] and error["code"] == "object_unavailable"
    assert "'acme'" in error["message"] and "memory" not in error["message"]  # the log has the detail


@pytest.mark.usefixtures("runtime_modules")
def test_in_development_an_object_that_fails_as_a_whole_names_the_exception() -> None:
    """A typo in `routes()` fails the object's constructor: in development the 503 said only
    "reset or overloaded", and the cause was in the terminal alone."""
    env = SimpleNamespace(ENVIRONMENT="development")
    request = _request("http://127.0.0.1:8787/@acme/query")
    answer = asyncio.run(forward_to_tenant(request, _ResetNamespace(), env=env))
    error = json.loads(answer.body)["error"]
    assert (answer.status, error["code"]) == (503, "object_unavailable")
    assert error["message"].startswith(object_unavailable_body("acme")["error"]["message"])
    assert "RuntimeError: Durable Object reset because its isolate exceeded" in error["message"]
    assert "ENVIRONMENT=development" in error["message"]


def _parsed_as_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@given(
    st.one_of(
        st.ip_addresses().map(str),
        st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
        st.text(alphabet="abcdef0123456789.:-[]x", max_size=40),
        st.from_regex(r"[a-z0-9-]{1,10}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True),
        # Dotted quads near the edges: octets past 255, leading zeros, too few or many parts.
        st.lists(st.from_regex(r"0{0,2}[0-9]{1,3}", fullmatch=True), min_size=1, max_size=5).map(".".join),
    )
)
def test_the_quick_name_check_agrees_with_parsing_the_address(host: str) -> None:
    """A host that is not an IP literal is told apart without parsing it; the answer is the
    parse's for every host."""
    assert worker._is_ip(host) == _parsed_as_ip(host)


class _RaisingNamespace(_Namespace):
    """A binding whose object's constructor raised: the runtime's error carries the Python
    traceback as its text, dotdo's frames first."""

    def get(self, object_id: str) -> Any:
        class Stub:
            async def fetch(self, request: Any) -> str:
                raise RuntimeError(
                    "Traceback (most recent call last):\n"
                    '  File "/app/python_modules/dotdo/core/durable.py", line 158, in __init__\n'
                    "    self.routes(self.router)\n"
                    '  File "/app/src/entry.py", line 54, in routes\n'
                    '    router.get("queue")(self.queue_route)\n'
                    '  File "/app/python_modules/dotdo/core/route_patterns.py", line 56, in parse_pattern\n'
                    "    raise ValueError(f\"Route patterns start with '/': {pattern!r}\")\n"
                    "ValueError: Route patterns start with '/': 'queue'\n"
                )

        return Stub()


@pytest.mark.usefixtures("runtime_modules")
def test_an_object_whose_code_raised_is_not_retried() -> None:
    """A constructor that raised was a 503 saying "retry if it is safe to" with Retry-After:
    every retry fails the same way. Production names no text of the error."""
    answer = asyncio.run(forward_to_tenant(_request("http://acme.localhost/queue"), _RaisingNamespace()))
    error = json.loads(answer.body)["error"]
    assert (answer.status, error["code"]) == (503, "object_unavailable")
    assert "retry-after" not in answer.headers
    assert "retry if" not in error["message"] and "its code raised an exception" in error["message"]
    assert "queue" not in error["message"] and "Traceback" not in error["message"]


@pytest.mark.usefixtures("runtime_modules")
def test_in_development_an_object_whose_code_raised_names_the_exception_and_the_apps_line() -> None:
    """The message held the traceback's first 300 characters: dotdo's frames, never the error."""
    env = SimpleNamespace(ENVIRONMENT="development")
    request = _request("http://127.0.0.1/@acme/queue")
    answer = asyncio.run(forward_to_tenant(request, _RaisingNamespace(), env=env))
    message = json.loads(answer.body)["error"]["message"]
    assert (
        "; a retry most likely fails the same way until the code is fixed: "
        "ValueError: Route patterns start with '/': 'queue' (/app/src/entry.py, line 54, in routes) "
        "(ENVIRONMENT=development;"
    ) in message


LOCAL = "http://localhost:3000"


@pytest.mark.usefixtures("runtime_modules")
@pytest.mark.parametrize(
    ("url", "status"),
    [("http://127.0.0.1:8787/@acme/hello", 503), ("http://127.0.0.1:8787/@Bad_/hello", 400)],
)
def test_the_passthroughs_own_answers_carry_the_objects_cors(url: str, status: int) -> None:
    """The 503 `object_unavailable` and the 400 `invalid_tenant` had no CORS headers, where the
    object's 404 had them: a browser app saw an opaque CORS failure, never the message."""
    env = SimpleNamespace(ENVIRONMENT="development")
    answer = asyncio.run(
        forward_to_tenant(_request(url, headers={"origin": LOCAL}), _ResetNamespace(), env=env)
    )
    assert answer.status == status
    assert answer.headers["access-control-allow-origin"] == LOCAL
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["vary"] == "Origin" and answer.headers["content-type"] == "application/json"


@pytest.mark.usefixtures("runtime_modules")
def test_a_preflight_to_a_tenant_that_cannot_answer_is_answered_as_the_object_would() -> None:
    env = SimpleNamespace(ENVIRONMENT="production", ALLOWED_ORIGINS="https://app.example.com")
    preflight = {"origin": "https://app.example.com", "access-control-request-method": "POST"}
    request = _request("https://acme.example.com/rpc", "OPTIONS", preflight)
    answer = asyncio.run(forward_to_tenant(request, _ResetNamespace(), env=env))
    assert answer.status == 204 and answer.body is None
    assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in answer.headers["access-control-allow-methods"]
    refused = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    answer = asyncio.run(
        forward_to_tenant(_request(request.url, "OPTIONS", refused), _ResetNamespace(), env=env)
    )
    assert answer.status == 403 and json.loads(answer.body)["error"]["code"] == "cors_origin_denied"


@pytest.mark.usefixtures("runtime_modules")
def test_an_origin_not_allowed_gets_the_passthroughs_answer_without_allow_origin() -> None:
    env = SimpleNamespace(ENVIRONMENT="production", ALLOWED_ORIGINS="https://app.example.com")
    request = _request("https://acme.example.com/x", headers={"origin": "https://evil.example"})
    answer = asyncio.run(forward_to_tenant(request, _ResetNamespace(), env=env))
    assert answer.status == 503 and answer.headers["retry-after"] == "1"
    assert "access-control-allow-origin" not in answer.headers and answer.headers["vary"] == "Origin"
