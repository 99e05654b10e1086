"""dotdo against the bare-Python floor and the plain-JavaScript floor, interleaved in one run
(issue 14, items 1 and 2): every route family the floors serve, at 1 and 8 connections.

    .venv/bin/python bench/floor.py [--duration 8s] [--rounds 2] [--conns 1,8] [--things 2000]
        [--scenarios state_get,state_put,create,get,list,list_scan] [--systems rawjs,pyfloor,dotdo]
        [--variant NAME=PATCH ...]

The three systems run side by side, each on its own port and empty state folder: `rawjs`
(the shared kit's JavaScript Durable Object on wrangler's dev stack, `devserver.mjs`),
`pyfloor` (the kit's bare-Python worker and object: only the `workers` SDK and
`ctx.storage.sql`) and `dotdo` (this checkout's app, `./scripts/dev`), the two Python ones
on this project's local runtime; `--systems rawjs,pyfloor,dotdo,front` adds `front`: the same
app behind the opt-in JavaScript front (ADR 0020) in place of the Python passthrough.
Each is seeded through its own API with the kit's `seed.py` (customers `c-00000..` and
1,000 state keys); then for every round, scenario and connection count the systems take
turns (the order rotates each round), each driven by the kit's wrk scenario (`lua/*.lua`).
So a drift of the machine hits all alike. `--variant NAME=PATCH` adds a system NAME beside
them: this checkout's app with PATCH applied (`patch -p1`, e.g. one suspect of
`bench/create_path_patches/` removed), `NAME=@REV[:PATCH]` git revision REV's sources, as
`bench/create_path.py` makes them; its ratio to bare Python is printed as dotdo's is.
Tables: median req/s over the rounds, the ratio of dotdo to bare Python, p50 latency and the
server's CPU a request (every process of the system, from /proc, background threads
included): when two systems' latencies differ by what their CPU a request differs by, the
difference is work, not waiting (for the disk's flush of a commit, a timer, the client);
every run's raw result goes to bench-results/<stamp>-floor.jsonl.

`list` is `{"age":{"$gt":30}}` limit 20 (~81% match), `list_scan` `{"tier":"platinum"}`
limit 20 (1 match in 1,000: a full scan). dotdo lists answer without counting every match
(`total` is opt-in, `total=exact`); the floors answer `count` = the page's length.
Never take numbers from a busy machine as results: this measures throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from results import write_result  # noqa: E402 - a sibling of this script

KIT = next(
    (p / "shared" / "bench" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "bench").is_dir()),
    ROOT.parent / "shared" / "bench",
)
"""The shared load kit: beside the checkout, or beside the folder of worktrees."""

ENV = {
    "WRANGLER_SEND_METRICS": "false",
    "PYTHONPATH": str(ROOT / "src"),  # the checkout's dotdo, as ./scripts/dev runs it
    "WRANGLER": str(ROOT / "node_modules" / ".bin" / "wrangler"),  # devserver.mjs finds wrangler by it
}

LABELS = {
    "state_get": "state get",
    "state_put": "state put",
    "create": "create",
    "get": "get by id",
    "list": "list where, limit 20",
    "list_scan": "list, full scan",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """`root` and every process under it (the runtimes start node and workerd in sessions
    of their own, so a process group does not hold them all)."""
    parents: dict[int, int] = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(pid)] = int(stat[1])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(found)
        tree |= found
    return sorted(tree)


def cpu_ticks(pids: list[int]) -> int:
    """CPU time the processes `pids` have used, user and system, in clock ticks (every thread,
    ended ones included: `/proc/<pid>/stat`'s utime and stime)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(stat[11]) + int(stat[12])  # fields 14 and 15 of proc(5), counted after the name
    return total


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass
class System:
    name: str
    things: str
    """Where the system serves customers: `/things/Customer` or `/Customer`."""
    command: list[str]
    cwd: Path
    pythonpath: Path | None = None
    """The dotdo the runtime serves (a variant's copy); None: this checkout's `src`."""
    port: int = 0
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, state: Path) -> None:
        self.port = free_port()
        command = [
            part.replace("$PORT", str(self.port)).replace("$STATE", str(state)) for part in self.command
        ]
        self.log = state.parent / f"{self.name}.log"
        log = self.log.open("wb")
        env = {**os.environ, **ENV}
        if self.pythonpath is not None:
            env["PYTHONPATH"] = str(self.pythonpath)
        self.process = subprocess.Popen(
            command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
        )  # fmt: skip

    def wait(self, timeout: float = 600) -> float:
        """Seconds from now until the object answers (a 404 for a missing key counts)."""
        started = time.monotonic()
        with httpx.Client(timeout=30) as client:
            while time.monotonic() - started < timeout:
                try:
                    answer = client.get(f"{self.url}/state/probe", headers={"host": "probe.bench.local"})
                    if answer.status_code in (200, 404):
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                assert self.process is not None
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        log = Path(str(self.log)).read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name} did not start:\n{log}")

    def processes(self) -> list[int]:
        """Every process serving this system (the runtime's node and workerd processes)."""
        return process_tree(self.process.pid) if self.process is not None else []

    def stop(self) -> None:
        if self.process is None:
            return
        for pid in reversed(process_tree(self.process.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()


@dataclass
class FrontSystem(System):
    """dotdo behind the opt-in JavaScript front (ADR 0020): the app's local runtime joined
    to a wrangler dev registry, and `scripts/front.mjs --serve` (the front Worker, bound to
    the app's class by `script_name`) on this system's port. The objects are the app's own,
    so this measures only what the Python passthrough costs against the JavaScript one."""

    app: System | None = None

    def start(self, state: Path) -> None:
        registry = state.parent / "registry"
        self.app = System(
            f"{self.name}-app", self.things,
            [*self.command, "--registry", str(registry)], self.cwd,
        )  # fmt: skip
        self.app.start(state)
        self.app.wait()
        self.port = free_port()
        self.log = state.parent / f"{self.name}.log"
        self.process = subprocess.Popen(
            ["node", str(ROOT / "scripts" / "front.mjs"), "--serve", "--port", str(self.port),
             "--registry", str(registry), "--out", str(state.parent / "front"), "--log-level", "warn"],
            cwd=self.cwd, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **ENV},
        )  # fmt: skip

    def processes(self) -> list[int]:
        return [*super().processes(), *(self.app.processes() if self.app is not None else [])]

    def stop(self) -> None:
        super().stop()
        if self.app is not None:
            self.app.stop()


def variant(base: Path, spec: str) -> System:
    """A system from `--variant NAME=PATCH` (or `NAME=@REV[:PATCH]`): dotdo's app served from a
    copy of this checkout under `base` with PATCH applied (`create_path.checkout_copy`)."""
    from create_path import checkout_copy  # a sibling; it imports this module itself

    name, _, source = spec.partition("=")
    if not name or name in ("rawjs", "pyfloor", "dotdo", "front"):
        raise SystemExit(f"--variant {spec!r}: name it NAME=PATCH, with a name of its own")
    copy = checkout_copy(base, name, source)
    dotdo = systems(["dotdo"])[0]
    return System(name, dotdo.things, dotdo.command, copy, pythonpath=copy / "src")


def systems(names: list[str]) -> list[System]:
    dev = [sys.executable, "-m", "dotdo", "dev", "--port", "$PORT", "--persist-to", "$STATE", "--no-watch",
           "--log-level", "warn"]  # fmt: skip
    known = {
        "rawjs": System(
            "rawjs", "/things/Customer",
            ["node", str(KIT / "devserver.mjs"), "--config", "wrangler.jsonc", "--port", "$PORT",
             "--persist-to", "$STATE", "--log-level", "warn"],
            KIT / "rawjs",
        ),
        "pyfloor": System(
            "pyfloor", "/things/Customer",
            dev,
            ROOT,  # replaced by a copy of the floor (`pyfloor_project`)
        ),
        "dotdo": System(
            "dotdo", "/Customer",
            # one load generator sends past any caller's budget: measure the framework, not the limiter
            [*dev, "--var", "RATE_LIMIT_REQUESTS=off", "--var", "RATE_LIMIT_MESSAGES=off"],
            ROOT,
        ),
        "front": FrontSystem(
            "front", "/Customer",
            [*dev, "--var", "RATE_LIMIT_REQUESTS=off", "--var", "RATE_LIMIT_MESSAGES=off"],
            ROOT,
        ),
    }  # fmt: skip
    return [known[name] for name in names]


def pyfloor_project(base: Path) -> Path:
    """A copy of the kit's floor as a project of its own (its `.dotdo/host` apart from this
    checkout's), with the `workers` SDK vendored, as `bench/devloop.py` makes it."""
    project = base / "pyfloor-project"
    shutil.copytree(KIT / "pyfloor", project)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "pyfloor"\ndependencies = ["workers-runtime-sdk>=1.9.5"]\n'
    )
    subprocess.run(
        [sys.executable, "-m", "dotdo", "vendor"],
        cwd=project,
        check=True,
        capture_output=True,
        env={**os.environ, **ENV},
    )
    return project


def seed(system: System, host: str, things: int) -> None:
    subprocess.run(
        [sys.executable, str(KIT / "seed.py"), "--url", system.url, "--host", host, "--api", "rest",
         "--n", str(things), "--keys", "1000", "--conc", "8"],
        check=True, env={**os.environ, "BENCH_THINGS": system.things}, capture_output=True,
    )  # fmt: skip


def wrk(system: System, scenario: str, conns: int, duration: str, host: str, things: int) -> dict[str, float]:
    script = "list" if scenario == "list_scan" else scenario
    where = '{"tier":"platinum"}' if scenario == "list_scan" else '{"age":{"$gt":30}}'
    env = {
        **os.environ, "BENCH_DIR": str(KIT), "BENCH_API": "rest", "BENCH_THINGS": system.things,
        "BENCH_N": str(things), "BENCH_KEYS": "1000", "BENCH_WHERE": where, "BENCH_RUN": f"{time.time_ns()}",
    }  # fmt: skip
    return run_wrk(
        system.url, KIT / "lua" / f"{script}.lua", conns, duration, host, env, f"{system.name} {scenario}"
    )


def run_wrk(
    url: str, script: Path, conns: int, duration: str, host: str, env: dict[str, str], what: str
) -> dict[str, float]:
    """One wrk run of `script` (a kit scenario printing `RESULT {json}`) against `url`."""
    out = subprocess.run(
        ["wrk", f"-t{2 if conns > 1 else 1}", f"-c{conns}", f"-d{duration}", "--timeout", "10s",
         "-H", f"Host: {host}", "-s", str(script), url],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"^RESULT (\{.*\})$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result for {what}:\n{out}")
    result: dict[str, float] = json.loads(match.group(1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", default="8s")
    parser.add_argument("--warmup", default="2s")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--conns", default="1,8")
    parser.add_argument("--things", type=int, default=2000)
    parser.add_argument("--scenarios", default=",".join(LABELS))
    parser.add_argument("--systems", default="rawjs,pyfloor,dotdo", help="of rawjs,pyfloor,dotdo,front")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=PATCH|@REV[:PATCH]")
    args = parser.parse_args()
    conns = [int(c) for c in args.conns.split(",")]
    scenarios = args.scenarios.split(",")
    chosen = systems(args.systems.split(","))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    read_host, write_host = f"r{stamp.lower()}.bench.local", f"w{stamp.lower()}.bench.local"
    raw = ROOT / "bench-results" / f"{stamp}-floor.jsonl"
    raw.parent.mkdir(exist_ok=True)
    results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        chosen += [variant(Path(tmp) / "variants", spec) for spec in args.variant]
        try:
            for system in chosen:  # all three up at once; an idle one costs no CPU
                (Path(tmp) / system.name).mkdir()
                if system.name == "pyfloor":
                    system.cwd = pyfloor_project(Path(tmp))
                system.start(Path(tmp) / system.name / "state")
            starts = {system.name: system.wait() for system in chosen}
            for system in chosen:
                seed(system, read_host, args.things)
                print(
                    f"{system.name}: up after {starts[system.name]:.1f} s, seeded",
                    file=sys.stderr,
                    flush=True,
                )
            for round_ in range(args.rounds):
                for scenario in scenarios:
                    host = write_host if scenario == "create" else read_host
                    for conn in conns:
                        turn = chosen[round_ % len(chosen) :] + chosen[: round_ % len(chosen)]
                        for system in turn:
                            if round_ == 0 and conn == conns[0]:
                                wrk(system, scenario, 8, args.warmup, host, args.things)  # warm-up, not kept
                            serving = system.processes()
                            ticks = cpu_ticks(serving)
                            result = wrk(system, scenario, conn, args.duration, host, args.things)
                            # The server's CPU a request (every process of the system): where the
                            # time of a request goes when it is not spent waiting (for the disk, the
                            # client), comparable between systems whatever the run's rate.
                            used = (cpu_ticks(serving) - ticks) / TICKS_PER_SECOND
                            result["server_cpu_us"] = used / max(1, int(result["requests"])) * 1e6
                            results.setdefault((system.name, scenario, conn), []).append(result)
                            line = {
                                "system": system.name,
                                "scenario": scenario,
                                "conns": conn,
                                "round": round_,
                            }
                            with raw.open("a") as out:
                                out.write(json.dumps({**line, **result}) + "\n")
                            print(f"{system.name} {scenario} c={conn}: {result['rps']:.0f} req/s",
                                  file=sys.stderr, flush=True)  # fmt: skip
        finally:
            for system in chosen:
                system.stop()
    names = [system.name for system in chosen]
    ratios = [n for n in names if n not in ("rawjs", "pyfloor") and "pyfloor" in names]
    command = f"bench/floor.py --duration {args.duration} --rounds {args.rounds} --things {args.things}"
    command += "".join(f" --variant {spec}" for spec in args.variant)
    lines = [
        f"Run of {stamp} (`{command}`), median req/s over the rounds:",
        "",
        "| route | conns | " + " | ".join(names) + "".join(f" | {n} / bare Python" for n in ratios) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in names) + " | ---:" * len(ratios) + " |",
    ]
    errors = []
    for scenario in scenarios:
        for conn in conns:
            rps = {n: statistics.median(r["rps"] for r in results[(n, scenario, conn)]) for n in names}
            row = f"| {LABELS[scenario]} | {conn} | " + " | ".join(f"{rps[n]:.0f}" for n in names) + " |"
            row += "".join(f" {rps[n] / rps['pyfloor']:.2f} |" for n in ratios)
            lines.append(row)
            for n in names:
                failed = sum(
                    int(r.get(k, 0)) for r in results[(n, scenario, conn)] for k in ("err_status", "err_body")
                )
                if failed:
                    errors.append(f"{n} {scenario} c={conn}: {failed} failed requests")
    lines += [
        "",
        "p50 latency ms (median over the rounds):",
        "",
        "| route | conns | " + " | ".join(names) + " |",
    ]
    lines.append("| --- | ---: | " + " | ".join("---:" for _ in names) + " |")
    for scenario in scenarios:
        for conn in conns:
            p50 = {n: statistics.median(r["p50_ms"] for r in results[(n, scenario, conn)]) for n in names}
            lines.append(
                f"| {LABELS[scenario]} | {conn} | " + " | ".join(f"{p50[n]:.2f}" for n in names) + " |"
            )
    lines += [
        "",
        "Server CPU us a request (every process of the system, median over the rounds):",
        "",
        "| route | conns | " + " | ".join(names) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in names) + " |",
    ]
    for scenario in scenarios:
        for conn in conns:
            cpu = {
                n: statistics.median(r["server_cpu_us"] for r in results[(n, scenario, conn)]) for n in names
            }
            lines.append(
                f"| {LABELS[scenario]} | {conn} | " + " | ".join(f"{cpu[n]:.0f}" for n in names) + " |"
            )
    lines += ["", "Errors: " + ("; ".join(errors) if errors else "none") + "."]
    print("\n".join(lines))
    write_result("floor", lines)


if __name__ == "__main__":
    main()
