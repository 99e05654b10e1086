"""Kill -9 DOStorage's local runtime again and again under a write load: every acknowledged
write must survive (strict), or be lost only inside the documented window (relaxed).

    .venv/bin/python bench/storage_crash.py                    # --runs 100 --seed 1
    .venv/bin/python bench/storage_crash.py --mode relaxed --runs 10     # --window-ms 10000

Starts the local runtime on the test harness with a state folder of its own, then runs
`--runs` seeded runs of `tests/storage_crash.py` (its docstring says what a run writes,
how it crashes and what it checks), each on a fresh object of the same runtime and state,
one restart per run. The crashes cycle: half at a seeded moment of the load (a seeded
number of acknowledged writes in, the load still running), the rest at the named fault
points in turn (`storage_group_logged`, `storage_logged`, `storage_in_checkpoint`,
`storage_checkpointed`). With `--mode relaxed` (the harness's `HarnessRelaxed`, logged
every 10 s or 1,000 writes) every run crashes at a seeded time of the load, up to twice
the window, and an acknowledged write may be missing only if it came in the last
`--window-ms` (default 10,000) before the kill.
Run `i` uses seed `<seed>/<i>`, so a failing run is re-run alone with `--first i --runs 1`.

Prints one line per run and a markdown table; writes bench-results/<stamp>-storage-crash.md.
Exits 1 when any run found a problem.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]  # the tests' helpers; the checkout's dotdo

from results import write_result  # noqa: E402 - a sibling of this script
from tests.runtime import harness_runtime  # noqa: E402
from tests.storage_crash import CRASHES, RunResult, crash_run  # noqa: E402

CYCLE = ("moment",) * (len(CRASHES) - 1) + CRASHES[1:]
"""Run i crashes as CYCLE[i % 8]: half at a moment of the load, half at the fault points."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--first", type=int, default=0, help="the first run's number (default 0)")
    parser.add_argument("--seed", default="1")
    parser.add_argument("--mode", choices=("strict", "relaxed"), default="strict")
    parser.add_argument(
        "--window-ms", type=int, default=10_000, help="relaxed: the loss window a crash may cost (ms)"
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="dotdo-bench-crash-"))
    runtime = harness_runtime(base / "state", base / "server.log", out=ROOT / ".dotdo" / "bench-crash-host")
    started = time.monotonic()
    runtime.start()
    results: list[RunResult] = []
    try:
        for i in range(args.first, args.first + args.runs):
            crash = CYCLE[i % len(CYCLE)]
            if args.mode == "relaxed" and crash != "moment":
                crash = "moment"  # relaxed acknowledges before the log: the points say nothing new
            result = crash_run(runtime, f"{args.seed}/{i}", crash, mode=args.mode, window_ms=args.window_ms)
            results.append(result)
            verdict = "ok" if not result.problems and result.reached else "FAILED"
            print(
                f"run {i} ({crash}): {result.acknowledged} acknowledged, "
                f"{result.lost_in_window} lost in the window: {verdict} {result.problems[:3]}",
                flush=True,
            )
    finally:
        runtime.stop()
    minutes = (time.monotonic() - started) / 60
    lines = [
        f"Mode {args.mode}, seed {args.seed}, runs {args.first}..{args.first + args.runs - 1}, "
        f"{minutes:.1f} min on one runtime and state folder.",
        "",
        "| crash at | runs | writes acknowledged | lost (outside any window) | lost inside the window "
        "| half-applied | point not reached |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for crash in CRASHES:
        mine = [r for r in results if r.crash == crash]
        if not mine:
            continue
        lost = sum(1 for r in mine for p in r.problems if p.startswith("acknowledged"))
        half = sum(1 for r in mine for p in r.problems if not p.startswith("acknowledged"))
        lines.append(
            f"| {crash} | {len(mine)} | {sum(r.acknowledged for r in mine)} | {lost} "
            f"| {sum(r.lost_in_window for r in mine)} | {half} | {sum(not r.reached for r in mine)} |"
        )
    print("\n".join(lines))
    write_result("storage-crash", lines)
    if any(r.problems or not r.reached for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
