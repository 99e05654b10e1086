"""RPC latency: an N-step pipeline in one request against N sequential requests, and
WebSocket RPC round trips and messages per second.

    .venv/bin/python bench/rpc.py [--repeat 50]

Runs on the test harness (tests/harness/wrangler.toml), whose HarnessSemantic class
has `chain()` returning an RpcTarget whose `next()` returns the next link, and
`echo(value)`. One client, one keep-alive connection, on loopback; medians of
--repeat. Writes bench-results/<stamp>-rpc.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.runtime import (  # noqa: E402 - the project root goes on the path first
    LocalRuntime,
    harness_runtime,
    new_tenant,
)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def pipeline_latency(client: httpx.Client, steps: int, repeat: int) -> tuple[float, float]:
    chain = [{"type": "method", "name": "chain", "args": []}]
    chain += [{"type": "method", "name": "next", "args": []} for _ in range(steps - 1)]
    chain.append({"type": "property", "name": "value"})  # a link goes back by reference: read its value
    body = {"pipeline": {"target": [], "pipeline": chain}}
    one, sequential = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        assert client.post("/_semantic/rpc/pipeline", json=body).status_code == 200
        one.append(time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(steps):
            assert client.post("/_semantic/rpc", json={"method": "echo", "params": [n]}).status_code == 200
        sequential.append(time.perf_counter() - started)
    return median_ms(one), median_ms(sequential)


async def websocket_numbers(
    runtime: LocalRuntime, tenant: str, repeat: int, burst: int
) -> tuple[float, float]:
    url = f"ws://{tenant}.localhost:{runtime.port}/_semantic/ws/rpc"
    async with websockets.connect(url, host="127.0.0.1", port=runtime.port) as socket:
        round_trips = []
        for n in range(repeat):
            started = time.perf_counter()
            await socket.send(json.dumps({"id": n, "method": "echo", "params": [n]}))
            await socket.recv()
            round_trips.append(time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(burst):
            await socket.send(json.dumps({"id": n, "method": "echo", "params": [n]}))
        for _ in range(burst):
            answer = json.loads(await socket.recv())
            assert "result" in answer, answer
        rate = burst / (time.perf_counter() - started)
    return median_ms(round_trips), rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-rpc-"))
    runtime = harness_runtime(base / "state", base / "server.log")
    runtime.start()
    tenant = new_tenant()
    lines = ["| measurement | N | median ms | against |", "| --- | ---: | ---: | --- |"]
    try:
        with httpx.Client(
            base_url=runtime.base_url, headers={"host": f"{tenant}.localhost"}, timeout=30
        ) as client:
            client.post("/_semantic/rpc", json={"method": "echo", "params": [0]})  # wake the object
            for steps in (1, 3, 10):
                one, sequential = pipeline_latency(client, steps, args.repeat)
                row = f"| pipeline of N calls, one request | {steps} | {one:.2f} |"
                lines.append(f"{row} {sequential:.2f} ms for N requests |")
                print(lines[-1], flush=True)
        round_trip, rate = asyncio.run(websocket_numbers(runtime, tenant, args.repeat * 4, args.burst))
        lines.append(f"| WebSocket RPC round trip | 1 | {round_trip:.2f} | |")
        lines.append(
            f"| WebSocket RPC, {args.burst} messages in flight | {args.burst} | | {rate:.0f} messages/s |"
        )
        print("\n".join(lines[-2:]), flush=True)
    finally:
        runtime.stop()
    write_result("rpc", lines)


if __name__ == "__main__":
    main()
