"""The opt-in JavaScript front (front/worker.js, ADR 0020) served on the local runtime as its
own worker, bound to the harness's DOWorkflow by `script_name` through wrangler's dev
registry: it reaches the very objects the Python passthrough does, answers an invalid tenant
as the passthrough does, and passes WebSockets through."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.runtime import ROOT, LocalRuntime, free_port, new_tenant


@pytest.fixture(scope="module")
def front(runtime: LocalRuntime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The front's base URL."""
    assert runtime.registry is not None
    base = tmp_path_factory.mktemp("front")
    port = free_port()
    log = (base / "front.log").open("wb")
    process = subprocess.Popen(
        ["node", "scripts/front.mjs", "--serve", "--config", "tests/harness/wrangler.toml",
         "--out", str(base / "config"), "--port", str(port), "--registry", str(runtime.registry),
         "--log-level", "warn"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "WRANGLER_SEND_METRICS": "false"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=url, headers={"host": "probe.localhost"}) as client:
            while True:
                assert process.poll() is None, Path(log.name).read_text(errors="replace")
                try:
                    if client.get("/health", timeout=30).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, Path(log.name).read_text(errors="replace")
                time.sleep(0.2)
        yield url
    finally:
        assert process.stdin is not None  # a pipe: the front ends with this process, even killed
        process.stdin.close()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_the_front_reaches_the_objects_the_passthrough_does(runtime: LocalRuntime, front: str) -> None:
    tenant = new_tenant()
    host = {"host": f"{tenant}.localhost"}
    with httpx.Client(base_url=front, headers=host) as via_front, runtime.client(tenant) as direct:
        assert via_front.put("/state/greeting", json={"text": "hi"}).status_code == 200
        assert direct.get("/state/greeting").json() == {"key": "greeting", "value": {"text": "hi"}}
        created = direct.post("/Customer", json={"$id": "ada", "name": "Ada"})
        assert created.status_code == 201
        read = via_front.get("/Customer/ada")
        tag = f'"1.{created.json()["$created_at"]}"'
        assert (read.status_code, read.json(), read.headers["etag"]) == (200, created.json(), tag)
    with httpx.Client(base_url=front, headers={"host": "localhost"}) as bare:
        assert bare.get("/health").json()["class"] == "DOFull"  # the default tenant's object


def test_an_invalid_tenant_is_answered_as_the_passthrough_answers_it(
    runtime: LocalRuntime, front: str
) -> None:
    answers = []
    for base in (front, runtime.base_url):
        with httpx.Client(base_url=base, headers={"host": "a_b.localhost"}) as client:
            refused = client.post("/state/transaction", content=b"x" * 100_000)
            again = client.post("/state/transaction", content=b"{}")  # the same connection, still usable
            answers.append((refused.status_code, refused.headers["content-type"], refused.json()))
            assert again.status_code == 400
    assert answers[0] == answers[1]
    assert answers[0][2]["error"]["code"] == "invalid_tenant"


def test_websockets_pass_through_the_front(front: str) -> None:
    port = int(front.rsplit(":", 1)[1])

    async def ping() -> dict[str, str]:
        url = f"ws://{new_tenant()}.localhost:{port}/ws"
        async with websockets.connect(url, host="127.0.0.1", port=port, open_timeout=20) as socket:
            await socket.send(json.dumps({"type": "ping"}))
            answer: dict[str, str] = json.loads(await asyncio.wait_for(socket.recv(), 10))
            return answer

    assert asyncio.run(ping())["type"] == "pong"


def test_the_passthroughs_own_answers_carry_cors_through_either_worker(
    runtime: LocalRuntime, front: str
) -> None:
    """The 400 `invalid_tenant` (and the 503 `object_unavailable`, built beside it) had no CORS
    headers, nor did a preflight to such a tenant: a browser app could not read them."""
    origin = {"host": "a_b.localhost", "origin": "http://localhost:3000"}
    preflight = {**origin, "access-control-request-method": "POST"}
    answers = []
    for base in (front, runtime.base_url):
        with httpx.Client(base_url=base, headers=origin) as client:
            refused = client.get("/health")
            checked = client.options("/rpc", headers=preflight)
        cors = {k: v for k, v in refused.headers.items() if k.startswith("access-control-") or k == "vary"}
        answers.append((refused.status_code, cors, checked.status_code, dict(checked.headers)))
    assert answers[0][:2] == answers[1][:2] and answers[0][2] == answers[1][2] == 204
    assert answers[1][1]["access-control-allow-origin"] == "http://localhost:3000"
    assert answers[1][3]["access-control-allow-methods"] == "GET, POST, PUT, PATCH, DELETE, OPTIONS"
