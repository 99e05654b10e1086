"""Rows written per logical write on DOStorage against the direct path, with latency and
the dollars per million logical writes, through HTTP on the real local runtime.

    .venv/bin/python bench/storage_rows.py            # --seed 11, --only <workload>
    .venv/bin/python bench/storage_rows.py --commit-delay 5 --only "hot keys, 8 connections"

Starts the local runtime on the test harness (tests/harness/wrangler.toml) and runs each
workload of issue 11 once per system, interleaved, each on a fresh object (a new tenant):

- `direct`: `HarnessDirect`, a plain DOSemantic (things straight into `things`);
- `strict`: `HarnessTiered`, DOStorage with its default options (strict durability);
- `relaxed`: `HarnessRelaxed`, DOStorage in relaxed mode, when the harness serves it.

Rows are SQLite's own counts, read from the object's `GET /stats` (`rows_written`,
`rows_read`: the SQL facade's sums of every cursor's `rowsWritten` / `rowsRead`, index
entries included, as Cloudflare bills them), the same counter on both sides. Each figure
is the difference between a snapshot after the workload's setup (its things created and
checkpointed) and one after the workload and a `POST /storage/flush` (the checkpoint
the tiers owe, counted; the direct path has none to owe). Latency is measured at the
client (worker and object both in Python, ~4-5 ms of request path), so compare systems
only within one run; rows are counts and do not depend on the machine.

Dollars per million logical writes over every billed dimension of a Durable Object, at
the paid plan's prices past the included amounts
(https://developers.cloudflare.com/durable-objects/platform/pricing/): rows written
$1.00/M, rows read $0.001/M, requests $0.15/M, duration $12.50 per million GB-s at
128 MB per object. Duration is the workload's wall-clock time at the client divided
among its logical writes (the object is active throughout, so billed for all of it):
an upper bound from this machine, where a request costs more than on Cloudflare.

Group commit (strict): each DOStorage object's `/stats` figures `l1.groups_logged`,
`l1.group_writes_logged` and `l1.group_siblings` give the writes a group row carried and
the siblings (other requests in the object) seen when its groups opened; `--commit-delay`
sets the strict object's commit delay (ms, `TierOptions.commit_delay_ms`, through the
harness route `POST /_bench/commit_delay`) instead of the default.

Writes bench-results/<stamp>-storage-rows.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.runtime import LocalRuntime, harness_runtime, new_tenant  # noqa: E402

SYSTEMS = {"direct": "/_direct", "strict": "/_tiered", "relaxed": "/_relaxed"}
"""Each system's path prefix in the harness worker."""

# Cloudflare's Durable Objects pricing, paid plan, past the included amounts.
PRICE_ROWS_WRITTEN = 1.00 / 1e6
PRICE_ROWS_READ = 0.001 / 1e6
PRICE_REQUEST = 0.15 / 1e6
PRICE_GB_S = 12.50 / 1e6
OBJECT_GB = 128 / 1024

TYPE = "Item"
CONNECTIONS = 8
GROUP_FIGURES = (
    "groups_logged",
    "group_writes_logged",
    "group_siblings",
    "groups_delayed",
    "group_delays_expired",
)


@dataclass
class Run:
    """One workload on one system: its logical writes and requests, the rows it cost, the
    acknowledged writes' and reads' latencies (ms), and its wall-clock seconds."""

    writes: int = 0
    requests: int = 0
    rows_written: int = 0
    rows_read: int = 0
    seconds: float = 0.0
    write_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)


class Object:
    """One fresh object of one system, driven through HTTP."""

    def __init__(self, runtime: LocalRuntime, system: str) -> None:
        self.system = system
        self.prefix = SYSTEMS[system]
        self.tenant = new_tenant()
        self.headers = {"host": f"{self.tenant}.localhost"}
        self.client = httpx.Client(base_url=runtime.base_url, headers=self.headers, timeout=120)
        self.base_url = runtime.base_url
        self.run = Run()
        self.l1: dict[str, Any] = {}

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, self.prefix + path, **kwargs)
        if response.status_code >= 300:
            answer = f"{response.status_code} {response.text[:300]}"
            raise RuntimeError(f"{self.system}: {method} {path}: {answer}")
        return response.json()

    def write(self, method: str, path: str, **kwargs: Any) -> Any:
        """A counted request that writes `logical` things (kwarg, default 1), timed."""
        logical = kwargs.pop("logical", 1)
        started = time.perf_counter()
        answer = self.call(method, path, **kwargs)
        self.run.write_ms.append((time.perf_counter() - started) * 1000)
        self.run.writes += logical
        self.run.requests += 1
        return answer

    def read(self, method: str, path: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        answer = self.call(method, path, **kwargs)
        self.run.read_ms.append((time.perf_counter() - started) * 1000)
        self.run.requests += 1
        return answer

    def flush(self) -> None:
        if self.system != "direct":
            self.call("POST", "/storage/flush")

    def counters(self) -> tuple[int, int]:
        stats = self.call("GET", "/stats")
        self.l1 = dict((stats.get("tiers") or {}).get("l1") or {})
        return int(stats["rows_written"]), int(stats["rows_read"])

    def create(self, ids: list[str]) -> None:
        """Setup, not counted: the things in arrays of 500."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            items = [{"$id": thing_id, "n": 0, "g": i % 20} for i, thing_id in enumerate(chunk)]
            self.call("POST", f"/{TYPE}", json=items)

    @contextmanager
    def measured(self) -> Iterator[Run]:
        """Counts what runs inside, the flush after it included."""
        self.flush()
        written, read = self.counters()
        groups_before = self.l1
        started = time.perf_counter()
        yield self.run
        self.run.seconds = time.perf_counter() - started
        self.flush()
        after_written, after_read = self.counters()
        self.run.rows_written, self.run.rows_read = after_written - written, after_read - read
        self.run.groups = {
            name: int(self.l1[name]) - int(groups_before.get(name, 0))
            for name in GROUP_FIGURES
            if name in self.l1
        }

    def version(self, thing_id: str) -> int:
        return int(self.call("GET", f"/{TYPE}/{thing_id}")["$version"])


Workload = Callable[[Object, random.Random, int], None]


def hot_sequential(obj: Object, rng: random.Random, scale: int) -> None:
    """10 things, each updated 100 times, one update a request, one after another."""
    ids = [f"hot-{i}" for i in range(10)]
    obj.create(ids)
    with obj.measured():
        for n in range(100 * scale):
            for thing_id in ids:
                obj.write("PATCH", f"/{TYPE}/{thing_id}", json={"n": n + 1})
    _expect(obj, {thing_id: 1 + 100 * scale for thing_id in ids})


def hot_reads(obj: Object, rng: random.Random, scale: int) -> None:
    """L0 reads: 10 things written once, then read 100 times each, one read a request."""
    ids = [f"hot-{i}" for i in range(10)]
    obj.create(ids)
    for thing_id in ids:  # written through the tiers, so they are in L0 (and in `things`)
        obj.call("PATCH", f"/{TYPE}/{thing_id}", json={"n": 1})
    with obj.measured():
        for _ in range(100 * scale):
            for thing_id in ids:
                obj.read("GET", f"/{TYPE}/{thing_id}")


def hot_concurrent(obj: Object, rng: random.Random, scale: int) -> None:
    """The same 1,000 updates of 10 things from 8 connections at once."""
    ids = [f"hot-{i}" for i in range(10)]
    obj.create(ids)
    total = 1000 * scale

    async def load() -> None:
        limits = httpx.Limits(max_connections=CONNECTIONS)
        async with httpx.AsyncClient(
            base_url=obj.base_url, headers=obj.headers, timeout=120, limits=limits
        ) as client:

            async def worker(number: int) -> None:
                for k in range(number, total, CONNECTIONS):
                    started = time.perf_counter()
                    path = f"{obj.prefix}/{TYPE}/{ids[k % 10]}"
                    response = await client.patch(path, json={"n": k})
                    if response.status_code != 200:
                        answer = f"{response.status_code} {response.text[:300]}"
                        raise RuntimeError(f"{obj.system}: PATCH {path}: {answer}")
                    obj.run.write_ms.append((time.perf_counter() - started) * 1000)
                    obj.run.writes += 1
                    obj.run.requests += 1

            await asyncio.gather(*(worker(number) for number in range(CONNECTIONS)))

    with obj.measured():
        asyncio.run(load())
    _expect(obj, {thing_id: 1 + total // 10 for thing_id in ids})


def batch_hot(obj: Object, rng: random.Random, scale: int) -> None:
    """10 requests of 100 updates each (`things.transaction`), over 10 things (10 each)."""
    ids = [f"hot-{i}" for i in range(10)]
    obj.create(ids)
    with obj.measured():
        for n in range(10 * scale):
            updates = [{"id": ids[k % 10], "patch": {"n": n * 100 + k}} for k in range(100)]
            obj.write("POST", "/_bench/batch", json={"type": TYPE, "updates": updates}, logical=100)
    _expect(obj, {thing_id: 1 + 100 * scale for thing_id in ids})


def batch_distinct(obj: Object, rng: random.Random, scale: int) -> None:
    """10 requests of 100 updates each, every update a different thing (1,000 things)."""
    ids = [f"t-{i}" for i in range(1000)]
    obj.create(ids)
    with obj.measured():
        for n in range(10 * scale):
            chunk = ids[(n % 10) * 100 : (n % 10) * 100 + 100]
            updates = [{"id": thing_id, "patch": {"n": n + 1}} for thing_id in chunk]
            obj.write("POST", "/_bench/batch", json={"type": TYPE, "updates": updates}, logical=100)
    _expect(obj, {ids[0]: 1 + scale, ids[-1]: 1 + scale})


def uniform(obj: Object, rng: random.Random, scale: int) -> None:
    """1,000 things created once each, one create a request."""
    with obj.measured():
        for i in range(1000 * scale):
            obj.write("POST", f"/{TYPE}", json={"$id": f"u-{i}", "n": i, "g": i % 20})
    _expect(obj, {"u-0": 1, f"u-{1000 * scale - 1}": 1})


def mixed(obj: Object, rng: random.Random, scale: int) -> None:
    """1,000 things; 1,000 requests: 80% updates (80% of them on 50 hot things, 5%), 20%
    reads (half a read by id, half a list query, `where` one of 20 groups, limit 20)."""
    ids = [f"m-{i}" for i in range(1000)]
    obj.create(ids)
    hot, cold = ids[:50], ids[50:]
    with obj.measured():
        for n in range(1000 * scale):
            roll = rng.random()
            if roll < 0.8:
                thing_id = rng.choice(hot) if rng.random() < 0.8 else rng.choice(cold)
                obj.write("PATCH", f"/{TYPE}/{thing_id}", json={"n": n})
            elif roll < 0.9:
                obj.read("GET", f"/{TYPE}/{rng.choice(ids)}")
            else:
                where = json.dumps({"g": rng.randrange(20)})
                obj.read("GET", f"/{TYPE}", params={"where": where, "limit": 20})


WORKLOADS: dict[str, Workload] = {
    "hot keys, sequential": hot_sequential,
    f"hot keys, {CONNECTIONS} connections": hot_concurrent,
    "batch of 100, 10 hot things": batch_hot,
    "batch of 100, 100 things": batch_distinct,
    "uniform creates": uniform,
    "mixed": mixed,
    "hot reads (L0)": hot_reads,
}


def _expect(obj: Object, versions: dict[str, int]) -> None:
    """Every acknowledged write is there: each thing at the version its writes reach."""
    for thing_id, version in versions.items():
        got = obj.version(thing_id)
        if got != version:
            raise RuntimeError(f"{obj.system}: {thing_id} is at version {got}, not {version}")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank rule; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def dollars(run: Run) -> tuple[float, float, float, float]:
    """$ per million logical writes: rows written, rows read, requests, duration."""
    per = 1e6 / run.writes
    return (
        run.rows_written * PRICE_ROWS_WRITTEN * per,
        run.rows_read * PRICE_ROWS_READ * per,
        run.requests * PRICE_REQUEST * per,
        run.seconds * OBJECT_GB * PRICE_GB_S * per,
    )


def served(runtime: LocalRuntime, system: str) -> bool:
    """Whether the harness serves `system` (`relaxed` only once DOStorage has the mode)."""
    tenant = new_tenant()
    with httpx.Client(base_url=runtime.base_url, headers={"host": f"{tenant}.localhost"}, timeout=120) as c:
        return c.get(f"{SYSTEMS[system]}/stats").status_code == 200


def report(results: dict[str, dict[str, Run]], systems: list[str], seed: int) -> list[str]:
    lines = [f"Seed {seed}. Rows are SQLite's own counts (`GET /stats`), checkpoints included.", ""]
    lines += [
        "| workload | system | logical writes | requests | rows written | rows / write | vs direct "
        "| rows read / write |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in results.items():
        if name == "hot reads (L0)":
            continue
        base = runs["direct"].rows_written if "direct" in runs else 0
        for system in systems:
            run = runs[system]
            change = "" if system == "direct" else f"{(run.rows_written - base) / base:+.1%}" if base else ""
            lines.append(
                f"| {name} | {system} | {run.writes} | {run.requests} | {run.rows_written} "
                f"| {run.rows_written / run.writes:.3f} | {change} | {run.rows_read / run.writes:.2f} |"
            )
    reads = results.get("hot reads (L0)")
    if reads:
        lines += ["", "| hot reads (L0) | reads | rows read | rows read / read | rows written |"]
        lines += ["| --- | ---: | ---: | ---: | ---: |"]
        for system in systems:
            run = reads[system]
            count = len(run.read_ms)
            lines.append(
                f"| {system} | {count} | {run.rows_read} | {run.rows_read / count:.2f} | {run.rows_written} |"
            )
    lines += ["", "Group commit (strict, DOStorage's `/stats` figures over the workload):", ""]
    lines += ["| workload | groups logged | writes a group | siblings a group | delayed | delays run out |"]
    lines += ["| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, runs in results.items():
        groups = runs["strict"].groups if "strict" in runs else {}
        logged = groups.get("groups_logged", 0)
        if not logged:
            continue
        lines.append(
            f"| {name} | {logged} | {groups['group_writes_logged'] / logged:.2f} "
            f"| {groups['group_siblings'] / logged:.2f} | {groups['groups_delayed']} "
            f"| {groups['group_delays_expired']} |"
        )
    lines += ["", "Latency at the client, ms (same run, interleaved):", ""]
    lines += ["| system | write p50 | write p99 | write p99 at 8 conns | L0 read p50 | L0 read p99 |"]
    lines += ["| --- | ---: | ---: | ---: | ---: | ---: |"]
    for system in systems:
        writes = results["hot keys, sequential"][system].write_ms if "hot keys, sequential" in results else []
        many = results.get(f"hot keys, {CONNECTIONS} connections", {}).get(system)
        read = reads[system].read_ms if reads else []
        lines.append(
            f"| {system} | {percentile(writes, 0.5):.2f} | {percentile(writes, 0.99):.2f} "
            f"| {percentile(many.write_ms if many else [], 0.99):.2f} "
            f"| {percentile(read, 0.5):.2f} | {percentile(read, 0.99):.2f} |"
        )
    lines += ["", "Dollars per million logical writes (paid plan, past the included amounts):", ""]
    lines += ["| workload | system | rows written | rows read | requests | duration (bound) | total |"]
    lines += ["| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, runs in results.items():
        if name == "hot reads (L0)":
            continue
        for system in systems:
            parts = dollars(runs[system])
            cells = " | ".join(f"{part:.4f}" for part in parts)
            lines.append(f"| {name} | {system} | {cells} | {sum(parts):.4f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=11, help="the mixed workload's choices (default 11)")
    parser.add_argument("--scale", type=int, default=1, help="requests times this (default 1)")
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="just these workloads")
    parser.add_argument("--commit-delay", type=int, default=None, help="the strict object's commit delay, ms")
    parser.add_argument("--systems", default=None, help="comma-separated systems (default: every one served)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-storage-"))
    runtime = harness_runtime(base / "state", base / "server.log", out=ROOT / ".dotdo" / "bench-storage-host")
    runtime.start()
    results: dict[str, dict[str, Run]] = {}
    try:
        wanted = args.systems.split(",") if args.systems else list(SYSTEMS)
        systems = [system for system in SYSTEMS if system in wanted and served(runtime, system)]
        for name, workload in WORKLOADS.items():
            if args.only and name not in args.only:
                continue
            results[name] = {}
            for system in systems:
                obj = Object(runtime, system)
                try:
                    obj.call("GET", "/health")  # the object's migrations, not counted
                    if system == "strict" and args.commit_delay is not None:
                        obj.call("POST", "/_bench/commit_delay", json={"ms": args.commit_delay})
                    workload(obj, random.Random(f"{args.seed}/{name}"), args.scale)
                finally:
                    obj.close()
                results[name][system] = obj.run
                run = obj.run
                print(
                    f"{name} / {system}: {run.rows_written} rows written, {run.writes} writes, "
                    f"{run.seconds:.1f} s",
                    flush=True,
                )
    finally:
        runtime.stop()
    lines = report(results, systems, args.seed)
    if args.commit_delay is not None:
        lines[0] += f" Strict commit delay {args.commit_delay} ms."
    print("\n".join(lines))
    write_result("storage-rows", lines)


if __name__ == "__main__":
    main()
