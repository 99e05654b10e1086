"""Query latency against the number of things, with and without an index.

    .venv/bin/python bench/query_curve.py [--sizes 1000,10000,100000] [--repeat 40] [--only regex]

Starts the app on the local runtime (`./scripts/dev`, empty state), and for each
size seeds two tenants with the same customers through `POST /Customer` (arrays
of 500): one where `Customer` is registered with indexes on `email` and `age`
first, one without. Then it times each query (median and p90 of --repeat
requests, one connection, wall-clock at the client) and writes a markdown table
to bench-results/<stamp>-query-curve.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from results import write_result

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500

QUERIES = {
    "email = (1 match)": lambda n: {"where": json.dumps({"email": f"c{n // 2}@example.com"})},
    "age range (2.5%), limit 20, total": lambda n: {
        "where": json.dumps({"age": {"$gte": 40, "$lt": 42}}),
        "limit": "20",
    },
    "age range (2.5%), limit 20, total=false": lambda n: {
        "where": json.dumps({"age": {"$gte": 40, "$lt": 42}}),
        "limit": "20",
        "total": "false",
    },
    "unindexed tier = (no match, full scan)": lambda n: {"where": json.dumps({"tier": "none"})},
    "email $regex (evaluated in Python, 1 match)": lambda n: {
        "where": json.dumps({"email": {"$regex": f"^c{n // 2}@"}}),
        "total": "false",
    },
}


def seed(client: httpx.Client, n: int) -> None:
    for start in range(0, n, BATCH):
        batch = [
            {
                "name": f"c{i}",
                "email": f"c{i}@example.com",
                "age": i % 80,
                "tier": ["free", "pro", "team"][i % 3],
            }
            for i in range(start, min(n, start + BATCH))
        ]
        response = client.post("/Customer", json=batch)
        response.raise_for_status()


def time_query(client: httpx.Client, params: dict[str, str], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get("/Customer", params=params)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--only", default="", help="run only the queries whose name contains this")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    queries = {name: params for name, params in QUERIES.items() if args.only in name}
    state = tempfile.mkdtemp(prefix="dotdo-curve-")
    server = subprocess.Popen(
        [
            "./scripts/dev",
            "--port",
            str(args.port),
            "--persist-to",
            state,
            "--no-watch",
            "--log-level",
            "warn",
            "--var",
            "RATE_LIMIT_REQUESTS=off",  # one caller, many requests: measure queries, not the limiter
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "WRANGLER_SEND_METRICS": "false"},
    )
    rows = []
    try:
        base = f"http://127.0.0.1:{args.port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if (
                    httpx.get(f"{base}/health", headers={"host": "probe.localhost"}, timeout=30).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        for n in sizes:
            for indexed in (True, False):
                tenant = f"curve-{n}-{'idx' if indexed else 'plain'}"
                with httpx.Client(
                    base_url=base, headers={"host": f"{tenant}.localhost"}, timeout=300
                ) as client:
                    if indexed:
                        client.post(
                            "/nouns", json={"name": "Customer", "indexes": ["email", "age"]}
                        ).raise_for_status()
                    started = time.perf_counter()
                    seed(client, n)
                    seeded_s = time.perf_counter() - started
                    print(
                        f"seeded {n} things ({'indexed' if indexed else 'no index'}) in {seeded_s:.1f} s",
                        flush=True,
                    )
                    for name, params in queries.items():
                        time_query(client, params(n), 3)  # warm the object and SQLite's page cache
                        p50, p90 = time_query(client, params(n), args.repeat)
                        rows.append((n, indexed, name, p50, p90))
                        print(f"  {name}: p50 {p50:.2f} ms, p90 {p90:.2f} ms", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    lines = ["| things | index | query | p50 ms | p90 ms |", "| ---: | --- | --- | ---: | ---: |"]
    lines += [f"| {n} | {'yes' if i else 'no'} | {q} | {p50:.2f} | {p90:.2f} |" for n, i, q, p50, p90 in rows]
    print("\n".join(lines))
    write_result("query-curve", lines)


if __name__ == "__main__":
    main()
