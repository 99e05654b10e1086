"""CPU time a request costs dotdo's own Python, per route (issue 14, item 1): the request path
of `bench/request_path.py` (DOFull on stand-ins for the runtime, CPython's SQLite behind
`ctx.storage`) driven in-process, so that two versions of the code can be compared on any
machine by running this script in each checkout, in turns.

    .venv/bin/python bench/route_time.py [--routes "state get" "thing create"] [--things 2000]
        [--requests 2000] [--profile]

Prints microseconds of CPU time (`time.process_time`) a request, after 200 requests of
warm-up. Under Pyodide the same bytecode runs 2-4x slower and each crossing into JavaScript
costs more, so this is a proxy for what the object spends, not a prediction of req/s.
`thing create` sends a fresh `$id` each time; each route runs on an object of its own, seeded
and flushed. `--profile` adds a cProfile by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

import request_path as rp  # noqa: E402


def timed(obj: object, route: tuple[str, str, str, bytes], requests: int, start: int) -> float:
    """Microseconds of CPU time a request of `route`, over `requests` of them."""
    name, method, path, body = route

    def one(i: int) -> Any:
        sent = rp.CUSTOMER.replace(b"c-00001", f"z-{i}".encode()) if name == "thing create" else body
        return rp.drive(obj.fetch(rp.request(method, path, sent)))  # type: ignore[attr-defined]

    for i in range(200):
        status = rp.response_status(one(start + i))
        if status >= 400:  # an error answers faster than the route: never time one
            raise SystemExit(f"{name}: {method} {path} answered {status}")
    began = time.process_time()
    for i in range(requests):
        one(start + 200 + i)
    return (time.process_time() - began) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routes", nargs="+", default=[route[0] for route in rp.ROUTES])
    parser.add_argument("--things", type=int, default=2000, help="customers seeded, then flushed")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    rp.install_runtime()
    print("| route | us a request (CPU, CPython) |")
    print("| --- | ---: |")
    for index, name in enumerate(args.routes):
        (route,) = [route for route in rp.ROUTES if route[0] == name]
        # An object of its own per route: the creates of one route would otherwise sit
        # unflushed under the next one's lists (the overlay, ADR 0030).
        obj = rp.new_object(rp.CtxStandIn(f"acme-{index}"))
        rp.seed(obj, args.things)
        obj.flush()
        print(f"| {name} | {timed(obj, route, args.requests, index * 1_000_000):.0f} |")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            timed(obj, route, args.requests, index * 1_000_000 + 500_000)
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(40)
            print(out.getvalue())


if __name__ == "__main__":
    main()
