"""What RPC dispatch costs inside the object, under CPython (issue 14, item 3): one
`POST /rpc` call and one `POST /rpc/pipeline` batch of 1, 3 and 10 pipelines, each
`get("k")` on the app's object (as `bench/rpc_roundtrips.py` sends them), driven
in-process through `DOFull.fetch` with the stand-ins of `bench/request_path.py`.

    .venv/bin/python bench/rpc_dispatch.py [--prof]

Then the dispatch alone (`wire.pipeline`, `remote`): a batch parsed, run and written
out on an object whose `get` answers without storage (authorizing each call is left out).

Prints microseconds (CPU time of this process, the fastest of 5 rounds of 1,000: on a
shared machine wall-clock time counts the other processes' turns too) and the Python
function calls a request makes; `--prof` adds a cProfile of the batch of 10, by own time.
Inside workerd the clock stands still while Python runs: this is the proxy for what a
pipelined call costs there (Pyodide runs the same bytecode 2-4x slower).
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent)]

import request_path as rp  # noqa: E402 - a sibling of this script

ROUNDS = 5
REQUESTS = 1000


def batch(calls: int) -> bytes:
    step = {"type": "method", "name": "get", "args": ["k"]}
    body = [{"id": f"p{n}", "pipeline": {"target": [], "pipeline": [step]}} for n in range(calls)]
    return json.dumps(body).encode()


CASES = [
    ("`POST /rpc`, one call", "/rpc", json.dumps({"method": "get", "params": ["k"]}).encode()),
    *((f"`POST /rpc/pipeline`, a batch of {n}", "/rpc/pipeline", batch(n)) for n in (1, 3, 10)),
]


def per_request(obj: Any, path: str, body: bytes) -> float:
    """CPU microseconds a request: the fastest of ROUNDS rounds of REQUESTS requests."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REQUESTS):
            rp.drive(obj.fetch(rp.request("POST", path, body)))
        rounds.append((time.process_time() - started) / REQUESTS * 1e6)
    return min(rounds)


def dispatch_alone(calls: int) -> float:
    """CPU microseconds a batch of `calls` pipelines costs in `wire.pipeline` and `remote`
    alone: parsed, each call resolved, bound, checked and run, the answers written out."""
    from dotdo.remote.marks import rpc
    from dotdo.remote.targets import resolve_target
    from dotdo.wire.codec import dump, loads
    from dotdo.wire.pipeline import parse_pipelines, run_batch

    class Object:
        @rpc(scope="read")
        def get(self, key: str) -> Any:
            return {"n": 1}

    main = Object()
    text = batch(calls).decode()

    def authorize(method: str, scope: str) -> None:
        pass

    async def one() -> None:
        requests, _ = parse_pipelines(loads(text))
        answers = await run_batch(requests, lambda target: resolve_target(main, target), authorize)
        dump([answer for answer, _ in answers])

    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REQUESTS):
            rp.drive(one())
        rounds.append((time.process_time() - started) / REQUESTS * 1e6)
    return min(rounds)


def main() -> None:
    rp.install_runtime()
    logging.disable(logging.WARNING)
    obj = rp.new_object(rp.CtxStandIn("acme"))
    obj.state.set("k", {"n": 1})
    lines = ["| request | status | us a request | Python calls |", "| --- | ---: | ---: | ---: |"]
    for name, path, body in CASES:
        response = rp.drive(obj.fetch(rp.request("POST", path, body)))
        with rp.Calls() as calls:
            rp.drive(obj.fetch(rp.request("POST", path, body)))
        micros = per_request(obj, path, body)
        lines.append(f"| {name} | {rp.response_status(response)} | {micros:.0f} | {calls.python} |")
    lines += ["", "| dispatch alone (`wire.pipeline`, `remote`) | us a batch |", "| --- | ---: |"]
    lines += [f"| a batch of {n} | {dispatch_alone(n):.1f} |" for n in (1, 10)]
    print("\n".join(lines))
    if "--prof" in sys.argv:
        _, path, body = CASES[-1]
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(REQUESTS):
            rp.drive(obj.fetch(rp.request("POST", path, body)))
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(45)
        print(out.getvalue())


if __name__ == "__main__":
    main()
