"""DOStorage killed (SIGKILL to the local runtime's whole process group) in the middle of a
write load and started again on the same storage, run after run: what it acknowledged
must be there and nothing may be half-applied. `bench/storage_crash.py` runs a hundred
seeded runs; `tests/integration/test_storage_crash.py` a few.

One run, on a fresh object of the harness's `HarnessTiered` (strict durability):

1. three hot things `h-0..h-2` created (acknowledged before the load);
2. a seeded load from `WORKERS` connections, each write recorded once its 2xx arrived:
   a create, a batch create of three things (one request, all or nothing), an update of
   a hot thing, a batch update of `h-0` and `h-1` together (`POST /_bench/batch`), a
   create and a hard delete;
3. the crash: either at a seeded moment (once the load has acknowledged a seeded number
   of writes, the load still running), or at a named fault point (`dotdo.core.faults`,
   armed over `POST /_test/fault` once the load stopped at its seeded count): after a
   group commit's log row committed and before its requests are answered
   (`storage_group_logged`, a `PATCH`), after a write's own log row committed and before
   its answer (`storage_logged`, a batch update with a state key: a write with another
   table is logged at once), inside a checkpoint (`storage_in_checkpoint`), or between a
   checkpoint and moving the log's mark (`storage_checkpointed`), the kill coming once
   the server log says the point was reached;
4. the runtime started again on the same state, and the checks:
   - every acknowledged write is there (created things answer, updated fields are
     there at least at the acknowledged version, deleted things answer 404);
   - nothing is half-applied: a batch create's three things all there or none, a
     batch update's field on both hot things or neither, and every thing agrees with
     its events (`$version` is the number of its events, its last event is not a
     deletion; a hard-deleted thing's last event is its deletion).

Relaxed durability (`mode="relaxed"`, on `HarnessRelaxed`) acknowledges before the log
row: a crash may lose the writes of the last `window_ms` before it, and no others. Such a
run crashes at a seeded time (1 s to twice the window into the load), and the check
becomes "every acknowledged write older than the window is there", the rest unchanged.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.runtime import LocalRuntime, new_tenant

__all__ = ["CRASHES", "HOT", "PREFIXES", "RunResult", "crash_run"]

WORKERS = 4
HOT = ("h-0", "h-1", "h-2")
TYPE = "Item"
PREFIXES = {"strict": "/_tiered", "relaxed": "/_relaxed"}
CRASHES = (
    "moment",
    "storage_group_logged",
    "storage_logged",
    "storage_in_checkpoint",
    "storage_checkpointed",
)
"""How a run crashes: at a seeded moment of the load, or at one of the named fault points."""


@dataclass
class Ack:
    """One acknowledged write: its kind, its key, what to find afterwards, when (monotonic s)."""

    kind: str
    key: str
    value: Any
    at: float


@dataclass
class RunResult:
    """What one run did and found: `problems` is empty when every check held."""

    seed: str
    crash: str
    acknowledged: int = 0
    in_window: int = 0
    lost_in_window: int = 0
    reached: bool = True
    problems: list[str] = field(default_factory=list)


Write = Callable[[httpx.AsyncClient, str, str], Awaitable[Ack | None]]


async def _create(c: httpx.AsyncClient, prefix: str, key: str) -> Ack | None:
    r = await c.post(f"{prefix}/{TYPE}", json={"$id": f"c-{key}", "n": 1})
    return Ack("create", key, f"c-{key}", 0) if r.status_code == 201 else None


async def _batch_create(c: httpx.AsyncClient, prefix: str, key: str) -> Ack | None:
    ids = [f"b-{key}-{i}" for i in range(3)]
    r = await c.post(f"{prefix}/{TYPE}", json=[{"$id": thing_id} for thing_id in ids])
    return Ack("batch_create", key, ids, 0) if r.status_code == 201 else None


async def _update(c: httpx.AsyncClient, prefix: str, key: str) -> Ack | None:
    thing_id = HOT[int(key.rsplit("-", 1)[-1]) % 3]
    r = await c.patch(f"{prefix}/{TYPE}/{thing_id}", json={f"k{key}": 1})
    if r.status_code != 200:
        return None
    return Ack("update", key, (thing_id, int(r.json()["$version"])), 0)


async def _batch_update(c: httpx.AsyncClient, prefix: str, key: str) -> Ack | None:
    updates = [{"id": thing_id, "patch": {f"u{key}": 1}} for thing_id in HOT[:2]]
    r = await c.post(f"{prefix}/_bench/batch", json={"type": TYPE, "updates": updates})
    return Ack("batch_update", key, r.json()["versions"], 0) if r.status_code == 200 else None


async def _delete(c: httpx.AsyncClient, prefix: str, key: str) -> Ack | None:
    if (await c.post(f"{prefix}/{TYPE}", json={"$id": f"d-{key}"})).status_code != 201:
        return None
    r = await c.delete(f"{prefix}/{TYPE}/d-{key}", params={"hard": "true"})
    return Ack("delete", key, f"d-{key}", 0) if r.status_code == 200 else None


WRITES: dict[str, Write] = {
    "create": _create,
    "batch_create": _batch_create,
    "update": _update,
    "batch_update": _batch_update,
    "delete": _delete,
}


def _load(
    base_url: str, headers: dict[str, str], prefix: str, seed: str, stop: threading.Event, acks: list[Ack]
) -> None:
    """WORKERS connections writing until `stop`; each acknowledged write appended to `acks`."""

    async def worker(c: httpx.AsyncClient, number: int) -> None:
        rng = random.Random(f"{seed}/worker-{number}")
        kinds = sorted(WRITES)
        for n in range(100_000):
            if stop.is_set():
                return
            try:
                ack = await WRITES[rng.choice(kinds)](c, prefix, f"{number}-{n}")
            except (httpx.HTTPError, ValueError):
                return  # the server went away under this request: not acknowledged
            if ack is not None:
                ack.at = time.monotonic()
                acks.append(ack)

    async def run() -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as c:
            await asyncio.gather(*(worker(c, number) for number in range(WORKERS)))

    asyncio.run(run())


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def crash_run(
    runtime: LocalRuntime, seed: str, crash: str, *, mode: str = "strict", window_ms: int = 0
) -> RunResult:
    """One run (see the module docstring) on `runtime`, which it leaves started."""
    prefix = PREFIXES[mode]
    rng = random.Random(seed)
    result = RunResult(seed, crash)
    tenant = new_tenant()
    headers = {"host": f"{tenant}.localhost"}
    with httpx.Client(base_url=runtime.base_url, headers=headers, timeout=60) as c:
        for thing_id in HOT:
            r = c.post(f"{prefix}/{TYPE}", json={"$id": thing_id})
            if r.status_code != 201:
                raise RuntimeError(f"setup: {r.status_code} {r.text}")
        acks: list[Ack] = [Ack("create", thing_id, thing_id, time.monotonic()) for thing_id in HOT]
        stop = threading.Event()
        loader = threading.Thread(target=_load, args=(runtime.base_url, headers, prefix, seed, stop, acks))
        target = len(HOT) + rng.randint(3, 60)
        # Relaxed: a seeded time (some runs past the loss window, so that older writes must
        # survive); strict: a seeded number of acknowledged writes.
        until = time.monotonic() + rng.uniform(1, 2 * window_ms / 1000) if mode == "relaxed" else None
        loader.start()
        try:
            if until is None:
                _wait(lambda: len(acks) >= target or not loader.is_alive(), 120, "the load never got going")
            else:
                _wait(lambda: time.monotonic() >= until or not loader.is_alive(), 120, "no end")
        except TimeoutError:
            stop.set()
            raise
        if crash == "moment":
            runtime.crash()
            killed_at = time.monotonic()
            stop.set()
            loader.join(timeout=120)
        else:
            stop.set()
            loader.join(timeout=120)
            result.reached = _crash_at(runtime, c, prefix, crash)
            killed_at = time.monotonic()
    runtime.start()
    result.acknowledged = len(acks)
    with httpx.Client(base_url=runtime.base_url, headers=headers, timeout=60) as c:
        _check(c, prefix, acks, result, killed_at - window_ms / 1000 if mode == "relaxed" else None)
    return result


def _crash_at(runtime: LocalRuntime, c: httpx.Client, prefix: str, point: str) -> bool:
    """Arm `point`, send the write that reaches it (never answered), kill the runtime once
    the server log says it was reached; whether it was (the runtime is killed either way)."""
    if point == "storage_group_logged":  # a request's thing write: logged with its group
        detail = str(int(c.get(f"{prefix}/_bench/log").json()["last_seq"]) + 1)
        request: tuple[str, str, Any] = ("PATCH", f"{prefix}/{TYPE}/{HOT[2]}", {"pending": 1})
    elif point == "storage_logged":  # a write with another table's row: logged at once
        detail = str(int(c.get(f"{prefix}/_bench/log").json()["last_seq"]) + 1)
        updates = [{"id": HOT[2], "patch": {"pending": 1}}]
        body = {"type": TYPE, "updates": updates, "state": {"key": "pending", "value": 1}}
        request = ("POST", f"{prefix}/_bench/batch", body)
    elif point == "storage_in_checkpoint":
        c.patch(f"{prefix}/{TYPE}/{HOT[2]}", json={"dirty": 1}).raise_for_status()  # dirty, acknowledged
        detail = HOT[2]
        request = ("POST", f"{prefix}/storage/flush", None)
    else:
        c.patch(f"{prefix}/{TYPE}/{HOT[2]}", json={"dirty": 1}).raise_for_status()
        detail = str(c.get(f"{prefix}/stats").json()["tiers"]["l0"]["dirty"])
        request = ("POST", f"{prefix}/storage/flush", None)
    offset = runtime.log_offset()
    armed = c.post(f"{prefix}/_test/fault", json={"point": f"{point}:{detail}"})
    if armed.status_code != 200:
        raise RuntimeError(f"arming {point}:{detail}: {armed.status_code} {armed.text}")
    method, path, body = request

    def send() -> None:
        try:
            with httpx.Client(base_url=runtime.base_url, headers=c.headers, timeout=120) as own:
                own.request(method, path, json=body)
        except httpx.HTTPError:
            pass  # killed under it: never answered

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    marker = f"fault point {point}:{detail} reached"
    try:
        _wait(lambda: marker in runtime.log_since(offset), 30, f"{marker!r} never logged")
        reached = True
    except TimeoutError:
        reached = False
    runtime.crash()
    sender.join(timeout=30)
    return reached


def _read(c: httpx.Client, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET `path`, asked again after a timeout: the check's reads change nothing, and a
    runtime just restarted on a loaded machine may take longer than one timeout to boot."""
    for attempt in range(3):
        try:
            return c.get(path, params=params)
        except httpx.TimeoutException:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _everything(c: httpx.Client, path: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        r = _read(c, path, {**params, **({"cursor": cursor} if cursor else {})})
        r.raise_for_status()
        page = r.json()
        items += page["items"]
        cursor = page.get("cursor")
        if not cursor:
            return items


def _things(c: httpx.Client, path: str) -> list[Any]:
    items: list[Any] = []
    while True:
        r = _read(c, path, {"limit": 200, "offset": len(items), "total": "false"})
        r.raise_for_status()
        page = r.json()
        items += page["items"]
        if not page["has_more"]:
            return items


def _check(
    c: httpx.Client, prefix: str, acks: list[Ack], result: RunResult, window_from: float | None
) -> None:
    """Every acknowledged write there (those after `window_from` excepted: relaxed mode's
    loss window), nothing half-applied; what failed goes to `result.problems`."""
    things = {thing["$id"]: thing for thing in _things(c, f"{prefix}/{TYPE}")}
    events: dict[str, list[dict[str, Any]]] = {}
    lifecycle = {f"{TYPE}.{verb}" for verb in ("created", "updated", "deleted", "restored")}
    for event in _everything(c, f"{prefix}/events", type=f"{TYPE}.*", limit=500):
        if event["type"] in lifecycle:  # a thing's own writes (a relation's event is not one)
            events.setdefault(str(event["subject"]).split("/", 1)[-1], []).append(event)
    problems = result.problems

    def there(ack: Ack, ok: bool) -> None:
        excused = window_from is not None and ack.at > window_from
        result.in_window += excused
        if not ok:
            if excused:
                result.lost_in_window += 1
            else:
                problems.append(f"acknowledged {ack.kind} {ack.key} is missing")

    for ack in acks:
        if ack.kind == "create":
            there(ack, ack.value in things)
        elif ack.kind == "batch_create":
            there(ack, all(thing_id in things for thing_id in ack.value))
        elif ack.kind == "update":
            thing_id, version = ack.value
            thing = things.get(thing_id, {})
            there(ack, f"k{ack.key}" in thing and thing["$version"] >= version)
        elif ack.kind == "batch_update":
            there(ack, all(f"u{ack.key}" in things.get(thing_id, {}) for thing_id in HOT[:2]))
        else:
            there(ack, ack.value not in things)
    batches: dict[str, int] = {}
    for thing_id in things:
        if thing_id.startswith("b-"):
            batch = thing_id.rsplit("-", 1)[0]
            batches[batch] = batches.get(batch, 0) + 1
    problems += [f"batch {batch} is half there: {n} of 3" for batch, n in batches.items() if n != 3]
    first, second = (
        {name for name in things.get(thing_id, {}) if name.startswith("u")} for thing_id in HOT[:2]
    )
    if first != second:
        problems.append(f"a batch update is on one hot thing only: {sorted(first ^ second)}")
    for thing_id, thing in things.items():
        mine = events.get(thing_id, [])
        if len(mine) != thing["$version"] or mine[-1]["type"] == f"{TYPE}.deleted":
            problems.append(
                f"{thing_id} at version {thing['$version']} has events {[e['type'] for e in mine]}"
            )
    for thing_id, mine in events.items():
        if thing_id not in things and mine[-1]["type"] != f"{TYPE}.deleted":
            problems.append(f"{thing_id} is gone but its last event is {mine[-1]['type']}")
