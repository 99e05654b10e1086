"""Where a write's time goes on the real runtime (issue 14, item 1): the same create (or
state put) driven against the layers of dotdo in turn, and against variants of the code,
interleaved in one run, by throughput.

    .venv/bin/python bench/create_path.py [--paths app] [--depth now] [--scenarios create,state_put]
        [--variant NAME=[@REV:]PATCH ...] [--floor] [--duration 6s] [--rounds 2] [--conns 1,8]

Timers inside workerd are coarse (`Date.now()` and `performance.now()` stand still while
code runs), so a request's parts cannot be timed from inside; what can be compared is
requests/s of two things that differ in one part, on one machine in one run. Each path is
a class of the test harness (`tests/harness/wrangler.toml`), one layer deeper each:

    direct   HarnessDirect   DOSemantic: things straight into SQLite, events in `events`
    tiered   HarnessTiered   DOStorage: things in memory, one write-ahead log row a write
    full     HarnessFull     DOFull: DOStorage plus the event bus, sockets, approvals, AI
    app      DOFull          the default app's class, behind the app's own passthrough

Each variant is a runtime of its own: `now` is this checkout; `NAME=PATCH` is a copy of it
with `PATCH` applied (`patch -p1`), e.g. one suspect removed; `NAME=@REV` git revision
REV's sources (a before/after in one run), `NAME=@REV:PATCH` those with PATCH applied.
Every system is driven on the classes `--paths` names (default the app's), a system named
by `--depth` on all four. `--floor` adds the bare-Python floor (`../shared/bench/pyfloor`,
its own REST paths). Every (system, class) is driven by the kit's wrk scenario
(`bench/prefixed.lua` puts the class's prefix in front), in an order that rotates each
round; the table gives median req/s and the cost per request over the first row's, in
microseconds (1e6/rps - 1e6/rps0). Raw runs go to bench-results/<stamp>-create_path.jsonl.
Throughput: for a quiet machine (compare within a run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from floor import ENV, KIT, System, pyfloor_project, run_wrk  # noqa: E402 - a sibling of this script
from floor import systems as floor_systems  # noqa: E402
from results import write_result  # noqa: E402

PREFIXES = {"direct": "/_direct", "tiered": "/_tiered", "full": "/_full", "app": ""}
"""The harness worker's route to each class (its `harness_entry.py`); "" is the app's own."""
COPIED = ("src", "tests/harness", "pyproject.toml", "wrangler.toml", "python_modules")


@dataclass(frozen=True)
class Target:
    """One thing driven: a system (a runtime) and the path prefix of one of its classes."""

    system: System
    path: str

    @property
    def name(self) -> str:
        return self.system.name if self.system.name == "pyfloor" else f"{self.system.name}:{self.path}"

    @property
    def things(self) -> str:
        return "/things/Customer" if self.system.name == "pyfloor" else "/Customer"

    @property
    def prefix(self) -> str:
        return "" if self.system.name == "pyfloor" else PREFIXES[self.path]


def checkout_copy(base: Path, name: str, source: str) -> Path:
    """What the harness runtime serves, in `base/name`: this checkout's files with the patch
    `source` applied (`patch -p1`; "" for none), or, for `@REV` (`@REV:PATCH`), git revision
    REV's (with PATCH applied)."""
    copy = base / name
    tracked = [part for part in COPIED if part != "python_modules"]
    if source.startswith("@"):
        revision, _, source = source[1:].partition(":")
        copy.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", revision, *tracked], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(copy)], input=archive, check=True)
        parts = ["python_modules"]
    else:
        parts = list(COPIED)
    for part in parts:
        origin, target = ROOT / part, copy / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, target)
    (copy / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    if source:
        subprocess.run(["patch", "-p1", "-s", "-i", str(Path(source).resolve())], cwd=copy, check=True)
    return copy


def harness_system(name: str, root: Path) -> System:
    """The test harness served from `root` (its own sources on the path), rate limits off."""
    command = [
        sys.executable, "-m", "dotdo", "dev", "--port", "$PORT", "--persist-to", "$STATE", "--no-watch",
        "--log-level", "warn", "--config", "tests/harness/wrangler.toml", "--python-root", "src",
        "--var", "RATE_LIMIT_REQUESTS=off", "--var", "RATE_LIMIT_MESSAGES=off",
    ]  # fmt: skip
    return System(name, "/Customer", command, root)


def start(system: System, state: Path, pythonpath: Path) -> None:
    """`System.start`, with this system's own dotdo on PYTHONPATH (a variant's copy)."""
    saved = ENV["PYTHONPATH"]
    ENV["PYTHONPATH"] = str(pythonpath)
    try:
        system.start(state)
    finally:
        ENV["PYTHONPATH"] = saved


def wrk(target: Target, scenario: str, conns: int, duration: str, host: str) -> dict[str, float]:
    env = {
        **os.environ, "BENCH_DIR": str(KIT), "BENCH_API": "rest", "BENCH_THINGS": target.things,
        "BENCH_N": "1000", "BENCH_KEYS": "1000", "BENCH_RUN": f"{time.time_ns()}",
        "BENCH_SCRIPT": scenario, "BENCH_PREFIX": target.prefix,
    }  # fmt: skip
    return run_wrk(
        target.system.url,
        ROOT / "bench" / "prefixed.lua",
        conns,
        duration,
        host,
        env,
        f"{target.name} {scenario}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paths", default="app", help="the classes every system is driven on")
    parser.add_argument("--depth", action="append", default=[], metavar="NAME",
                        help="drive system NAME on every class: direct, tiered, full, app")  # fmt: skip
    parser.add_argument("--scenarios", default="create,state_put")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=PATCH|@REV[:PATCH]")
    parser.add_argument("--no-now", action="store_true", help="leave out this checkout as it is")
    parser.add_argument("--floor", action="store_true", help="add the bare-Python floor")
    parser.add_argument("--duration", default="6s")
    parser.add_argument("--warmup", default="2s")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--conns", default="1,8")
    args = parser.parse_args()
    conns = [int(c) for c in args.conns.split(",")]
    scenarios = args.scenarios.split(",")
    paths = args.paths.split(",")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    raw = ROOT / "bench-results" / f"{stamp}-create_path.jsonl"
    raw.parent.mkdir(exist_ok=True)
    results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        systems: list[tuple[System, Path]] = []
        if not args.no_now:
            systems.append((harness_system("now", ROOT), ROOT / "src"))
        for spec in args.variant:
            name, _, source = spec.partition("=")
            copy = checkout_copy(base, name, source)
            systems.append((harness_system(name, copy), copy / "src"))
        targets = [
            Target(system, path)
            for system, _ in systems
            for path in (list(PREFIXES) if system.name in args.depth else paths)
        ]
        floor: System | None = None
        if args.floor:
            floor = floor_systems(["pyfloor"])[0]
            floor.cwd = pyfloor_project(base)
            targets.insert(0, Target(floor, ""))
        try:
            for system, pythonpath in systems:
                (base / "state" / system.name).mkdir(parents=True)
                start(system, base / "state" / system.name / "state", pythonpath)
            if floor is not None:
                (base / "state" / "pyfloor").mkdir(parents=True)
                start(floor, base / "state" / "pyfloor" / "state", ROOT / "src")
            for system in [s for s, _ in systems] + ([floor] if floor else []):
                print(f"{system.name}: up after {system.wait():.1f} s", file=sys.stderr, flush=True)
            for round_ in range(args.rounds):
                for scenario in scenarios:
                    host = f"{scenario.replace('_', '')}{stamp.lower()}.bench.local"
                    for conn in conns:
                        turn = round_ % len(targets)
                        for target in targets[turn:] + targets[:turn]:
                            if round_ == 0 and conn == conns[0]:
                                wrk(target, scenario, 8, args.warmup, host)  # warm-up, not kept
                            result = wrk(target, scenario, conn, args.duration, host)
                            results.setdefault((target.name, scenario, conn), []).append(result)
                            line = {
                                "target": target.name,
                                "scenario": scenario,
                                "conns": conn,
                                "round": round_,
                            }
                            with raw.open("a") as out:
                                out.write(json.dumps({**line, **result}) + "\n")
                            print(f"{target.name} {scenario} c={conn}: {result['rps']:.0f} req/s",
                                  file=sys.stderr, flush=True)  # fmt: skip
        finally:
            for system, _ in systems:
                system.stop()
            if floor is not None:
                floor.stop()
    names = [target.name for target in targets]
    command = " ".join(["bench/create_path.py", *sys.argv[1:]])
    lines = [
        f"Run of {stamp} (`{command}`), median req/s over {args.rounds} rounds, and µs a request "
        f"over {names[0]}'s:",
        "",
        "| target | " + " | ".join(f"{s} c={c}" for s in scenarios for c in conns) + " |",
        "| --- | " + " | ".join("---:" for _ in scenarios for _ in conns) + " |",
    ]
    errors = []
    for name in names:
        cells = []
        for scenario in scenarios:
            for conn in conns:
                runs = results[(name, scenario, conn)]
                rps = statistics.median(r["rps"] for r in runs)
                first = statistics.median(r["rps"] for r in results[(names[0], scenario, conn)])
                cells.append(f"{rps:.0f} ({1e6 / rps - 1e6 / first:+.0f} µs)")
                failed = sum(int(r.get(k, 0)) for r in runs for k in ("err_status", "err_body"))
                if failed:
                    errors.append(f"{name} {scenario} c={conn}: {failed} failed requests")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Errors: " + ("; ".join(errors) if errors else "none") + "."]
    print("\n".join(lines))
    write_result("create_path", lines)


if __name__ == "__main__":
    main()
