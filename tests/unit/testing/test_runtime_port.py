"""A test runtime on a chosen port refuses one something already listens on, before
building anything: its readiness probe would otherwise be answered by that other server
(a `dotdo dev` of the same project answers `/health`)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dotdo.cli.scaffold import create_project
from dotdo.errors import LocalRuntimeError
from dotdo.testing import LocalRuntime


def test_a_chosen_port_in_use_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = create_project("demo", tmp_path)
    monkeypatch.setattr("dotdo.testing.runtime.prepare", lambda *_: pytest.fail("built despite the port"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        runtime = LocalRuntime(root, state_dir=tmp_path / "state", log_path=tmp_path / "log", port=port)
        assert runtime.port == port and runtime.base_url == f"http://127.0.0.1:{port}"
        with pytest.raises(LocalRuntimeError, match=f"port {port} on 127.0.0.1 is in use.*DOTDO_TEST_PORT"):
            runtime.start()


def test_no_port_or_port_0_is_a_free_one(tmp_path: Path) -> None:
    root = create_project("demo", tmp_path)
    for port in (None, 0):
        runtime = LocalRuntime(root, state_dir=tmp_path / "state", log_path=tmp_path / "log", port=port)
        assert runtime.port > 0 and runtime.options.port == runtime.port
