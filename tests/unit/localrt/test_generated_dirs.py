"""Where `dotdo dev` builds and keeps state by default, per config, and its hold on the host
folder: two configs served from one checkout never share a generated host nor a state
folder (one rebuilt the other's host under it), and a second server of one config is
refused instead of sharing them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.locking import project_lock
from dotdo.localrt.project import Project
from dotdo.localrt.server import JS_DIR, RUNTIME_DIED, Server, ServerOptions, claim_host, generated_dirs
from tests.unit.localrt.dead_runtime import HOLD

WRANGLER = 'name = "app"\nmain = "src/entry.py"\ncompatibility_flags = ["python_workers"]\n'


def _root(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").write_text("")
    (tmp_path / "wrangler.toml").write_text(WRANGLER)
    (tmp_path / "tests" / "harness").mkdir(parents=True)
    (tmp_path / "tests" / "harness" / "wrangler.toml").write_text(WRANGLER.replace("src/", "../../src/"))
    return tmp_path


def test_the_project_config_keeps_its_folders_and_another_config_gets_its_own(tmp_path: Path) -> None:
    root = _root(tmp_path)
    own = generated_dirs(Project.load(root))
    assert own == (root / ".dotdo" / "host", root / ".dotdo" / "state")
    other = generated_dirs(Project.load(root, Path("tests/harness/wrangler.toml")))
    assert other[0].parent.parent == root / ".dotdo" / "configs"
    assert other[0].parent.name.startswith("wrangler.toml-")
    assert other == (other[0].parent / "host", other[0].parent / "state")
    assert own[0] not in other


def test_configs_whose_paths_differ_only_by_a_slash_get_folders_of_their_own(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "cfg").mkdir()
    for config in (root / "cfg" / "x.toml", root / "cfg-x.toml"):
        config.write_text(WRANGLER.replace("src/", "../src/" if config.parent.name == "cfg" else "src/"))
    first = generated_dirs(Project.load(root, Path("cfg/x.toml")))
    second = generated_dirs(Project.load(root, Path("cfg-x.toml")))
    assert first[0] != second[0] and first[1] != second[1]


def test_the_server_command_names_the_config_folders(tmp_path: Path) -> None:
    root = _root(tmp_path)
    project = Project.load(root, Path("tests/harness/wrangler.toml"))
    command = Server(project, ServerOptions(), node="node", node_modules=root).command(control=False)
    host, state = generated_dirs(project)
    assert command[command.index("--out") + 1] == str(host)
    assert command[command.index("--persist-to") + 1] == str(state)


def test_the_server_is_told_the_lock_file_and_the_died_status(tmp_path: Path) -> None:
    """`server.mjs` restated the project's lock file and `RUNTIME_DIED` (3): the Python side
    passes both, so that a lock the JavaScript side takes is the one vendoring waits for, and
    the exit status the supervisors read is the one it exits with."""
    root = _root(tmp_path)
    command = Server(Project.load(root), ServerOptions(), node="node", node_modules=root).command(
        control=False
    )
    assert command[command.index("--lock-file") + 1] == str(project_lock(root))
    assert command[command.index("--died-status") + 1] == str(RUNTIME_DIED)
    script = (JS_DIR / "server.mjs").read_text(encoding="utf-8")
    assert "localrt.lock" not in script and "RUNTIME_DIED = 3" not in script


def test_a_live_holder_is_refused_and_a_dead_one_taken_over(tmp_path: Path) -> None:
    host = tmp_path / ".dotdo" / "host"
    lock = host.with_name("host.lock")
    with claim_host(host):
        assert lock.read_text().strip() == str(os.getpid())
    assert not lock.exists()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), "dotdo"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        refused = pytest.raises(LocalRuntimeError, match=f"another `dotdo dev` \\(pid {holder.pid}\\)")
        with refused, claim_host(host):
            pass
        assert lock.read_text().strip() == str(holder.pid)  # left to its holder
    finally:
        holder.kill()  # kill -9: its flock ends with it, its pid stays in the file
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    with claim_host(host):  # its holder is gone: taken over
        assert lock.read_text().strip() == str(os.getpid())


def test_a_lock_file_whose_flock_no_one_holds_is_taken_over_whatever_pid_it_names(tmp_path: Path) -> None:
    """The pid left by a server killed with kill -9 may name a live process later (a reused
    pid, another dotdo): the pid check kept on top of the flock refused the next `dotdo dev`
    then, though nothing served the host."""
    host = tmp_path / ".dotdo" / "host"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "dotdo"])
    try:
        host.parent.mkdir(parents=True)
        host.with_name("host.lock").write_text(f"{other.pid}\n")
        with claim_host(host):
            assert host.with_name("host.lock").read_text().strip() == str(os.getpid())
    finally:
        other.kill()
        other.wait()


def test_of_two_servers_claiming_one_host_at_once_one_is_refused(tmp_path: Path) -> None:
    """Both read the lock before either wrote it: the old claim let both through (two
    servers rebuilding one host and sharing its state). The `flock` lets one."""
    import threading

    host = tmp_path / ".dotdo" / "host"
    outcomes: list[str] = []
    attempted = threading.Barrier(2)

    def claim() -> None:
        try:
            with claim_host(host):
                outcomes.append("claimed")
                attempted.wait(timeout=30)  # held until the other has tried
        except LocalRuntimeError as error:
            assert "another `dotdo dev`" in str(error)
            outcomes.append("refused")
            attempted.wait(timeout=30)

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed", "refused"]
    assert not host.with_name("host.lock").exists()
