"""`dotdo dev` as a developer meets it: start to first answer, save to first answer, idle CPU,
and a fresh clone to the first answer of `./scripts/dev` (cold and warm npm cache).

    .venv/bin/python bench/devloop.py start-save [--runs 3]
    .venv/bin/python bench/devloop.py reloads [--saves 30]
    .venv/bin/python bench/devloop.py writes-at-saves [--runs 6]
    .venv/bin/python bench/devloop.py idle [--seconds 60]
    .venv/bin/python bench/devloop.py clone [--cold]

start-save compares a project made by `dotdo new` (a DOWorkflow class) with the bare-Python
floor (`../shared/bench/pyfloor`, copied so its files can be touched) served by the same
command and runtime. Each project is started twice: its first start (empty `.dotdo/`
caches) and a second one, whose server then sees a "save": a comment appended to the main
module, timed to the first answer after the server says "Ready" again (a reload since ADR
0060, once the runtime has booted Python ahead of it: `SETTLE_S` after its first "Ready").

reloads saves a changed greeting into a `dotdo new` app's main module `--saves` times, each
`SETTLE_S` after the last, and times each save to the first answer that carries the new
greeting; with the resident memory of the runtime's workerd processes after each. Prints
Markdown rows; times are wall-clock from this process.

writes-at-saves sends writes that meet the Python boot of a save that found no interpreter
booted ahead (a save within seconds of the last request or save), `--runs` times: two PUTs at
once (two of wrangler's proxy's pooled connections to the runtime), a save 2.5 s later, and a
PUT 0.6 s after the save, while the save's boot holds the runtime's thread; prints each
PUT's status and time. A 503 is wrangler's proxy's "Your worker restarted mid-request": its
pooled connection was closed under it (ADR 0060).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The shared kit sits beside the checkout (CI), or beside the folder of worktrees.
PYFLOOR = next(
    (
        p / "shared" / "bench" / "pyfloor"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared").is_dir()
    ),
    ROOT.parent / "shared" / "bench" / "pyfloor",
)
SETTLE_S = 12.0
"""How long after "Ready" (or the last answer) a save waits: the runtime boots the next
reload's interpreter once it has been idle for 5 s (server.mjs `STANDBY_IDLE_MS`), which
takes 1-3 s here. A developer reading and editing between saves is idle that long."""
DOTDO = [sys.executable, "-m", "dotdo"]
"""The checkout's `dotdo` command, as ./scripts/dev runs it: src/ on the path (`main` sets
PYTHONPATH for every command it starts), nothing installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_answer(url: str, headers: dict[str, str], deadline: float) -> float:
    """Poll until the URL answers below 500; the time it did."""
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url, headers=headers).status_code < 500:
                    return time.monotonic()
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(url)


class Dev:
    """One `dotdo dev` (or any command) in its own session, its output in a log file."""

    def __init__(self, command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "WRANGLER_SEND_METRICS": "false", **(env or {})},
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, count: int = 1, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no {text!r}:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        return time.monotonic()

    def tree(self, stats: dict[int, list[str]] | None = None) -> set[int]:
        """The command's pid and those of every process under it (node, workerd), now."""
        stats = _proc_stats() if stats is None else stats
        tree, grew = {self.process.pid}, True
        while grew:
            found = {pid for pid, fields in stats.items() if int(fields[1]) in tree} - tree
            grew = bool(found)
            tree |= found
        return tree

    def cpu_seconds(self) -> float:
        """User + system CPU of the command and every process under it (node, workerd), now."""
        stats = _proc_stats()
        ticks = os.sysconf("SC_CLK_TCK")
        tree = self.tree(stats)
        return sum(int(stats[pid][11]) + int(stats[pid][12]) for pid in tree if pid in stats) / ticks

    def rss_mib(self, name: str = "workerd") -> float:
        """Resident memory of the processes called `name` under the command, now (MiB)."""
        total = 0
        for pid in self.tree():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
            if found and re.search(rf"^Name:\s+{name}$", status, re.M):
                total += int(found.group(1))
        return total / 1024

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def _proc_stats() -> dict[int, list[str]]:
    """Every process's /proc/<pid>/stat fields after its command name, by pid."""
    stats: dict[int, list[str]] = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                stats[int(pid)] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    return stats


def dev_command(project: Path, base: Path) -> tuple[list[str], int]:
    """(`dotdo dev` on a free port with its state under `base`, the port) for `project`,
    vendored first so that the timings leave vendoring out."""
    subprocess.run([*DOTDO, "vendor"], cwd=project, check=True, capture_output=True)
    port = free_port()
    return [*DOTDO, "dev", "--port", str(port), "--persist-to", str(base / "state")], port


def make_app(base: Path) -> tuple[Path, Path, str, dict[str, str]]:
    """(project, main module, probe path, headers) for a `dotdo new` project."""
    subprocess.run([*DOTDO, "new", "bench-app"], cwd=base, check=True, capture_output=True)
    project = base / "bench-app"
    return project, project / "src" / "entry.py", "/health", {"host": "bench.localhost"}


def make_pyfloor(base: Path) -> tuple[Path, Path, str, dict[str, str]]:
    project = base / "pyfloor"
    shutil.copytree(PYFLOOR, project)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "pyfloor"\ndependencies = ["workers-runtime-sdk>=1.9.5"]\n'
    )
    return project, project / "src" / "entry.py", "/state/probe", {"host": "bench.localhost"}


def start_save(runs: int) -> None:
    print(
        "| system | run | first start to first answer s | start to Ready s | start to first answer s"
        " | save to first answer s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for run in range(1, runs + 1):  # interleaved, so that the machine's drift hits both alike
        for name, make in (("dotdo new app", make_app), ("pyfloor", make_pyfloor)):
            with tempfile.TemporaryDirectory() as tmp:
                base = Path(tmp)
                project, main, probe, headers = make(base)
                command, port = dev_command(project, base)
                url = f"http://127.0.0.1:{port}{probe}"
                # The project's first start fills its caches under .dotdo/ (the bytecode of
                # python_modules/, compiled once per content); every later start and save
                # finds them. Both are timed: the first once, the second as a developer's day.
                started = time.monotonic()
                dev = Dev(command, project, base / "first.log")
                try:
                    first = first_answer(url, headers, started + 600) - started
                finally:
                    dev.stop()
                started = time.monotonic()
                dev = Dev(command, project, base / "dev.log")
                try:
                    answered = first_answer(url, headers, started + 600)
                    ready = dev.wait_for("Ready on")
                    time.sleep(SETTLE_S)
                    main.write_text(main.read_text() + "\n# saved\n")
                    saved = time.monotonic()
                    dev.wait_for("Ready on", count=2)  # the old code answers until then
                    again = first_answer(url, headers, saved + 600)
                finally:
                    dev.stop()
                times = (first, ready - started, answered - started, again - saved)
                print(f"| {name} | {run} | " + " | ".join(f"{t:.1f}" for t in times) + " |", flush=True)


def serve_app(base: Path) -> tuple[Path, dict[str, str], int, Dev]:
    """A `dotdo new` app in `base` served by `dotdo dev`: (its main module, the headers its
    requests carry, the port, the server)."""
    project, main, _, headers = make_app(base)
    command, port = dev_command(project, base)
    return main, headers, port, Dev(command, project, base / "dev.log")


def reloads(saves: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        main, headers, port, dev = serve_app(Path(tmp))
        url = f"http://127.0.0.1:{port}/hello"
        print("| save | save to the new code's first answer s | workerd RSS after it MiB |")
        print("| ---: | ---: | ---: |")
        try:
            dev.wait_for("Ready on")
            first_answer(url, headers, time.monotonic() + 120)
            print(f"| before | | {dev.rss_mib():.0f} |", flush=True)
            source = main.read_text()
            with httpx.Client(timeout=60) as client:
                for save in range(1, saves + 1):
                    time.sleep(SETTLE_S)
                    greeting = f"Hello again {save}"
                    main.write_text(source.replace('f"Hello, {name}!"', f'f"{greeting}, {{name}}!"'))
                    saved = time.monotonic()
                    while True:
                        try:
                            if greeting in client.get(url, headers=headers).text:
                                break
                        except httpx.TransportError:
                            pass
                        if time.monotonic() > saved + 600:
                            raise TimeoutError(dev.output()[-3000:])
                        time.sleep(0.02)
                    took = time.monotonic() - saved
                    print(f"| {save} | {took:.2f} | {dev.rss_mib():.0f} |", flush=True)
        finally:
            dev.stop()


def writes_at_saves(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        main, headers, port, dev = serve_app(Path(tmp))
        url = f"http://127.0.0.1:{port}/state"
        source = main.read_text()
        print("| run | the PUT's status | its time s |")
        print("| ---: | ---: | ---: |")
        try:
            dev.wait_for("Ready on")
            with (
                httpx.Client(timeout=90, headers=headers) as a,
                httpx.Client(timeout=90, headers=headers) as b,
            ):
                for run in range(1, runs + 1):
                    # A save takes the interpreter booted ahead, if any; the requests after it
                    # keep the runtime busy, so that it boots no other before the next save.
                    main.write_text(source + f"\n# run {run}\n")
                    for _ in range(4):
                        a.put(f"{url}/busy", json=run)
                        time.sleep(1)
                    with ThreadPoolExecutor(2) as pool:
                        list(pool.map(lambda client, n=run: client.put(f"{url}/pair", json=n), (a, b)))
                    time.sleep(2.5)
                    main.write_text(source + f"\n# run {run}, saved again\n")
                    time.sleep(0.6)
                    sent = time.monotonic()
                    status = a.put(f"{url}/after", json=run).status_code
                    print(f"| {run} | {status} | {time.monotonic() - sent:.2f} |", flush=True)
                    time.sleep(SETTLE_S)
        finally:
            dev.stop()


def idle(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        project, _, probe, headers = make_app(base)
        # A project as users have it: a virtualenv and node_modules inside it, never watched.
        subprocess.run([sys.executable, "-m", "venv", str(project / ".venv")], check=True)
        port = free_port()
        dev = Dev([*DOTDO, "dev", "--port", str(port)], project, base / "dev.log")
        try:
            dev.wait_for("Ready on")
            first_answer(f"http://127.0.0.1:{port}{probe}", headers, time.monotonic() + 120)
            time.sleep(SETTLE_S + 5)  # let the first request's work and the reload's boot settle
            before, wall = dev.cpu_seconds(), time.monotonic()
            time.sleep(seconds)
            used, elapsed = dev.cpu_seconds() - before, time.monotonic() - wall
        finally:
            dev.stop()
        share = 100 * used / elapsed
        print(f"| idle `dotdo dev` | {elapsed:.0f} s | {used:.2f} CPU s | {share:.2f}% of a core |")


def clone(cold: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = (
            {"npm_config_cache": str(base / "npm-cache"), "DOTDO_CACHE_DIR": str(base / "dotdo-cache")}
            if cold
            else {}
        )
        started = time.monotonic()
        subprocess.run(["git", "clone", "-q", str(ROOT), str(base / "clone")], check=True)
        port = free_port()
        dev = Dev(["./scripts/dev", "--port", str(port), "--no-watch"], base / "clone", base / "dev.log", env)
        try:
            answered = first_answer(
                f"http://127.0.0.1:{port}/health", {"host": "bench.localhost"}, started + 1800
            )
        finally:
            dev.stop()
        label = "cold npm cache" if cold else "warm npm cache"
        print(f"| fresh clone to first answer of ./scripts/dev | {label} | {answered - started:.1f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["start-save", "reloads", "writes-at-saves", "idle", "clone"])
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *([inherited] if inherited else [])])
    if args.what == "start-save":
        start_save(args.runs)
    elif args.what == "reloads":
        reloads(args.saves)
    elif args.what == "writes-at-saves":
        writes_at_saves(args.runs)
    elif args.what == "idle":
        idle(args.seconds)
    else:
        clone(args.cold)


if __name__ == "__main__":
    main()
