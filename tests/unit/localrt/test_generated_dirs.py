"""Where `dotdo dev` builds and keeps state by default, per config, and its hold on the host
folder: two configs served from one checkout never share a generated host nor a state
folder (one rebuilt the other's host under it), and a second server of one config is
refused instead of sharing them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.project import Project
from dotdo.localrt.server import Server, ServerOptions, claim_host, generated_dirs

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


def test_a_live_holder_is_refused_and_a_dead_one_taken_over(tmp_path: Path) -> None:
    host = tmp_path / ".dotdo" / "host"
    lock = host.with_name("host.lock")
    with claim_host(host):
        assert lock.read_text().strip() == str(os.getpid())
    assert not lock.exists()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "dotdo"])
    try:
        lock.write_text(f"{holder.pid}\n")
        refused = pytest.raises(LocalRuntimeError, match=f"another `dotdo dev` \\(pid {holder.pid}\\)")
        with refused, claim_host(host):
            pass
        assert lock.read_text().strip() == str(holder.pid)  # left to its holder
    finally:
        holder.kill()
        holder.wait()
    with claim_host(host):  # its holder is gone: taken over
        assert lock.read_text().strip() == str(os.getpid())


def test_a_lock_naming_a_live_process_that_is_no_dotdo_is_taken_over(tmp_path: Path) -> None:
    """After a `kill -9` the lock stays; its pid may later name another program."""
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("no /proc: a live pid is taken at its word")
    host = tmp_path / ".dotdo" / "host"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        while not Path(f"/proc/{other.pid}/cmdline").read_bytes():  # until it has started
            time.sleep(0.01)
        host.parent.mkdir(parents=True)
        host.with_name("host.lock").write_text(f"{other.pid}\n")
        with claim_host(host):
            assert host.with_name("host.lock").read_text().strip() == str(os.getpid())
    finally:
        other.kill()
        other.wait()


def test_a_lock_naming_a_zombie_is_taken_over(tmp_path: Path) -> None:
    """A server killed with kill -9 whose parent has not reaped it yet is a zombie: its pid
    is still there, its command line empty; it serves nothing."""
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc")
    host = tmp_path / ".dotdo" / "host"
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{zombie.pid}/stat")
        while not stat.read_text()[stat.read_text().rfind(")") + 2 :].startswith("Z"):  # exited, unreaped
            time.sleep(0.01)
        host.parent.mkdir(parents=True)
        host.with_name("host.lock").write_text(f"{zombie.pid}\n")
        with claim_host(host):
            assert host.with_name("host.lock").read_text().strip() == str(os.getpid())
    finally:
        zombie.wait()


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
