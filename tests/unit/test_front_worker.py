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
