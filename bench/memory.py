"""Memory of the local runtime: resident set with 1, 100 and 1,000 tenants touched, and a
soak at 8 connections sampling it (issue 14, item 6).

    .venv/bin/python bench/memory.py tenants [--counts 1,100,1000]
    .venv/bin/python bench/memory.py soak [--minutes 30] [--slice 60]

Both serve this checkout's app (`./scripts/dev`, the DOFull class behind the Python
passthrough) on an empty state folder with the rate limits off (one load generator is
past any caller's budget). RSS is summed over the server's process tree (python, node,
wrangler's proxy workerd and the app's workerd), read from /proc. `tenants` touches each
new tenant with one `PUT /state/k` (so its object is built, migrated and has written a
row), then samples; the per-object figure is the growth between two samples divided by
the objects added. `soak` seeds 1,000 keys in one tenant and drives `GET /state/:key` with
wrk in back-to-back slices, sampling after each: memory, not speed, so it may run on a
busy machine. Prints Markdown and writes bench-results/<stamp>-memory-*.md.

The Python heap of one object, measured under CPython (deterministic), is in
`bench/request_path.py --heap`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from results import write_result  # noqa: E402 - a sibling of this script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`./scripts/dev` in its own process group on an empty state folder."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.log = state / "server.log"
        command = [
            "./scripts/dev", "--port", str(self.port), "--persist-to", str(state / "data"), "--no-watch",
            "--log-level", "warn", "--var", "RATE_LIMIT_REQUESTS=off", "--var", "RATE_LIMIT_MESSAGES=off",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "WRANGLER_SEND_METRICS": "false"},
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    answer = client.get(f"{self.url}/health", headers={"host": "probe.localhost"})
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def tree(self) -> list[int]:
        """The server's pid and every process under it."""
        return sorted(self._tree()[0])

    def _tree(self) -> tuple[set[int], dict[int, int]]:
        parents: dict[int, int] = {}
        rss_kb: dict[int, int] = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            ppid = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
            rss = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
            parents[int(pid)] = int(ppid.group(1)) if ppid else 0
            rss_kb[int(pid)] = int(rss.group(1)) if rss else 0
        tree, grew = {self.process.pid}, True
        while grew:
            found = {pid for pid, parent in parents.items() if parent in tree} - tree
            grew = bool(found)
            tree |= found
        return tree, rss_kb

    def rss_mb(self) -> float:
        """Resident memory of the server and every process under it (the runtime starts
        node and workerd in sessions of their own), in MiB."""
        tree, rss_kb = self._tree()
        return sum(rss_kb.get(pid, 0) for pid in tree) / 1024

    def stop(self) -> None:
        """SIGTERM to `dotdo dev` (it stops its runtime), then SIGKILL to whatever of the tree
        is left: node and workerd run in sessions of their own, and a command started in the
        background ignores SIGINT."""
        tree = self.tree()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        for pid in reversed(tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


def tenants(counts: list[int]) -> list[str]:
    lines = [
        "| tenants touched | RSS MiB | growth since the previous row MiB | per object added KiB |",
        "| ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            server.wait()
            booted = server.rss_mb()
            lines.append(f"| 0 (booted, /health answered) | {booted:.0f} | | |")
            touched, previous = 0, booted
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for count in counts:
                    for n in range(touched, count):
                        answer = client.put("/state/k", json={"n": n}, headers={"host": f"m{n}.localhost"})
                        answer.raise_for_status()
                    added, touched = count - touched, count
                    time.sleep(2)  # let the runtime settle what the last requests allocated
                    rss = server.rss_mb()
                    per = (rss - previous) * 1024 / added
                    lines.append(f"| {count} | {rss:.0f} | {rss - previous:+.0f} | {per:.0f} |")
                    previous = rss
        finally:
            server.stop()
    return lines


def soak(minutes: float, slice_seconds: int) -> list[str]:
    lines = ["| after | requests | req/s | errors | RSS MiB |", "| --- | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        script = Path(tmp) / "get.lua"
        script.write_text(
            'request = function()\n  return wrk.format("GET", string.format("/state/k-%04d", '
            "math.random(0, 999)))\nend\n"
        )
        try:
            server.wait()
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for i in range(1000):
                    client.put(f"/state/k-{i:04d}", json={"n": i}, headers={"host": "soak.localhost"})
            lines.append(f"| start (1,000 keys seeded) | | | | {server.rss_mb():.0f} |")
            print("\n".join(lines), flush=True)
            ends = time.monotonic() + minutes * 60
            n = 0
            while time.monotonic() < ends:
                n += 1
                out = subprocess.run(
                    ["wrk", "-t2", "-c8", f"-d{slice_seconds}s", "--timeout", "10s",
                     "-H", "Host: soak.localhost", "-s", str(script), server.url],
                    capture_output=True, text=True, check=True,
                ).stdout  # fmt: skip
                requests = re.search(r"(\d+) requests in", out)
                rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
                failures = re.findall(r"(?:Non-2xx or 3xx responses|timeout)\s*:?\s*(\d+)", out)
                errors = sum(int(x) for x in failures)
                row = (
                    f"| {n * slice_seconds / 60:.0f} min | {requests.group(1) if requests else '?'} | "
                    f"{float(rate.group(1)) if rate else 0:.0f} | {errors} | {server.rss_mb():.0f} |"
                )
                lines.append(row)
                print(row, flush=True)
        finally:
            server.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["tenants", "soak"])
    parser.add_argument("--counts", default="1,100,1000")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--slice", type=int, default=60)
    args = parser.parse_args()
    if args.what == "tenants":
        lines = tenants([int(c) for c in args.counts.split(",")])
    else:
        lines = soak(args.minutes, args.slice)
    print("\n".join(lines))
    write_result(f"memory-{args.what}", lines)


if __name__ == "__main__":
    main()
