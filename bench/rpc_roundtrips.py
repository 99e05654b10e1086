"""One operation over every RPC surface against the same operation over its plain HTTP
route, in one run (issue 14, item 3).

    .venv/bin/python bench/rpc_roundtrips.py [--repeat 50]

Serves this checkout's app (`./scripts/dev`, DOFull, rate limits off) and reads one state
key, `get("k")`, N times (N = 1, 3, 10) from one client on one keep-alive connection (or
one socket), in turns: N `GET /state/k` requests; N `POST /rpc` calls; one `POST
/rpc/pipeline` holding a batch of N pipelines; N round trips on one `/ws/rpc` socket; N
sequential Cap'n Web calls on one WebSocket (`bench/capnweb_socket.mjs`, the npm `capnweb`
client; it times its own calls). Medians of --repeat, wall-clock at the client. The issue's
bar: a pipeline of 10 calls costs less than 2 single calls. Prints Markdown and writes
bench-results/<stamp>-rpc-roundtrips.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from memory import Server  # noqa: E402 - a sibling of this script
from results import write_result  # noqa: E402

TENANT = "rt"
HOST = {"host": f"{TENANT}.localhost"}


def timed(work: Callable[[], None], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def http_surfaces(client: httpx.Client, calls: int, repeat: int) -> dict[str, float]:
    def route() -> None:
        for _ in range(calls):
            assert client.get("/state/k").status_code == 200

    def rpc() -> None:
        for _ in range(calls):
            answer = client.post("/rpc", json={"method": "get", "params": ["k"]})
            assert answer.status_code == 200 and "result" in answer.json(), answer.text

    batch = [
        {
            "id": f"p{n}",
            "pipeline": {"target": [], "pipeline": [{"type": "method", "name": "get", "args": ["k"]}]},
        }
        for n in range(calls)
    ]

    def pipeline() -> None:
        answer = client.post("/rpc/pipeline", json=batch)
        assert answer.status_code == 200 and all("result" in a for a in answer.json()), answer.text

    return {
        "HTTP route `GET /state/k`, N requests": timed(route, repeat),
        "`POST /rpc`, N requests": timed(rpc, repeat),
        "`POST /rpc/pipeline`, one batch of N": timed(pipeline, repeat),
    }


async def socket_rpc(server: Server, calls: int, repeat: int) -> float:
    url = f"ws://{TENANT}.localhost:{server.port}/ws/rpc"
    async with websockets.connect(url, host="127.0.0.1", port=server.port) as socket:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            for n in range(calls):
                await socket.send(json.dumps({"id": n, "method": "get", "params": ["k"]}))
                answer = json.loads(await socket.recv())
                assert "result" in answer, answer
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def capnweb(server: Server, calls: int, repeat: int) -> float:
    """ms for N sequential Cap'n Web calls (the client's own timing of `repeat * N` calls)."""
    out = subprocess.run(
        ["node", str(ROOT / "bench" / "capnweb_socket.mjs"),
         f"http://{TENANT}.localhost:{server.port}/capnweb", str(repeat * calls)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    per_call = float(json.loads(out.strip().splitlines()[-1])["ms_per_call"])
    return per_call * calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    results: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            server.wait()
            with httpx.Client(base_url=server.url, headers=HOST, timeout=60) as client:
                client.put("/state/k", json={"n": 1, "payload": "x" * 64}).raise_for_status()
                for calls in (1, 3, 10):  # each surface in turn at every N: drift hits all alike
                    for name, ms in http_surfaces(client, calls, args.repeat).items():
                        results[(name, calls)] = ms
                    results[("`/ws/rpc`, N round trips on one socket", calls)] = asyncio.run(
                        socket_rpc(server, calls, args.repeat)
                    )
                    results[("Cap'n Web, N calls on one WebSocket", calls)] = capnweb(
                        server, calls, args.repeat
                    )
                    print(f"N={calls} done", file=sys.stderr, flush=True)
        finally:
            server.stop()
    route = "HTTP route `GET /state/k`, N requests"
    lines = [
        f"`get(\"k\")` N times, medians of {args.repeat} (ms at the client; Cap'n Web: its client's mean):",
        "",
        "| surface | N | ms | ms per call | against the HTTP route |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for (name, calls), ms in results.items():
        lines.append(
            f"| {name} | {calls} | {ms:.2f} | {ms / calls:.2f} | {ms / results[(route, calls)]:.2f}x |"
        )
    single = results[("`POST /rpc`, N requests", 1)]
    batch = results[("`POST /rpc/pipeline`, one batch of N", 10)]
    verdict = "met" if batch < 2 * single else "not met"
    lines += [
        "",
        f"A pipeline batch of 10: {batch:.2f} ms; 2 single `/rpc` calls: {2 * single:.2f} ms ({verdict}).",
    ]
    print("\n".join(lines))
    write_result("rpc-roundtrips", lines)


if __name__ == "__main__":
    main()
