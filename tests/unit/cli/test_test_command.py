"""`dotdo test --port` (or DOTDO_TEST_PORT) chooses the port of the tests' local runtime:
the plugin reads it from the environment of the pytest it runs."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dotdo.cli import main
from dotdo.cli.scaffold import create_project


@pytest.fixture
def pytest_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[list[str], Mapping[str, str]]]]:
    """The pytest commands `dotdo test` runs (none is run), in a new project."""
    monkeypatch.chdir(create_project("demo", tmp_path))
    monkeypatch.delenv("DOTDO_TEST_PORT", raising=False)
    monkeypatch.setattr("dotdo.localrt.vendoring.vendor", lambda *_, **__: False)
    runs: list[tuple[list[str], Mapping[str, str]]] = []

    def call(command: list[str], **kwargs: Any) -> int:
        runs.append((command[3:], kwargs.get("env") or {}))  # after `python -m pytest`
        return 0

    monkeypatch.setattr("dotdo.cli.subprocess.call", call)
    yield runs


def a_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_port_reaches_the_plugin_and_the_other_arguments_pytest(
    pytest_runs: list[tuple[list[str], Mapping[str, str]]],
) -> None:
    port = a_free_port()
    for arguments in (["--port", str(port), "-k", "smoke"], ["-k", "smoke", "--port", str(port)]):
        result = CliRunner().invoke(main, ["test", *arguments])
        assert result.exit_code == 0, result.output
        pytest_args, env = pytest_runs.pop()
        assert pytest_args == ["-k", "smoke"]
        assert env["DOTDO_TEST_PORT"] == str(port)
    result = CliRunner().invoke(main, ["test", "--", "--port", "1"])  # after --: pytest's
    assert result.exit_code == 0, result.output
    assert pytest_runs.pop()[0] == ["--port", "1"]


def test_without_a_port_the_plugin_chooses_one(
    pytest_runs: list[tuple[list[str], Mapping[str, str]]],
) -> None:
    result = CliRunner().invoke(main, ["test"])
    assert result.exit_code == 0, result.output
    assert "DOTDO_TEST_PORT" not in pytest_runs.pop()[1]


def test_the_port_may_come_from_the_environment(
    pytest_runs: list[tuple[list[str], Mapping[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = a_free_port()
    monkeypatch.setenv("DOTDO_TEST_PORT", str(port))
    assert CliRunner().invoke(main, ["test"]).exit_code == 0
    assert pytest_runs.pop()[1]["DOTDO_TEST_PORT"] == str(port)
    monkeypatch.setenv("DOTDO_TEST_PORT", "eighty")
    result = CliRunner().invoke(main, ["test"])
    assert result.exit_code == 2 and "DOTDO_TEST_PORT" in result.output and not pytest_runs


def test_a_port_in_use_is_refused_before_pytest_runs(
    pytest_runs: list[tuple[list[str], Mapping[str, str]]],
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = CliRunner().invoke(main, ["test", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.startswith(f"dotdo: port {port} on 127.0.0.1 is in use")
    assert "--port" in result.output
    assert not pytest_runs


def test_dev_takes_its_port_from_the_environment_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(create_project("demo", tmp_path))
    # Were the variable not read, the command would serve on 8787 until interrupted.
    monkeypatch.setattr("dotdo.cli.devloop.serve", lambda *_, **__: pytest.fail("served on another port"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("DOTDO_DEV_PORT", str(port))
        result = CliRunner().invoke(main, ["dev", "--no-watch"])
    assert result.exit_code == 1
    assert result.output.startswith(f"dotdo: port {port} on 127.0.0.1 is in use")
