"""Where a request's time goes, in counts that do not depend on the machine's load
(issue 14, item 1): run the app's request path in-process under CPython and count

- crossings: every attribute read, call and iteration step dotdo makes on a runtime
  (JavaScript) object: the request and its headers, `ctx` and `ctx.storage.sql` and its
  cursors, the namespace and stub in the worker, plus what the `workers` SDK does inside
  the calls dotdo makes (`Request.headers` iterates the JS Headers and builds an
  `http.client.HTTPMessage`; `Response(...)` converts its headers, body and options).
  On Pyodide each one is a trip through the FFI: a proxy lookup and a conversion;
- Python function calls and builtin (C) calls per request (`sys.setprofile` events);
- SQL statements per request: `exec` calls, each one crossing (a text of several statements,
  such as a new object's baseline, is one call: the runtime runs them all);
- loop callbacks: what the request hands the event loop (`call_soon`: a task's next step, a
  future's done callback). Under Pyodide each is a macrotask of its own, a trip out of
  Python and back through the runtime's event loop (a task the runtime makes for `fetch`
  and each awaited JavaScript promise add theirs there, which the stand-ins here do not);
- the constructor's work on every wake (an object built on storage it already has:
  statements, crossings, calls) and the Python heap one object holds (`tracemalloc`).

    .venv/bin/python bench/request_path.py            # Markdown tables on stdout

The runtime objects are stand-ins (`tests/storage.py`'s SQLite for `ctx.storage`, fakes
for the request and the SDK); what is counted is dotdo's own use of them, so a change to
dotdo's request path shows here exactly, run after run. The SDK's per-call costs follow
`workers-runtime-sdk` 1.9.5 (`python_modules/workers/request.py`, `response.py`,
`utils.py`): `Request.url` 2 crossings, `Request.headers` 2 + 3 per header,
`Request.bytes()` 4, `Response(str body, status, headers)` 4 + 1 per header. Where dotdo
builds the JavaScript `Response` itself (`new Response(body, init)`): `to_js` 1, its
`dict_converter` 1 per dict converted, the constructor 1.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tracemalloc
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("DOTDO_SRC", ROOT / "src")).resolve()
"""The dotdo measured: this checkout's, or another's (`DOTDO_SRC=/tmp/old/src`) for a before/after."""
sys.path[:0] = [str(ROOT), str(SOURCE)]
STAND_INS = (str(ROOT / "bench"), str(ROOT / "tests"))

CROSSINGS: defaultdict[str, int] = defaultdict(int)
"""Crossings by kind since the last reset (a defaultdict: counting calls no Python function)."""


# -- stand-ins for the runtime ------------------------------------------------


class JsException(Exception):
    pass


class Counted:
    """A JavaScript object seen from Python: every attribute read, call and iteration
    step is one crossing, counted under `label`."""

    def __init__(self, target: Any, label: str) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        CROSSINGS[f"{self._label}.{name}"] += 1
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type):
            label = f"{self._label}.{name}()"

            def call(*args: Any, **kwargs: Any) -> Any:
                CROSSINGS[label] += 1
                return wrap(value(*args, **kwargs), label)

            return call
        return wrap(value, f"{self._label}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        CROSSINGS[f"{self._label}.{name}="] += 1
        setattr(self._target, name, value)

    def __iter__(self) -> Iterator[Any]:
        for item in self._target:
            CROSSINGS[f"{self._label} iteration"] += 1
            yield item


def wrap(value: Any, label: str) -> Any:
    if value is None or isinstance(value, str | int | float | bool | bytes | list | dict | tuple):
        return value
    if isinstance(value, Coroutine):
        return value
    return Counted(value, label)


class CountedCursor:
    """A `ctx.storage.sql.exec` cursor: `toArray()` converts every row (one crossing for
    the call, the rows converted by the SDK), `rowsWritten` one read."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def toArray(self) -> list[dict[str, Any]]:  # noqa: N802 - the runtime's name
        CROSSINGS["cursor.toArray()"] += 1
        CROSSINGS["cursor rows converted"] += len(self._cursor.toArray())
        return list(self._cursor.toArray())

    @property
    def rowsWritten(self) -> int:  # noqa: N802 - the runtime's name
        CROSSINGS["cursor.rowsWritten"] += 1
        return int(self._cursor.rowsWritten)

    @property
    def rowsRead(self) -> int:  # noqa: N802 - the runtime's name
        CROSSINGS["cursor.rowsRead"] += 1
        return int(self._cursor.rowsRead)

    @property
    def columnNames(self) -> list[str]:  # noqa: N802 - the runtime's name
        CROSSINGS["cursor.columnNames"] += 1
        return list(self._cursor.columnNames)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self._cursor:
            CROSSINGS["cursor iteration"] += 1
            yield row


class SqlStandIn:
    def __init__(self, sql: Any) -> None:
        self._sql = sql
        self.statements = 0

    def exec(self, query: str, *params: Any) -> CountedCursor:
        CROSSINGS["sql.exec()"] += 1
        CROSSINGS["sql.exec() parameters converted"] += len(params)
        self.statements += 1
        return CountedCursor(self._sql.exec(query, *params))


class StorageStandIn:
    """`ctx.storage` over tests/storage.py, its `sql` counted."""

    def __init__(self) -> None:
        from tests.storage import Storage

        self._storage = Storage()
        self.sql = SqlStandIn(self._storage.sql)

    def transactionSync(self, callback: Callable[[], Any]) -> Any:  # noqa: N802 - the runtime's name
        CROSSINGS["storage.transactionSync()"] += 1
        return self._storage.transactionSync(callback)

    def getAlarm(self) -> Any:  # noqa: N802
        CROSSINGS["storage.getAlarm()"] += 1
        return self._storage.getAlarm()

    def setAlarm(self, at: int) -> Any:  # noqa: N802
        CROSSINGS["storage.setAlarm()"] += 1
        return self._storage.setAlarm(at)

    def deleteAlarm(self) -> Any:  # noqa: N802
        CROSSINGS["storage.deleteAlarm()"] += 1
        return self._storage.deleteAlarm()


class CtxStandIn:
    def __init__(self, name: str) -> None:
        self.storage = StorageStandIn()
        self.id = types.SimpleNamespace(name=name)

    def getWebSockets(self, tag: str | None = None) -> list[Any]:  # noqa: N802
        CROSSINGS["ctx.getWebSockets()"] += 1
        return []

    def acceptWebSocket(self, ws: Any, tags: Any) -> None:  # noqa: N802
        pass

    def waitUntil(self, awaitable: Any) -> None:  # noqa: N802
        pass


class JsHeaders:
    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = {k.lower(): v for k, v in pairs.items()}

    def __iter__(self) -> Iterator[list[str]]:
        return iter([[k, v] for k, v in self._pairs.items()])

    def get(self, name: str) -> str | None:
        return self._pairs.get(name.lower())

    def getSetCookie(self) -> list[str]:  # noqa: N802
        return []


class JsBuffer:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.byteLength = len(data)

    def to_bytes(self) -> bytes:
        return self._data


class JsRequest:
    def __init__(self, method: str, url: str, headers: dict[str, str], body: bytes = b"") -> None:
        self.method = method
        self.url = url
        self.headers = JsHeaders(headers)
        self.body = object() if body else None
        self.bodyUsed = False
        self._data = body

    async def arrayBuffer(self) -> Any:  # noqa: N802
        self.bodyUsed = True
        return Counted(JsBuffer(self._data), "request body")

    def clone(self) -> JsRequest:
        return self


class SdkRequest:
    """`workers.Request` over a counted JS request, crossing where the SDK does."""

    def __init__(self, js_request: Any) -> None:
        self._js_request = js_request

    @property
    def js_object(self) -> Any:
        return self._js_request

    @property
    def url(self) -> str:
        return str(self._js_request.url)

    @property
    def method(self) -> str:
        return str(self._js_request.method)

    @property
    def body(self) -> Any:
        return self._js_request.body

    @property
    def headers(self) -> Any:
        import http.client

        message = http.client.HTTPMessage()
        for key, value in self._js_request.headers:
            CROSSINGS["SDK Request.headers: entry unpacked"] += 2
            message[key] = value.strip()
        return message

    async def bytes(self) -> bytes:
        if self._js_request.bodyUsed:
            raise OSError("Body already used")
        buffer = await self._js_request.arrayBuffer()
        return bytes(buffer.to_bytes())


class SdkResponse:
    """`workers.Response`: what its constructor converts (options, headers, body, url)."""

    def __init__(
        self, body: Any = None, status: int | None = None, headers: Any = None, web_socket: Any = None
    ):
        CROSSINGS["SDK Response(): constructor name of the body"] += 1
        if headers:
            CROSSINGS["SDK Response(): js.Headers.new()"] += 1
            CROSSINGS["SDK Response(): header items iterated"] += len(headers)
        CROSSINGS["SDK Response(): js.Response.new() with options"] += 1
        CROSSINGS["SDK Response(): .url read back"] += 1
        self.body, self.status, self.headers = body, status, headers


class JsEntries:
    """`Object.fromEntries(...)`: a plain JS object, converted in one `to_py()`."""

    def __init__(self, pairs: Any) -> None:
        target = object.__getattribute__(pairs, "_target") if isinstance(pairs, Counted) else pairs
        self._dict = {k: v for k, v in target}  # iterated inside JavaScript: no crossing

    def to_py(self) -> dict[str, Any]:
        return dict(self._dict)


class JsObjectStandIn:
    @staticmethod
    def fromEntries(pairs: Any) -> JsEntries:  # noqa: N802 - the runtime's name
        return JsEntries(pairs)


class JsResponseStandIn:
    """`js.Response`: `new(body, init)` is the JavaScript constructor, called once."""

    @staticmethod
    def new(body: Any, init: Any) -> Any:
        return types.SimpleNamespace(body=body, status=init["status"], headers=init["headers"])


def to_js_stand_in(value: Any, dict_converter: Any = None, **_: Any) -> Any:
    """`pyodide.ffi.to_js`: one call from Python, converting the whole value in C; the
    `dict_converter` (a JavaScript function) is called once per dict, which counts as a
    crossing each."""
    CROSSINGS["to_js()"] += 1

    def dicts(item: Any) -> int:
        if isinstance(item, dict):
            return 1 + sum(dicts(v) for v in item.values())
        return sum(dicts(v) for v in item) if isinstance(item, list | tuple) else 0

    if dict_converter is not None:
        CROSSINGS["to_js(): dict_converter called"] += dicts(value)
    return value


def response_status(response: Any) -> int:
    """The status of what `fetch` returned (a JS Response stand-in or the SDK's), uncounted."""
    target = object.__getattribute__(response, "_target") if isinstance(response, Counted) else response
    return int(target.status)


class DurableObjectStandIn:
    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


class WorkerEntrypointStandIn:
    def __init__(self, ctx: Any, env: Any) -> None:
        self.ctx = ctx
        self.env = env


def install_runtime() -> None:
    """`workers`, `pyodide.ffi` and `js` as far as dotdo's request path uses them."""
    workers = types.ModuleType("workers")
    workers.DurableObject = DurableObjectStandIn  # type: ignore[attr-defined]
    workers.WorkerEntrypoint = WorkerEntrypointStandIn  # type: ignore[attr-defined]
    workers.Response = SdkResponse  # type: ignore[attr-defined]
    workers.Request = SdkRequest  # type: ignore[attr-defined]
    pyodide = types.ModuleType("pyodide")
    ffi = types.ModuleType("pyodide.ffi")
    ffi.JsException = JsException  # type: ignore[attr-defined]
    ffi.to_js = to_js_stand_in  # type: ignore[attr-defined]
    ffi.create_proxy = lambda value, **_: value  # type: ignore[attr-defined]
    ffi.create_once_callable = lambda value, **_: value  # type: ignore[attr-defined]
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    js = types.ModuleType("js")
    js.Object = Counted(JsObjectStandIn(), "js.Object")  # type: ignore[attr-defined]
    js.Response = Counted(JsResponseStandIn(), "js.Response")  # type: ignore[attr-defined]
    sys.modules.update({"workers": workers, "pyodide": pyodide, "pyodide.ffi": ffi, "js": js})


# -- measuring ------------------------------------------------------------------


LOOP = asyncio.new_event_loop()
TURNS = [0]
"""Callbacks the loop was handed (`call_soon`: a task's next step, a future's done callback)
since the last reset. Pyodide's loop runs each as a macrotask of its own (`setTimeout`,
or a `MessageChannel` message where there is one) and adds one more a future or task
(its `_decrement_in_progress` done callback)."""


def _counted(call_soon: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        TURNS[0] += 1
        return call_soon(*args, **kwargs)

    return call


LOOP.call_soon = _counted(LOOP.call_soon)  # type: ignore[method-assign]


def drive(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on the one event loop (the runtime also runs each request on one)."""
    return LOOP.run_until_complete(coroutine)


class Calls:
    """Python function calls and builtin calls while active (`sys.setprofile`): `dotdo`
    counts functions of the measured dotdo, `python` every Python function (the standard
    library's and asyncio's included) but the stand-ins', `builtin` calls of C functions."""

    def __init__(self) -> None:
        self.dotdo = 0
        self.python = 0
        self.builtin = 0
        self.functions: Counter[str] = Counter()

    def __enter__(self) -> Calls:
        source = str(SOURCE)

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                filename = frame.f_code.co_filename
                if filename.startswith(STAND_INS):
                    return
                self.python += 1
                if filename.startswith(source):
                    self.dotdo += 1
                self.functions[f"{Path(filename).name}:{frame.f_code.co_name}"] += 1
            elif event == "c_call":
                self.builtin += 1

        sys.setprofile(profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)


HOST = "acme.localhost"
CUSTOMER = (
    b'{"$id":"c-00001","name":"Customer 1","email":"user1@example.com","age":55,"tier":"pro",'
    b'"tags":["alpha","beta"],"address":{"city":"Lisbon","zip":"1000-001"},"notes":"seeded"}'
)
WHERE = "%7B%22age%22%3A%7B%22%24gt%22%3A30%7D%7D"
SCAN = "%7B%22tier%22%3A%22platinum%22%7D"
HEADERS = {"host": HOST, "user-agent": "wrk", "accept": "*/*"}

ROUTES: list[tuple[str, str, str, bytes]] = [
    ("state get", "GET", "/state/k-0001", b""),
    ("state put", "PUT", "/state/k-0001", b'{"n":1,"payload":"xxxxxxxxxxxxxxxx"}'),
    ("thing create", "POST", "/Customer", b""),  # body made per request: a fresh $id
    ("get by id", "GET", "/Customer/c-00001", b""),
    ("list where, limit 20", "GET", f"/Customer?where={WHERE}&limit=20", b""),
    ("list, full scan", "GET", f"/Customer?where={SCAN}&limit=20", b""),
    ("state list, limit 20", "GET", "/state?limit=20", b""),
    ("events list, limit 20", "GET", "/events?type=Customer.created&limit=20", b""),
    ("audit list, limit 20", "GET", "/actions?limit=20", b""),
]


def new_object(ctx: CtxStandIn) -> Any:
    from dotdo import DOFull

    env = types.SimpleNamespace(
        ENVIRONMENT="development", RATE_LIMIT_REQUESTS="off", RATE_LIMIT_MESSAGES="off"
    )
    return DOFull(ctx, env)


def seed(obj: Any, things: int) -> None:
    for i in range(things):
        thing = {
            "$id": f"c-{i:05d}",
            "age": 18 + (i * 37) % 70,
            "tier": "platinum" if i % 1000 == 0 else "pro",
        }
        obj.things.create("Customer", thing)
    obj.state.set("k-0001", {"n": 0})
    for i in range(2, 31):  # a page of the state list, and of the audit log, and more
        obj.state.set(f"k-{i:04d}", {"n": i, "payload": "x" * 16})
        obj.actions.record(f"Customer/c-{i:05d}", "review", None, {"n": i})


def request(method: str, path: str, body: bytes) -> SdkRequest:
    headers = dict(HEADERS)
    if body:
        headers["content-type"] = "application/json"
        headers["content-length"] = str(len(body))
    return SdkRequest(Counted(JsRequest(method, f"http://{HOST}{path}", headers, body), "request"))


def measure_object(things: int) -> list[str]:
    ctx = CtxStandIn("acme")
    obj = new_object(ctx)
    seed(obj, things)
    lines = [
        f"Per request, in the object (DOFull, {things:,} customers seeded), "
        "the 2nd of two identical requests:",
        "",
        "| route | status | crossings | SQL statements | rows converted | loop callbacks | dotdo calls "
        "| Python calls | builtin calls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    detail: dict[str, tuple[dict[str, int], Counter[str]]] = {}
    for n, (name, method, path, body) in enumerate(ROUTES):
        for attempt in range(2):
            if name == "thing create":
                body = CUSTOMER.replace(b"c-00001", f"n-{n}-{attempt}".encode())
            CROSSINGS.clear()
            TURNS[0] = 0
            before = ctx.storage.sql.statements
            with Calls() as calls:
                response = drive(obj.fetch(request(method, path, body)))
        statements = ctx.storage.sql.statements - before
        rows = CROSSINGS["cursor rows converted"]
        total = sum(v for k, v in CROSSINGS.items() if k != "cursor rows converted")
        lines.append(
            f"| {name} | {response_status(response)} | {total} | {statements} | {rows} | {TURNS[0]} "
            f"| {calls.dotdo} | {calls.python} | {calls.builtin} |"
        )
        detail[name] = (dict(CROSSINGS), calls.functions)
    lines += [
        "",
        "Crossings by kind (the same requests):",
        "",
        "| route | crossings by kind |",
        "| --- | --- |",
    ]
    for name, (crossings, _) in detail.items():
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(crossings.items()) if k != "cursor rows converted")
        lines.append(f"| {name} | {kinds} |")
    lines += ["", "Python functions called most (state get):", "", "| function | calls |", "| --- | ---: |"]
    for function, count in detail["state get"][1].most_common(25):
        lines.append(f"| `{function}` | {count} |")
    return lines


def measure_worker() -> list[str]:
    from dotdo.worker import forward_to_tenant

    class Stub:
        async def fetch(self, request: Any) -> str:
            return "answered"

    class Namespace:
        def idFromName(self, name: str) -> str:  # noqa: N802
            return name

        def get(self, object_id: str) -> Stub:
            return Stub()

        def getByName(self, name: str) -> Stub:  # noqa: N802 - the runtime's name
            return Stub()

    env = Counted(types.SimpleNamespace(ENVIRONMENT="production"), "env")
    namespace = Counted(Namespace(), "namespace")
    lines = [
        "| worker request | crossings | dotdo calls | Python calls | builtin calls |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, method, path in (
        ("GET /state/k", "GET", "/state/k-0001"),
        ("list", "GET", f"/Customer?where={WHERE}"),
    ):
        for _ in range(2):
            CROSSINGS.clear()
            with Calls() as calls:
                drive(forward_to_tenant(request(method, path, b""), namespace, env=env))
        total = sum(CROSSINGS.values())
        lines.append(f"| {name} | {total} | {calls.dotdo} | {calls.python} | {calls.builtin} |")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(CROSSINGS.items()))
    lines += ["", f"Crossings by kind: {kinds}."]
    return lines


def measure_constructor() -> list[str]:
    ctx = CtxStandIn("acme")
    CROSSINGS.clear()
    with Calls() as first:
        obj = new_object(ctx)
    first_crossings, first_statements = sum(CROSSINGS.values()), ctx.storage.sql.statements
    first_transactions = CROSSINGS.get("storage.transactionSync()", 0)
    drive(obj.fetch(request("GET", "/state/k-0001", b"")))
    seed(obj, 10)
    del obj
    CROSSINGS.clear()
    before = ctx.storage.sql.statements
    with Calls() as wake:
        obj = new_object(ctx)
    wake_crossings, wake_statements = sum(CROSSINGS.values()), ctx.storage.sql.statements - before
    wake_transactions = CROSSINGS.get("storage.transactionSync()", 0)
    wake_kinds = dict(CROSSINGS)
    del obj
    tracemalloc.start()
    snapshot = tracemalloc.take_snapshot()
    objects = [new_object(ctx) for _ in range(20)]
    grown = tracemalloc.take_snapshot().compare_to(snapshot, "filename")
    tracemalloc.stop()
    per_object = sum(stat.size_diff for stat in grown) / len(objects)
    lines = [
        "| constructor | crossings | SQL statements | transactions | dotdo calls | Python calls "
        "| builtin calls |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| first start (empty storage: the baseline) | {first_crossings} | {first_statements} | "
        f"{first_transactions} | {first.dotdo} | {first.python} | {first.builtin} |",
        f"| every later wake (migrated storage) | {wake_crossings} | {wake_statements} | "
        f"{wake_transactions} | {wake.dotdo} | {wake.python} | {wake.builtin} |",
        "",
        "Crossings of a wake: " + ", ".join(f"{k} {v}" for k, v in sorted(wake_kinds.items())) + ".",
        "",
        f"Python heap held by one more DOFull object on migrated storage (tracemalloc, CPython, mean of "
        f"{len(objects)}): {per_object / 1024:.1f} KiB.",
        "",
        "Python functions called most on a wake:",
        "",
        "| function | calls |",
        "| --- | ---: |",
    ]
    lines += [f"| `{function}` | {count} |" for function, count in wake.functions.most_common(15)]
    return lines


def main() -> None:
    install_runtime()
    import logging

    logging.disable(logging.WARNING)
    sections = [
        ("The passthrough worker (`dotdo.worker.forward_to_tenant`)", measure_worker()),
        ("The object (`DOCore.fetch`, router, handler, response)", measure_object(200)),
        ("The constructor", measure_constructor()),
    ]
    out = []
    for title, lines in sections:
        out += [f"### {title}", "", *lines, ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
