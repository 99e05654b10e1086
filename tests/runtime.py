"""Start and stop the local runtime (real wrangler dev stack + workerd) for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalRuntime:
    """One server: `base_url`, per-tenant clients, `restart()` keeping the stored state."""

    def __init__(
        self,
        state_dir: Path,
        log_path: Path,
        extra_args: Sequence[str] = (),
        registry: Path | None = None,
        out: str = ".dotdo/test-host",
    ) -> None:
        self.state_dir = state_dir
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.registry = registry
        """wrangler's dev registry the worker joins, where the front (scripts/front.mjs) finds it."""
        self.out = out  # the host bundle's directory: one per server running at once
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        command = [
            "node", "scripts/localrt/server.mjs", "--port", str(self.port), "--no-watch",
            "--persist-to", str(self.state_dir), "--log-level", "warn",
            "--config", "tests/harness/wrangler.toml", "--out", self.out,
            "--python-root", "src", "--var", "DOTDO_TEST=1", *self.extra_args,
        ]  # fmt: skip
        if self.registry is not None:
            command += ["--registry", str(self.registry)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "WRANGLER_SEND_METRICS": "false"},
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, headers={"host": "probe.localhost"}) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    self.process = None
                    raise RuntimeError(f"local runtime exited with {code}:\n{self.log_tail()}")
                try:
                    if client.get("/health", timeout=30).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"local runtime did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 80) -> str:
        """The end of the server log, so a failed start explains itself where only output is kept (CI)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no log at {self.log_path}: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def crash(self) -> None:
        """Kill the whole server (node, workerd) at once, as a power cut would: no shutdown."""
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def client(self, tenant: str | None = None) -> httpx.Client:
        tenant = tenant or new_tenant()
        return httpx.Client(base_url=self.base_url, headers={"host": f"{tenant}.localhost"}, timeout=30)

    def rpc(self, name: str, method: str, *params: object, binding: str = "DOTDO") -> httpx.Response:
        """A real Workers RPC call from the harness worker to the object `name`."""
        body = {"binding": binding, "name": name, "method": method, "params": list(params)}
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            return client.post("/_harness/rpc", json=body)


def new_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"
