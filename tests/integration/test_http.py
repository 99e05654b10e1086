"""DOCore's HTTP surface: health, 404/405 as JSON, CORS, auth-free defaults, tenants."""

from __future__ import annotations

import httpx

from dotdo.wire.tokens import mint
from tests.conftest import HARNESS_RPC_SECRET
from tests.runtime import LocalRuntime


def test_health(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        body = c.get("/health").json()
        assert body["status"] == "ok"
        assert body["class"] == "DOFull"  # the most capable layer serves tenants
        assert "get" in body["rpc"] and "create_thing" in body["rpc"] and "fetch" not in body["rpc"]
        assert "emit" not in body["rpc"] and "thing_store" not in body["rpc"] and "do" not in body["rpc"]
        assert "send_event" in body["rpc"] and "start_workflow" in body["rpc"] and "send" not in body["rpc"]


def test_unknown_route_and_wrong_method(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.get("/nope")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "route_not_found")
        r = c.post("/health")
        assert (r.status_code, r.json()["error"]["code"]) == (405, "method_not_allowed")
        assert r.headers["allow"] == "GET, HEAD"


def test_invalid_tenant_is_a_400(runtime: LocalRuntime) -> None:
    with httpx.Client(base_url=runtime.base_url, headers={"host": "bad_name.localhost"}) as c:
        r = c.get("/health")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_tenant")


def test_ip_host_goes_to_default_tenant(runtime: LocalRuntime) -> None:
    with httpx.Client(base_url=runtime.base_url) as c, runtime.client("default") as d:
        c.put("/state/ip-check", json="via-ip")
        assert d.get("/state/ip-check").json()["value"] == "via-ip"


def test_cors_allowlist_and_preflight(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.get("/health", headers={"origin": "https://app.example.com"})
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in r.headers["vary"]
        r = c.get("/health", headers={"origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in r.headers
        assert "Origin" in r.headers["vary"]
        # development allows localhost origins
        r = c.get("/health", headers={"origin": "http://localhost:5173"})
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
        pre = c.options("/state/x", headers={
            "origin": "https://app.example.com", "access-control-request-method": "PUT",
        })  # fmt: skip
        assert pre.status_code == 204
        assert "PUT" in pre.headers["access-control-allow-methods"]
        denied = c.options("/state/x", headers={
            "origin": "https://evil.example.com", "access-control-request-method": "PUT",
        })  # fmt: skip
        assert (denied.status_code, denied.json()["error"]["code"]) == (403, "cors_origin_denied")


def test_python_exception_is_a_json_500_and_serving_continues(runtime: LocalRuntime) -> None:
    """An exception past DOCore's router, in `fetch` itself: the runtime's last-resort answer,
    as Cloudflare's, names nothing even in development (the router's 500 names it there)."""
    with runtime.client() as c:
        r = c.get("/_harness/crash")
        assert r.status_code == 500
        assert r.json() == {"error": {"code": "internal_error", "message": "Internal server error"}}
        assert "Traceback" not in r.text
        admin = {"authorization": f"Bearer {mint(HARNESS_RPC_SECRET, scope='admin')}"}
        assert c.get("/_harness/health", headers=admin).json()["class"] == "HarnessCore"  # still serves
        assert c.get("/health").status_code == 200


def test_bodies_nobody_reads_leave_the_connection_usable(runtime: LocalRuntime) -> None:
    # A response sent before the request body was read used to break the keep-alive
    # connection now and then: the next request on it failed (503) or hung.
    unread = [
        ("GET", "/health"),
        ("OPTIONS", "/verbs"),
        ("GET", "/Customer/none/restore"),
        ("HEAD", "/state"),
    ]
    statuses = set()
    with (
        runtime.client() as c,
        httpx.Client(base_url=runtime.base_url, headers={"host": "bad_name.localhost"}) as bad,
    ):
        for round_number in range(15):
            for method, path in unread:
                statuses.add(c.request(method, path, content=b'{"ignored": true}').status_code)
                chunked = iter([b'{"ignored":', b" true}"])  # no Content-Length: sent chunked
                statuses.add(c.request(method, path, content=chunked).status_code)
            statuses.add(bad.post("/state/k", content=b'"x"').status_code)
            statuses.add(bad.post("/state/k", content=iter([b'"x"'])).status_code)
            r = c.put("/state/k", json=round_number)
            assert r.status_code == 200, r.text
    assert max(statuses) < 500, statuses


def test_text_bytes_and_empty_bodies_answer_alike(runtime: LocalRuntime) -> None:
    # DOCore.fetch builds a text or empty body's Response in JavaScript itself and leaves a
    # bytes body to the SDK's Response: the client sees one answer either way.
    with runtime.client() as c:
        text, raw = c.get("/_harness/body/text"), c.get("/_harness/body/bytes")
        assert text.status_code == raw.status_code == 200
        assert text.content == raw.content == '{"text":"héllo ☃"}'.encode()
        assert text.headers.pop("x-harness-body") == "text" and raw.headers.pop("x-harness-body") == "bytes"
        assert dict(text.headers) == dict(raw.headers)
        assert (text.headers["content-type"], text.headers["etag"]) == (
            "application/json; charset=utf-8",
            '"1"',
        )
        head = c.head("/_harness/body/text")
        assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", '"1"')
        empty = c.get("/_harness/body/none", headers={"origin": "https://app.example.com"})
        assert (empty.status_code, empty.content, empty.headers["x-harness-body"]) == (204, b"", "none")
        assert empty.headers["access-control-allow-origin"] == "https://app.example.com"


def test_an_answer_the_runtime_cannot_send_is_the_handlers_500_with_cors(runtime: LocalRuntime) -> None:
    """A body on a 204, a header value with a line break or None, a name that is no token:
    the runtime refused each after the router had answered (a 500 of the host's, with no
    CORS header, naming nothing), and `None` went out as "undefined"."""
    origin = {"origin": "https://app.example.com"}
    with runtime.client() as c:
        for kind, said in [
            ("204text", "body is 'not empty' on a 204, which has none"),
            ("crlf", "header 'x-a' holds a CR, LF or NUL"),
            ("name", "header name 'bad name' is not an HTTP token"),
            ("hnone", "header 'x-a' is None, not a str"),
        ]:
            r = c.get(f"/_harness/body/{kind}", headers=origin)
            assert r.status_code == 500, (kind, r.text)
            assert r.headers["access-control-allow-origin"] == "https://app.example.com", kind
            assert "set-cookie" not in r.headers
            message = r.json()["error"]["message"]
            assert f"handler HarnessCore._body returned an HttpResponse whose {said}" in message, message
        empty = c.get("/_harness/body/204empty")  # an empty body is none: sent as it was
        assert (empty.status_code, empty.content) == (204, b"")


def test_headers_past_what_the_runtime_sends_are_the_handlers_500_not_a_hung_request(
    runtime: LocalRuntime,
) -> None:
    """Header fields past about 128 KiB in all were never answered (workerd logged `header
    too large`, the client waited until it gave up); one header in two cases went out joined
    (`text/plain, text/html`), and an app's `Access-Control-Allow-Origin` beside CORS's as two
    origins."""
    origin = {"origin": "https://app.example.com"}
    with runtime.client() as c:
        for kind, said in [
            ("hlarge", "header 'x-long' is 200010 bytes, past the 98304 the runtime sends"),
            ("hmany", "headers are 132090 bytes, past the 98304 the runtime sends"),
            ("hcase", "headers 'Content-Type' and 'content-type' are one header"),
        ]:
            r = c.get(f"/_harness/body/{kind}", headers=origin, timeout=30)
            assert r.status_code == 500, (kind, r.text)
            assert r.headers["access-control-allow-origin"] == "https://app.example.com", kind
            message = r.json()["error"]["message"]
            assert f"handler HarnessCore._body returned an HttpResponse whose {said}" in message, message
        bound = c.get("/_harness/body/hbound", headers=origin, timeout=30)
        assert bound.status_code == 200 and len(bound.headers["x-long"]) == 96 * 1024 - 10
        assert bound.headers["access-control-allow-origin"] == "https://app.example.com"
        own = c.get("/_harness/body/hcors", headers=origin)
        assert own.headers.get_list("access-control-allow-origin") == ["https://app.example.com"]


def test_a_lone_surrogate_in_a_text_body_goes_out_as_u_fffd(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.get("/_harness/body/surrogate")
        assert (r.status_code, r.content) == (200, "a\ufffdb".encode())


def test_an_http_error_no_surface_can_send_is_a_500_not_the_clients_400(runtime: LocalRuntime) -> None:
    with runtime.client() as c:
        r = c.get("/_harness/body/details")
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
        assert "BadRequest('odd details') cannot be sent: its details are not plain JSON" in r.text
