"""`dotdo dev` refuses a port something already listens on, in one line, at once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from dotdo.cli import main
from dotdo.cli.scaffold import create_project
from tests.unit.localrt.dead_runtime import HOLD


def test_dev_on_a_port_in_use_says_so_and_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(create_project("demo", tmp_path))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = CliRunner().invoke(main, ["dev", "--port", str(port), "--no-watch"])
    assert result.exit_code == 1
    assert result.output.startswith(f"dotdo: port {port} on 127.0.0.1 is in use")
    assert "--port" in result.output


def test_a_second_dev_server_of_one_config_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers of one config would rebuild each other's generated host and share the
    state folder: the second is refused in one line while the first (here: a live process
    holding the lock's flock) runs."""
    import subprocess
    import sys

    root = create_project("demo", tmp_path)
    monkeypatch.chdir(root)
    # Were the lock not seen, the command would serve until interrupted: fail instead.
    monkeypatch.setattr("dotdo.cli.devloop._serve", lambda *_, **__: pytest.fail("served despite the lock"))
    (root / ".dotdo").mkdir(exist_ok=True)
    lock = root / ".dotdo" / "host.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        result = CliRunner().invoke(main, ["dev", "--port", str(port), "--no-watch"])
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"dotdo: another `dotdo dev` (pid {holder.pid}) serves this config")
