"""A `Server` that looks like a local runtime that exited (no node, no workerd): for the
tests of what starts a dead runtime again (`localrt.revive`, `dotdo dev`, `dotdo.testing`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dotdo.localrt.project import Project
from dotdo.localrt.server import Server, ServerOptions


def dead_runtime(tmp_path: Path) -> Server:
    """A `Server` of a one-file project in `tmp_path`, never started."""
    (tmp_path / "entry.py").write_text("")
    (tmp_path / "wrangler.toml").write_text('main = "entry.py"\n')
    return Server(Project.load(tmp_path), ServerOptions(), node="node", node_modules=tmp_path)


def exited(server: Server, code: int, report: dict[str, Any] | None = None) -> None:
    """Make `server` look like a runtime that exited with `code` (negative: that signal),
    its status file holding `report`."""
    status = server.project.root / "status.json"
    status.write_text(json.dumps(report) if report is not None else "")
    server._status_file = status
    if code < 0:
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        process.send_signal(-code)
    else:
        process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    process.wait()
    server.process = process  # type: ignore[assignment]


KILLED_OBJECTS = {
    "died": "worker",
    "what": "the workerd that runs the objects",
    "pid": 4242,
    "code": None,
    "signal": "SIGKILL",
}


HOLD = """import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\\n".encode())
print("held", flush=True)
time.sleep(60)
"""
"""A `dotdo dev` holding a host's lock, as far as the lock says: the flock of the file
`argv[1]` and its pid written there; "held" on stdout once it is."""
