"""A new object's first request against an existing object's first request after a restart,
on the local runtime (issue 14 item 7, and every new tenant's first request).

    .venv/bin/python bench/first_wake.py [--pairs 10] [--rounds 3]

Starts the local runtime on the test harness (`DOTDO`: DOFull), makes `--pairs` objects
(one `GET /health` each), restarts the server (so every object is built again from its
stored tables on its next request), then times, in turns, the first `GET /health` of an
object that has never existed (its constructor runs the schema's creation) and the first
`GET /health` of one made before the restart (its constructor reads the schema's versions
and migrates nothing), `--pairs` of each a round, `--rounds` rounds each after its own
restart. Wall-clock at the client, so the request's trip through the worker is in both;
the difference is the constructor's. Prints a Markdown table (median and spread in ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from tests.runtime import harness_runtime, new_tenant  # noqa: E402 - the project root goes on the path first


def first_health(port: int, tenant: str) -> float:
    """Milliseconds of the tenant's `GET /health` (a fresh connection each time)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"host": f"{tenant}.localhost"}) as client:
        started = time.perf_counter()
        response = client.get("/health", timeout=60)
        took = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{tenant}: {response.status_code} {response.text[:200]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    new: list[float] = []
    existing: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        runtime = harness_runtime(base / "state", base / "server.log", out=base / "host")
        runtime.start()
        try:
            for _ in range(args.rounds):
                made = [new_tenant() for _ in range(args.pairs)]
                for tenant in made:
                    first_health(runtime.port, tenant)
                runtime.restart()  # every object is built again on its next request
                for tenant in made:  # in turns, so that the machine's drift hits both alike
                    new.append(first_health(runtime.port, new_tenant()))
                    existing.append(first_health(runtime.port, tenant))
        finally:
            runtime.stop()
    print("| first request of | requests | median ms | min ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, times in (("a new object", new), ("an existing object, after a restart", existing)):
        median, low, high = statistics.median(times), min(times), max(times)
        print(f"| {name} | {len(times)} | {median:.1f} | {low:.1f} | {high:.1f} |")


if __name__ == "__main__":
    main()
