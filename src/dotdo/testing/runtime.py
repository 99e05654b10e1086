"""A local runtime for a test session: the project's own wrangler.toml on real workerd.

Started once (the plugin's `dotdo_runtime` fixture) with an empty state folder, its
output in a log file; `client()` gives a client for a fresh tenant, so tests never
share an object. `restart()` keeps the stored state, as a redeploy or a crash would. A runtime that dies on
its own (a workerd or the local AI binding's process killed) is started again when the
next client is asked for, as `dotdo dev` starts it again (`localrt.revive`, ADR 0046).
Every dotdo object it serves has the test routes of `dotdo.testing.control` (what the
clients' `run_due`, `advance_time` and `arm_fault` call); `dotdo dev` serves none.
"""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.project import Project
from dotdo.localrt.revive import RestartPolicy, revive
from dotdo.localrt.server import Server, ServerOptions, check_port_free, prepare
from dotdo.testing.clients import AsyncTenantClient, TenantClient, renew_proxy_connections

if TYPE_CHECKING:
    import httpx

__all__ = ["LocalRuntime", "free_port", "new_tenant"]

logger = logging.getLogger("dotdo.testing")

_BOOTED = re.compile(r"^(Ready on |dotdo: not ready: )", re.MULTILINE)
"""What the server logs once its boot request is answered: "Ready", or "not ready" when
Python or the app did not load (server.mjs `start`, `reportNotReady`)."""
_REPORT = re.compile(
    r"^dotdo: (the app failed to import|Python failed to start):\n(.*?)^dotdo: not ready: ",
    re.MULTILINE | re.DOTALL,
)


def _not_ready_report(logged: str) -> str | None:
    """What the server said of a start that did not get ready, from what it logged
    (`logged`): `the app failed to import:` (or `Python failed to start:`) and the
    traceback and hints it gave, without wrangler's request lines (the readiness probe's
    `GET /health 500` lands among them) or the closing "not ready" line (a test runtime
    waits for no save); None while it has not said it."""
    found = list(_REPORT.finditer(logged))
    if not found:
        return None
    what, said = found[-1].groups()
    lines = [line for line in said.splitlines() if not line.startswith("[wrangler:")]
    return "\n".join([f"{what}:", *lines])


_DID_NOT_START = re.compile(r"^dotdo: the local runtime did not start: (.+)$", re.MULTILINE)
"""The server's reason for a start that failed before its boot (server.mjs `start`): a
config wrangler refused, a compatibility date in the future, or one the build refused
(build.mjs `fail`: a date older than the host serves, a flag it cannot run with)."""
_NOT_SAID_ON = re.compile(r"^(dotdo: |\[wrangler|[^\x00-\x7f])")
"""A line after that reason that is none of it: another of the server's, or wrangler's (its
own lines start with a symbol: "🪵  Logs were written to ...")."""


def _did_not_start(logged: str) -> str | None:
    """The server's last reason for a start that failed, from what it logged (`logged`): its
    line, and the lines the build added to it (the TOML to add for a missing migration); None
    when it gave none."""
    found = list(_DID_NOT_START.finditer(logged))
    if not found:
        return None
    lines = [found[-1].group(1)]
    for line in logged[found[-1].end() :].splitlines()[1:]:
        if not line.strip() or _NOT_SAID_ON.match(line):
            break
        lines.append(line)
    return "\n".join(lines)


_CODE_FAILED_WHAT = "the app's object raised an exception before it answered"
"""How a failed start names an object whose code raised (`_code_failed_report`)."""


_CODE_FAILURES = 3
"""How many answers in a row from an object whose code raised fail a start: a constructor
that raises only the first time (a transient error of its own) is no failed start."""


def _code_failed(response: httpx.Response) -> bool:
    """Whether the probe's answer is the passthrough's for an object whose code raised
    before it answered (its constructor, say): a 503 `object_unavailable` without
    `Retry-After`, which every later request gets too until the code is fixed."""
    if response.status_code != 503 or "retry-after" in response.headers:
        return False
    try:
        return bool(response.json()["error"]["code"] == "object_unavailable")
    except (ValueError, KeyError, TypeError):
        return False


def _code_failed_report(logged: str) -> str | None:
    """The traceback the passthrough logged for an object whose code raised, from what the
    server logged (`logged`), after one line that names its exception and the app's frame
    that raised it (`dotdo.tracebacks.summary`); None while it has not logged one."""
    from dotdo.tracebacks import summary
    from dotdo.worker import CODE_FAILED_LOG

    at = logged.find(CODE_FAILED_LOG)
    if at < 0:
        return None
    lines: list[str] = []
    for line in logged[at + len(CODE_FAILED_LOG) :].splitlines():
        if not line.strip() or line.startswith("[wrangler:"):
            traceback = "\n".join(lines)
            return f"{_CODE_FAILED_WHAT}: {summary(traceback)}\n{traceback}"
        lines.append(line)
    return None  # not all of it is written yet: its end is the blank line the logger adds


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_tenant() -> str:
    """A fresh tenant name (`t-` and 12 hex digits): a new object per test."""
    return f"t-{uuid.uuid4().hex[:12]}"


class LocalRuntime:
    """One server for the tests: `base_url`, `port`, `log_path`, per-tenant clients.

    Serves the project in `project_root` (its `config`, default its `wrangler.toml`) on
    `port` (None or 0: a free one the OS chooses; one something listens on is a
    LocalRuntimeError at the first `start`) with the test routes (unless
    `test_routes=False`, to serve exactly what a deploy serves), state in `state_dir` and
    output in `log_path`; `vars` join the worker's env, `python_roots` go on `sys.path`,
    `out` is the generated host's folder (default `.dotdo/test-host`), `log_level`
    wrangler's; with `registry` (a folder) the worker joins wrangler's dev registry there,
    where another local worker reaches the project's classes by `script_name` (e.g. the
    JavaScript front)."""

    def __init__(
        self,
        project_root: Path,
        *,
        state_dir: Path,
        log_path: Path,
        config: Path | None = None,
        vars: Mapping[str, str] | None = None,
        python_roots: Sequence[Path] = (),
        out: Path | None = None,
        log_level: str = "info",
        registry: Path | None = None,
        test_routes: bool = True,
        port: int | None = None,
    ) -> None:
        self.project = Project.load(project_root, config)
        self.state_dir = state_dir
        self.log_path = log_path
        self.registry = registry
        self._chosen_port = bool(port)
        self.port = port or free_port()
        self.options = ServerOptions(
            port=self.port,
            persist_to=state_dir,
            vars=dict(vars or {}),
            log_level=log_level,
            out=out or self.project.root / ".dotdo" / "test-host",
            python_roots=tuple(python_roots),
            test_control=test_routes,
            registry=registry,
        )
        self._server: Server | None = None
        self._restarts = RestartPolicy()
        self._down: str | None = None
        """Why the runtime is down for good, when it is (a start that failed, a runtime that
        kept dying): the first line of the error that said so in full."""

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> None:
        """Start the server and wait until a tenant's `/health` answers 200 and the server's own
        boot is done, then renew wrangler's proxy's connections (`renew_proxy_connections`),
        so that the first request of a test meets no connection the boot left unusable (such
        a POST was answered 503 "Your worker restarted mid-request"). LocalRuntimeError
        (the server's report, or the end of the log) when Python or the app fails to load,
        or the app's object raises before it answers (its constructor: every request would
        fail so), as soon as the server has said so, or when nothing answers in time;
        `revive` then starts it no more."""
        try:
            self._start(timeout)
        except LocalRuntimeError as error:
            self._down = str(error).partition("\n")[0].rstrip(":")
            raise
        self._down = None

    def _start(self, timeout: float) -> None:
        import httpx

        if self._server is None:
            if self._chosen_port:  # else a server already there would answer the probe below
                check_port_free(
                    self.options.ip,
                    self.port,
                    hint="is a `dotdo dev` serving it? Choose another port (`dotdo test --port`, "
                    "DOTDO_TEST_PORT) or leave it to the OS",
                )
            node, node_modules = prepare(self.project)
            self._server = Server(self.project, self.options, node=node, node_modules=node_modules)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_offset()  # what this start logs comes after it
        with self.log_path.open("ab") as log:
            self._server.start(output=log)
        deadline = time.monotonic() + timeout
        code_failures = 0  # the probe's answers in a row from an object whose code raised
        with httpx.Client(base_url=self.base_url, headers={"host": "probe.localhost"}) as client:
            while time.monotonic() < deadline:
                if not self._server.running():
                    self.stop()  # its pipe to the server closed (a ResourceWarning at exit)
                    said = _did_not_start(self.log_since(offset))
                    if said is not None:  # its reason alone, which the log's end said with the rest
                        raise LocalRuntimeError(said)
                    raise LocalRuntimeError(f"the local runtime exited:\n{self.log_tail()}")
                try:
                    response = client.get("/health", timeout=60)
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                if response.status_code == 200 and self._booted(offset, deadline):
                    # The boot held the runtime's thread for seconds: a pooled connection of
                    # wrangler's proxy left unusable by it costs a held request, not the first
                    # test's (its POST was answered 503 "Your worker restarted mid-request").
                    renew_proxy_connections(client)
                    return
                # Its words, not the log's end: that said "the app failed to import" twice,
                # around the probe's own request line.
                report = _not_ready_report(self.log_since(offset))
                if report is None and "app_import_failed" in response.text:
                    # The server prints the traceback once its own boot request is answered.
                    report = self._reported(offset, _not_ready_report, 30) or (
                        f"the app failed to import:\n{self.log_tail()}"
                    )
                code_failures = code_failures + 1 if _code_failed(response) else 0
                if report is None and code_failures >= _CODE_FAILURES:
                    # Its code raised (a bad route pattern in `routes()` fails every instance's
                    # constructor): each probe got that 503 until the whole timeout had passed.
                    # Only when it answers so again: one that fails once passes the next time.
                    report = self._reported(offset, _code_failed_report, 10) or (
                        f"{_CODE_FAILED_WHAT}: {response.json()['error']['message']}\n{self.log_tail()}"
                    )
                if report is not None:
                    # Python that failed to start is booted again by each request (the probe's
                    # included), and fails again: waiting for it took the whole timeout.
                    self.stop()
                    raise LocalRuntimeError(report)
                time.sleep(0.1)
        self.stop()
        raise LocalRuntimeError(f"the local runtime did not answer within {timeout} s:\n{self.log_tail()}")

    def _reported(self, offset: int, read: Callable[[str], str | None], grace: float) -> str | None:
        """What `read` finds in the log after `offset`, waiting up to `grace` s for the server to
        write it (a traceback is logged after the answer that told of it); None if it never did."""
        until = time.monotonic() + grace
        while (report := read(self.log_since(offset))) is None and time.monotonic() < until:
            time.sleep(0.1)
        return report

    def _booted(self, offset: int, deadline: float) -> bool:
        """Whether the server's own boot request was answered (its "Ready" or "not ready"
        after `offset` in the log) by `deadline`: a request sent while it runs meets the boot
        (the probe's `/health` can be answered first, while the boot still holds the thread)."""
        while time.monotonic() < deadline:
            if _BOOTED.search(self.log_since(offset)):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop the server (and its workerd children); the state folder stays."""
        if self._server is not None:
            self._server.stop()

    def crash(self) -> None:
        """Kill the whole server at once, as a power cut would (no shutdown); `start()`
        brings it back on the same port and state, to see what survived."""
        if self._server is not None:
            self._server.kill()

    def restart(self) -> None:
        """Stop and start again on the same port and state (what survives a restart)."""
        self.stop()
        self.start()

    def log_offset(self) -> int:
        """The log's current length in bytes (for `log_since`)."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        """What the server logged after `offset`."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError as error:
            return f"(no log at {self.log_path}: {error})"

    def log_tail(self, lines: int = 80) -> str:
        """The end of the server log, so that a failed start explains itself."""
        return "\n".join(self.log_since(0).splitlines()[-lines:])

    def revive(self) -> None:
        """Start the runtime again if it died on its own since it started (what died goes
        to the log and the `dotdo.testing` logger), as `dotdo dev` does, with its
        `RestartPolicy`; LocalRuntimeError once that gives up or the start fails (with the
        end of the log), and at every later call (in one line: a client would only fail to
        connect). Nothing for a runtime that runs, was stopped or crashed on purpose
        (`stop`, `crash`), or never started."""
        if self._down is not None:
            raise LocalRuntimeError(
                f"the local runtime is down ({self._down}; reported in full before): not started again"
            )
        server = self._server
        if server is None or server.process is None or server.running():
            return
        cause = server.exit_cause()
        if cause is None:  # it ended by itself (a failed start): the next start() says why
            return
        with self.log_path.open("a") as log:
            log.write(f"dotdo.testing: {cause}; starting the local runtime again\n")
        if revive(server, self._restarts, start=self.start, log=logger) is not None:
            self._down = f"{cause}; it kept dying"
            raise LocalRuntimeError(f"{cause}; the local runtime keeps dying:\n{self.log_tail()}")

    def client(self, tenant: str | None = None, *, prefix: str = "") -> TenantClient:
        """A client for `tenant` (a fresh one by default); close it (or use `with`). A
        runtime that died on its own is started again first (`revive`)."""
        self.revive()
        return TenantClient(self.port, tenant or new_tenant(), prefix=prefix)

    def async_client(self, tenant: str | None = None, *, prefix: str = "") -> AsyncTenantClient:
        """An asyncio client for `tenant` (a fresh one by default), after `revive`."""
        self.revive()
        return AsyncTenantClient(self.port, tenant or new_tenant(), prefix=prefix)
