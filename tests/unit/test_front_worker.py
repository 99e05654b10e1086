"""The JavaScript front (front/worker.js) reads a request's host as the Python passthrough
does (`urlsplit(url).hostname`, then `tenant_from_host`), even for a host name the WHATWG URL
parser refuses (`xn--acme`, not valid punycode), where `new URL(request.url)` threw: a 500
for the client's host name."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dotdo.errors import InvalidTenant
from dotdo.worker import object_unavailable_body, tenant_from_host

FRONT = Path(__file__).resolve().parents[2] / "front" / "worker.js"
URLS = [
    "http://xn--acme.localhost/health",
    "https://U@XN--Acme.Example.com:8443/x?y=1",
    "http://xn--a.localhost/",
    "http://xn---a.localhost/",
    "http://acme.localhost:8787/health",
    "http://-a.localhost/",
    "http://localhost/",
    "http://127.0.0.1:8787/",
]

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


def _passthrough(url: str) -> dict[str, str]:
    try:
        return {"tenant": tenant_from_host(urlsplit(url).hostname or "")}
    except InvalidTenant as error:
        return {"invalid": error.message.split("'")[1]}


def test_the_front_reads_every_host_as_the_passthrough_does() -> None:
    script = (
        f"import {{ hostnameOf, tenantFromHost }} from {json.dumps(FRONT.as_uri())};\n"
        f"const urls = {json.dumps(URLS)};\n"
        "console.log(JSON.stringify(urls.map((url) => tenantFromHost(hostnameOf(url)))));\n"
    )
    answer = subprocess.run(
        ["node", "--no-warnings", "--input-type=module", "-e", script],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert json.loads(answer.stdout) == [_passthrough(url) for url in URLS]


def test_the_front_words_an_unavailable_object_as_the_passthrough_does() -> None:
    """Both passthroughs answer an object that failed as a whole with the same 503 body."""
    tenants = ["acme", "t-1", "default"]
    script = (
        f"import {{ objectUnavailableBody }} from {json.dumps(FRONT.as_uri())};\n"
        f"const tenants = {json.dumps(tenants)};\n"
        "console.log(JSON.stringify([...tenants.map((t) => objectUnavailableBody(t)), "
        "...tenants.map((t) => objectUnavailableBody(t, true))]));\n"
    )
    answer = subprocess.run(
        ["node", "--no-warnings", "--input-type=module", "-e", script],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    raised = RuntimeError("Traceback (most recent call last):\nValueError: x")
    assert json.loads(answer.stdout) == [
        *(object_unavailable_body(tenant) for tenant in tenants),
        *(object_unavailable_body(tenant, raised) for tenant in tenants),
    ]


CORS_ENVS = [
    {"ENVIRONMENT": "development"},
    {"ENVIRONMENT": " Development ", "ALLOWED_ORIGINS": "https://App.example.com/, *"},
    {"ENVIRONMENT": "production", "ALLOWED_ORIGINS": "https://app.example.com"},
    {},
]
CORS_REQUESTS = [
    {"method": "GET", "origin": "http://localhost:3000"},
    {"method": "GET", "origin": "http://a.b.localhost"},
    {"method": "GET", "origin": "http://[::1]:3000"},
    {"method": "GET", "origin": "https://APP.example.com"},
    {"method": "GET", "origin": "https://evil.example"},
    {"method": "GET", "origin": "null"},
    {"method": "GET"},
    {"method": "OPTIONS", "origin": "https://app.example.com", "requestMethod": "POST"},
    {"method": "OPTIONS", "origin": "http://localhost:3000", "requestMethod": "PUT", "requestHeaders": "x-a"},
    {"method": "OPTIONS", "origin": "https://evil.example", "requestMethod": "POST"},
    {"method": "OPTIONS", "requestMethod": "POST"},
    {"method": "OPTIONS", "origin": "http://localhost:3000"},
]


def _python_cors(env: dict[str, str], request: dict[str, str]) -> dict[str, object]:
    import asyncio

    from dotdo.core.http import HttpRequest, HttpResponse
    from dotdo.core.middleware.cors import CorsPolicy, cors

    policy = CorsPolicy.from_env(env.get("ALLOWED_ORIGINS"), env.get("ENVIRONMENT"))
    names = {"origin": "origin", "requestMethod": "access-control-request-method"}
    names["requestHeaders"] = "access-control-request-headers"
    headers = {names[key]: value for key, value in request.items() if key in names}

    async def own(_: HttpRequest) -> HttpResponse:
        return HttpResponse(503, '{"error":{}}', {"content-type": "application/json", "retry-after": "1"})

    answer = asyncio.run(cors(policy)(HttpRequest(request["method"], "http://t.localhost/x", headers), own))
    return {"status": answer.status, "body": answer.body, "headers": answer.headers}


def test_the_fronts_own_answers_carry_the_cors_the_passthroughs_do() -> None:
    """The passthrough's 400 and 503 had no CORS headers (a browser could not read them), in
    Python and in the front alike: both now answer with the object's CORS policy."""
    script = (
        f"import {{ corsAnswer, corsPolicy }} from {json.dumps(FRONT.as_uri())};\n"
        f"const envs = {json.dumps(CORS_ENVS)}, requests = {json.dumps(CORS_REQUESTS)};\n"
        "const own = { status: 503, body: '{\"error\":{}}', "
        "headers: { 'content-type': 'application/json', 'retry-after': '1' } };\n"
        "console.log(JSON.stringify(envs.map((env) => requests.map((request) => "
        "corsAnswer(corsPolicy(env), request, own)))));\n"
    )
    answer = subprocess.run(
        ["node", "--no-warnings", "--input-type=module", "-e", script],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    expected = [[_python_cors(env, request) for request in CORS_REQUESTS] for env in CORS_ENVS]
    assert json.loads(answer.stdout) == expected
