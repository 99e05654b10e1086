"""The local runtime as a child process: `node server.mjs` serving one project.

Used by `dotdo dev` (in the foreground, restarted on change through its stdin) and
by `dotdo.testing` (in the background, its output in a log file). Everything the
server needs is settled here first, each failure as one LocalRuntimeError line:
Node new enough, the npm packages installed, the project's dependencies vendored,
every bound class migrated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.locking import claimed_fd, project_lock
from dotdo.localrt.node import check_node, npm_packages
from dotdo.localrt.project import Project
from dotdo.localrt.vendoring import vendor

__all__ = [
    "JS_DIR",
    "RUNTIME_DIED",
    "Server",
    "ServerOptions",
    "check_port_free",
    "claim_host",
    "generated_dirs",
    "prepare",
]

JS_DIR = Path(__file__).resolve().parent / "js"
RUNTIME_DIED = 3
"""`server.mjs`'s exit status when a workerd of its runtime exited without being stopped
(`kill -9`, a crash); what died is in its status file (`Server.exit_cause`). Given to it
(`--died-status`), as the project's lock file is (`--lock-file`): stated here only."""


@dataclass(frozen=True)
class ServerOptions:
    """How to serve a project. `persist_to` (Durable Object state) and `out` (the
    generated host) default to the config's folders (`generated_dirs`: `.dotdo/state` and
    `.dotdo/host` for the project's own wrangler.toml, outside every watched folder).
    `test_control` serves the project's dotdo objects with the test routes of
    `dotdo.testing.control` (time travel, fault points): for `dotdo.testing` only.
    `registry` joins wrangler's dev registry in that folder, where another local worker
    binding the project's classes by `script_name` reaches them (ADR 0020's front)."""

    port: int = 8787
    ip: str = "127.0.0.1"
    persist_to: Path | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "info"
    out: Path | None = None
    python_roots: Sequence[Path] = ()
    test_control: bool = False
    registry: Path | None = None


def check_port_free(ip: str, port: int, *, hint: str) -> None:
    """LocalRuntimeError (ending with `hint`, what to do instead) when something already
    listens on `ip`:`port`: wrangler would wait on it without a word, and a client would
    meet the other server (a `dotdo dev`'s `/health` answers a test runtime's probe). Port 0
    (any free port) always passes; SO_REUSEADDR lets a port a server just left (TIME_WAIT)
    pass."""
    if port == 0:
        return
    import socket

    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError as error:
            raise LocalRuntimeError(f"port {port} on {ip} is in use ({error.strerror}); {hint}") from None


def generated_dirs(project: Project) -> tuple[Path, Path]:
    """(host, state): where the local runtime writes `project`'s generated host and keeps
    its Durable Object state by default. The project's own `wrangler.toml` uses
    `.dotdo/host` and `.dotdo/state`; another config (`--config tests/harness/wrangler.toml`)
    has folders of its own, `.dotdo/configs/<its file name>-<hash of its path>/host` and
    `/state` (`wrangler.toml-3f2a9c1e`), so two configs served from one checkout never
    build into, nor keep state in, each other's folders (the hash tells `cfg/x.toml` from
    `cfg-x.toml`)."""
    base = project.root / ".dotdo"
    if project.config != (project.root / "wrangler.toml").resolve():
        try:
            name = project.config.relative_to(project.root).as_posix()
        except ValueError:  # a config outside the project: named by its absolute path
            name = project.config.as_posix()
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        base = base / "configs" / f"{project.config.name}-{digest}"
    return base / "host", base / "state"


@contextlib.contextmanager
def claim_host(host: Path) -> Iterator[None]:
    """Hold `host` (a generated host folder) for this process while the block runs: the
    `flock` of a `<host>.lock` file beside it (beside, since a build replaces the folder),
    so that of two servers started at once only one gets it. The file names our pid, for
    the message another one gets. LocalRuntimeError when another process holds it already
    (a second `dotdo dev` of one config would rebuild the first one's host under it and
    share its state); the lock of a process that is gone (killed) is taken over: the
    `flock` ends with its holder, whatever pid the file still names."""
    lock = host.with_name(host.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = claimed_fd(lock)
    if fd is None:
        try:
            who = f" (pid {int(lock.read_text().strip())})"
        except (OSError, ValueError):  # written just after its flock was taken
            who = ""
        raise LocalRuntimeError(
            f"another `dotdo dev`{who} serves this config from {host}; stop it first "
            "(one server per config and project: they would share the generated host and the "
            "state)"
        )
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # before the flock ends: a waiter then sees a removed file
        os.close(fd)


def prepare(project: Project, *, vendor_dependencies: bool = True) -> tuple[str, Path]:
    """Check and install what serving `project` needs: (node executable, node_modules)."""
    project.check()
    node = check_node()
    node_modules = npm_packages(project.root)
    if vendor_dependencies:
        vendor(project)
    return node, node_modules


class Server:
    """One `server.mjs` process serving `project` with `options`, run by the `node`
    executable on the npm packages in `node_modules` (`prepare` gives both).
    `control=True` keeps its stdin open for `restart()`."""

    def __init__(self, project: Project, options: ServerOptions, *, node: str, node_modules: Path) -> None:
        self.project = project
        self.options = options
        self.node = node
        self.node_modules = node_modules
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None
        """`time.monotonic()` at the last `start()`."""
        self._control = False
        self._status_file: Path | None = None

    def command(self, *, control: bool) -> list[str]:
        """The `node server.mjs ...` command line for these options (`control`: `--control`)."""
        options = self.options
        host, state = generated_dirs(self.project)
        persist = options.persist_to or state
        command = [
            self.node, str(JS_DIR / "server.mjs"),
            "--project", str(self.project.root), "--config", str(self.project.config),
            "--node-modules", str(self.node_modules),
            "--port", str(options.port), "--ip", options.ip,
            "--persist-to", str(persist), "--log-level", options.log_level,
        ]  # fmt: skip
        command += ["--out", str(options.out or host)]
        for root in options.python_roots:
            command += ["--python-root", str(root)]
        for name, value in options.vars.items():
            command += ["--var", f"{name}={value}"]
        if control:
            command.append("--control")
        if options.test_control:
            command.append("--test-control")
        if options.registry is not None:
            command += ["--registry", str(options.registry)]
        if self._status_file is not None:
            command += ["--status-file", str(self._status_file)]
        # The Python that serves a project's `[ai]` binding offline (localrt/aihost.py), and
        # takes the project's lock for it; what it is told, not what it restates.
        command += ["--python", sys.executable, "--lock-file", str(project_lock(self.project.root))]
        command += ["--died-status", str(RUNTIME_DIED)]
        return command

    def start(self, *, control: bool = False, output: IO[bytes] | None = None) -> None:
        """Start in a session of its own (so that `stop()` ends wrangler's workerd children
        too); `output` receives stdout and stderr, else they go to the terminal.

        Its stdin is a pipe whose other end only this process holds (Python opens it
        close-on-exec): when this process exits, however it does (`kill -9` included, where
        no `finally` runs), the pipe closes and `server.mjs` stops with its workerd, rather
        than keep serving the port from a session no one will signal."""
        if self.process is not None:
            raise LocalRuntimeError("the local runtime is already running")
        self._control = control
        self._forget_status()
        fd, name = tempfile.mkstemp(prefix="dotdo-runtime-", suffix=".json")
        os.close(fd)
        self._status_file = Path(name)
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command(control=control),
            cwd=self.project.root,
            stdin=subprocess.PIPE,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
            env={**os.environ, "WRANGLER_SEND_METRICS": "false"},
        )

    def restart(self, changed: Iterable[Path] = ()) -> None:
        """Ask a `control=True` server to rebuild its host and restart (state is kept); its
        log names the `changed` files (those a save changed, which it restarts for)."""
        paths = json.dumps([str(path) for path in changed])
        self._command(f"restart {paths}\n".encode())

    def reload(self, changed: Iterable[Path]) -> None:
        """Ask a `control=True` server to serve the saved files of the main module's folder
        without restarting: each isolate imports the app, with the sources and data files a
        deploy ships, into a new interpreter (ADR 0060); a batch of files a deploy leaves
        out (by the config's module rules) changes nothing. It restarts instead when it
        cannot: a `changed` path is not one of the app's files as the host was built (under
        another root inside the folder: `python_modules/`, the host's own Python), or
        nothing is served yet."""
        paths = json.dumps([str(path) for path in changed])
        self._command(f"reload {paths}\n".encode())

    def _command(self, line: bytes) -> None:
        if self.process is None or self.process.stdin is None or not self._control:
            raise LocalRuntimeError("the local runtime is not running under control")
        self.process.stdin.write(line)
        self.process.stdin.flush()

    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def uptime(self) -> float:
        """Seconds since the last `start()` (0.0 before any)."""
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    def exit_cause(self) -> str | None:
        """What made the exited runtime die on its own, in words, or None when it stopped
        by itself (a failed start, a stop asked for) or still runs: a workerd of it that
        exited unasked (`server.mjs` then stops with `RUNTIME_DIED` and writes the details
        to its status file), or `node server.mjs` itself killed by a signal."""
        process = self.process
        if process is None or (code := process.poll()) is None:
            return None
        if code < 0:
            return f"the local runtime's node process (pid {process.pid}) was killed by {_signal_name(-code)}"
        if code != RUNTIME_DIED:
            return None
        try:
            report = json.loads(self._status_file.read_text()) if self._status_file else {}
        except (OSError, ValueError):
            report = {}
        if not isinstance(report, dict) or "what" not in report:
            return f"a workerd of the local runtime exited on its own (node exit status {code})"
        how = _signal_name(report["signal"]) if report.get("signal") else f"exit status {report.get('code')}"
        return f"{report['what']} (pid {report.get('pid')}) exited on its own, with {how}"

    def _forget_status(self) -> None:
        if self._status_file is not None:
            with contextlib.suppress(OSError):
                self._status_file.unlink()
            self._status_file = None

    def kill(self) -> None:
        """SIGKILL to the server's process group at once (node, wrangler, workerd), as a power
        cut would: no shutdown, whatever was in flight is lost."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.stdin is not None:
            process.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self._forget_status()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after `timeout` seconds."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.stdin is not None:
            process.stdin.close()
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except ProcessLookupError:
            process.wait()
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # wrangler's workerd children outlive a node killed hard; the group goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        self._forget_status()  # after node is gone: it may write it while stopping


def _signal_name(number: int | str) -> str:
    """`signal SIGKILL` for 9 or "SIGKILL" (node reports names, Popen negative numbers)."""
    if isinstance(number, str):
        return f"signal {number}"
    try:
        return f"signal {signal.Signals(number).name}"
    except ValueError:
        return f"signal {number}"
