"""A user's own project, as the getting-started guide makes it: the built wheel installed into a
fresh virtualenv, `dotdo new demo`, its own tests with pytest, `dotdo dev` answering a tenant,
`dotdo deploy --dry-run`. Each step is one command, run as a user would."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dotdo.testing import free_port
from tests.package.user import run_as_user, user_environment


@pytest.fixture(scope="module")
def demo(user_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the virtualenv's bin folder, the demo project), made with the wheel's `dotdo new`."""
    base = tmp_path_factory.mktemp("user")
    created = run_as_user([str(user_venv / "dotdo"), "new", "demo"], cwd=base)
    assert "dotdo dev" in created.stdout
    return user_venv, base / "demo"


def test_the_projects_own_tests_pass(demo: tuple[Path, Path]) -> None:
    bin_dir, project = demo
    result = run_as_user([str(bin_dir / "pytest"), "-q"], cwd=project)
    assert " passed" in result.stdout and "failed" not in result.stdout
    vendored = project / "python_modules"
    assert (vendored / "dotdo" / "worker.py").is_file()
    assert (vendored / "workers" / "__init__.py").is_file()
    assert not (vendored / "dotdo" / "cli").exists()
    assert not (vendored / "click").exists()


CONTROL_TOKEN = "test-control-token"
"""The dev server's token for its own commands (server.mjs), so that a test may send `standby`."""
STANDBY_HEADERS = {"x-dotdo-local-runtime": "standby", "x-dotdo-local-runtime-token": CONTROL_TOKEN}


@contextlib.contextmanager
def _dotdo_dev(demo: tuple[Path, Path]) -> Iterator[httpx.Client]:
    """`dotdo dev` serving the demo project, once it says "Ready": a client of its port. Its
    output must hold no traceback when it ends."""
    bin_dir, project = demo
    port = free_port()
    env = {**user_environment(), "DOTDO_LOCAL_CONTROL_TOKEN": CONTROL_TOKEN}
    log = project / "dev.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(bin_dir / "dotdo"), "dev", "--port", str(port)],
            cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while "Ready on" not in log.read_text(errors="replace"):
            assert server.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
    assert "Traceback" not in log.read_text(errors="replace")


def test_dotdo_dev_answers_a_tenant(demo: tuple[Path, Path]) -> None:
    with _dotdo_dev(demo) as client:
        assert client.get("/@acme/health").status_code == 200
        assert client.get("/hello", headers={"host": "acme.localhost"}).json() == {"message": "Hello, world!"}
        # /_test/* exists only where dotdo.testing serves the project (its own tests above).
        refused = client.post("/@acme/_test/alarm", json={})
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "route_not_found")


def test_requests_while_dotdo_dev_boots_python_ahead_of_a_save_are_answered(demo: tuple[Path, Path]) -> None:
    """The interpreter of the next reload (ADR 0060) boots beside the serving one. Booted
    inside the request that asked for it, it lost the requests that reached the isolate
    meanwhile when that request answered: a GET was held until the next request, a POST
    answered 503 "Your worker restarted mid-request" and was not applied."""
    with _dotdo_dev(demo) as client, concurrent.futures.ThreadPoolExecutor(1) as pool:
        standby = pool.submit(client.get, "/", headers=STANDBY_HEADERS)
        time.sleep(0.3)  # the boot has begun
        assert client.get("/@acme/health").status_code == 200
        put = client.put("/@beta/state/k", json={"v": 1})
        assert put.status_code == 200, put.text
        assert client.get("/@beta/state/k").json()["value"] == {"v": 1}
        assert standby.result().json() == {"ok": True}


def test_dotdo_deploy_dry_run_builds(demo: tuple[Path, Path], tmp_path: Path) -> None:
    bin_dir, project = demo
    result = run_as_user(
        [str(bin_dir / "dotdo"), "deploy", "--dry-run", "--outdir", str(tmp_path / "dist")], cwd=project
    )
    assert "env.DEMO (Demo)" in result.stdout
    assert (tmp_path / "dist" / "entry.py").is_file()
    assert (tmp_path / "dist" / "python_modules" / "dotdo" / "worker.py").is_file()
    for tooling in ("cli", "localrt", "testing"):
        assert not (tmp_path / "dist" / "python_modules" / "dotdo" / tooling).exists()
