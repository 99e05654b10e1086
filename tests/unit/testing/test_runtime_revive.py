"""`dotdo.testing`'s runtime is started again when it died on its own, under `dotdo dev`'s
restart policy (ADR 0051): it was left dead, and every later test of the session failed
to connect."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.revive import RestartPolicy
from dotdo.localrt.server import RUNTIME_DIED
from dotdo.testing import LocalRuntime
from tests.unit.localrt.dead_runtime import KILLED_OBJECTS, dead_runtime, exited

AI_DIED = {
    "died": "ai",
    "what": "the local AI binding (aihost.py)",
    "pid": 77,
    "code": None,
    "signal": "SIGKILL",
}


def _runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LocalRuntime, list[str]]:
    server = dead_runtime(tmp_path)
    runtime = LocalRuntime(tmp_path, state_dir=tmp_path / "state", log_path=tmp_path / "server.log")
    runtime._server = server
    runtime._restarts = RestartPolicy(delay=0)
    started: list[str] = []
    monkeypatch.setattr(runtime, "start", lambda: started.append("started"))
    monkeypatch.setattr(server, "stop", lambda: None)  # the stand-in has no process group
    return runtime, started


def test_a_runtime_that_died_on_its_own_is_started_for_the_next_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, started = _runtime(tmp_path, monkeypatch)
    for report in (KILLED_OBJECTS, AI_DIED):
        assert runtime._server is not None
        exited(runtime._server, RUNTIME_DIED, report)
        with caplog.at_level(logging.WARNING, logger="dotdo.testing"):
            runtime.client().close()
    assert started == ["started", "started"]
    log = runtime.log_path.read_text()
    assert "the workerd that runs the objects (pid 4242) exited on its own, with signal SIGKILL" in log
    assert "the local AI binding (aihost.py) (pid 77) exited on its own" in log
    assert "starting the local runtime again" in caplog.text


def test_a_stopped_or_failed_runtime_is_left_and_one_that_keeps_dying_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, started = _runtime(tmp_path, monkeypatch)
    assert runtime._server is not None
    exited(runtime._server, 1)  # a failed start, not a death
    runtime.client().close()
    assert started == []
    server = runtime._server
    monkeypatch.setattr(runtime, "start", lambda: exited(server, RUNTIME_DIED, KILLED_OBJECTS))
    exited(server, RUNTIME_DIED, KILLED_OBJECTS)
    with pytest.raises(LocalRuntimeError, match="keeps dying"):
        for _ in range(10):
            runtime.client().close()


def test_a_runtime_that_could_not_be_started_again_is_down_for_the_later_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A start that failed inside `revive` (the app no longer imports) stopped the server,
    and every later test got a client of a dead port: each failed to connect, a traceback
    of httpx's that did not say why."""
    server = dead_runtime(tmp_path)
    runtime = LocalRuntime(tmp_path, state_dir=tmp_path / "state", log_path=tmp_path / "server.log")
    runtime._server = server
    runtime._restarts = RestartPolicy(delay=0)
    monkeypatch.setattr(server, "stop", lambda: None)

    def fails_to_import(timeout: float) -> None:
        server.process = None  # as start() leaves it: stopped
        raise LocalRuntimeError("the app failed to import:\n  ...\nSyntaxError: expected ':'")

    monkeypatch.setattr(runtime, "_start", fails_to_import)
    exited(server, RUNTIME_DIED, KILLED_OBJECTS)
    with pytest.raises(LocalRuntimeError, match="SyntaxError"):
        runtime.client()
    for _ in range(2):
        with pytest.raises(LocalRuntimeError) as raised:
            runtime.async_client()
        assert str(raised.value) == (
            "the local runtime is down (the app failed to import; reported in full before): not started again"
        )


def test_a_runtime_that_kept_dying_is_not_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = _runtime(tmp_path, monkeypatch)
    server = runtime._server
    assert server is not None
    monkeypatch.setattr(runtime, "start", lambda: exited(server, RUNTIME_DIED, KILLED_OBJECTS))
    exited(server, RUNTIME_DIED, KILLED_OBJECTS)
    with pytest.raises(LocalRuntimeError, match="keeps dying"):
        for _ in range(10):
            runtime.client().close()
    with pytest.raises(LocalRuntimeError, match=r"is down \(.*exited on its own.*; it kept dying;") as raised:
        runtime.client()
    assert "\n" not in str(raised.value)
