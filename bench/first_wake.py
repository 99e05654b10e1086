"""A new object's first request against an existing object's first request after a restart,
on the local runtime (issue 14 item 7, and every new tenant's first request).

    .venv/bin/python bench/first_wake.py [--pairs 10] [--rounds 3]
    .venv/bin/python bench/first_wake.py --cpython [--rounds 200]

Starts the local runtime on the test harness (`DOTDO`: DOFull), makes `--pairs` objects
(one `GET /health` each), restarts the server (so every object is built again from its
stored tables on its next request), then times, in turns, the first `GET /health` of an
object that has never existed (its constructor runs the schema's creation) and the first
`GET /health` of one made before the restart (its constructor reads the schema's versions
and migrates nothing), `--pairs` of each a round, `--rounds` rounds each after its own
restart. Wall-clock at the client, so the request's trip through the worker is in both;
the difference is the constructor's. Prints a Markdown table (median and spread in ms).

`--cpython` times the constructor itself under CPython instead, with the stand-ins of
`bench/request_path.py` (`DOTDO_SRC=/other/src` measures another checkout's dotdo): a
DOFull object on empty storage against one on storage it migrated before, in turns,
`--rounds` of each.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo


def first_health(port: int, tenant: str) -> float:
    """Milliseconds of the tenant's `GET /health` (a fresh connection each time)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"host": f"{tenant}.localhost"}) as client:
        started = time.perf_counter()
        response = client.get("/health", timeout=60)
        took = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{tenant}: {response.status_code} {response.text[:200]}")
    return took


def on_runtime(pairs: int, rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds of new objects' and existing objects' first `GET /health`, in turns."""
    from tests.runtime import harness_runtime, new_tenant

    new: list[float] = []
    existing: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        runtime = harness_runtime(base / "state", base / "server.log", out=base / "host")
        runtime.start()
        try:
            for _ in range(rounds):
                made = [new_tenant() for _ in range(pairs)]
                for tenant in made:
                    first_health(runtime.port, tenant)
                runtime.restart()  # every object is built again on its next request
                for tenant in made:  # in turns, so that the machine's drift hits both alike
                    new.append(first_health(runtime.port, new_tenant()))
                    existing.append(first_health(runtime.port, tenant))
        finally:
            runtime.stop()
    return new, existing


def on_cpython(rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds of DOFull's constructor on empty and on migrated storage, in turns."""
    sys.path.insert(0, str(ROOT / "bench"))
    import request_path  # sets the path to the dotdo measured (DOTDO_SRC)

    request_path.install_runtime()
    logging.disable(logging.WARNING)
    migrated = request_path.CtxStandIn("acme")
    request_path.new_object(migrated)
    new: list[float] = []
    existing: list[float] = []
    for _ in range(rounds):
        empty = request_path.CtxStandIn("acme")
        started = time.perf_counter()
        request_path.new_object(empty)
        new.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        request_path.new_object(migrated)
        existing.append((time.perf_counter() - started) * 1000)
    return new, existing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpython", action="store_true", help="the constructor under CPython")
    args = parser.parse_args()
    if args.cpython:
        new, existing = on_cpython(args.rounds)
    else:
        new, existing = on_runtime(args.pairs, args.rounds)
    names = ("a new object", "an existing object, after a restart")
    if args.cpython:
        names = ("DOFull() on empty storage", "DOFull() on migrated storage")
    print("| what | runs | median ms | min ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in zip(names, (new, existing), strict=True):
        median, low, high = statistics.median(times), min(times), max(times)
        print(f"| {name} | {len(times)} | {median:.2f} | {low:.2f} | {high:.2f} |")


if __name__ == "__main__":
    main()
