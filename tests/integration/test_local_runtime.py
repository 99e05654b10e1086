"""The local runtime serving a small project of its own (not the harness): what the app prints
reaches the output, an app that fails to import says so with its real file path instead of
serving 500s after "Ready", `dotdo dev` reloads a saved app and restarts on a config change,
vendored modules load from the bytecode the build compiled for them, and the runtime ends
with the process that started it, even one killed with SIGKILL."""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.project import Project
from dotdo.localrt.vendoring import vendor
from dotdo.testing import LocalRuntime, free_port
from tests.runtime import ROOT

WRANGLER = """name = "tiny"
main = "src/entry.py"
compatibility_date = "2026-05-01"
compatibility_flags = ["python_workers"]

[[durable_objects.bindings]]
name = "TINY"
class_name = "Tiny"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Tiny"]
"""

ENTRY = """import sys

from workers import DurableObject, Response, WorkerEntrypoint

print("printed at import")


class Tiny(DurableObject):
    async def fetch(self, request):
        print("printed by the object")
        print("written to stderr", file=sys.stderr)
        return Response("tiny")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        namespace = self.env.TINY
        return await namespace.get(namespace.idFromName("one")).fetch(request)
"""


def _project(root: Path, entry: str = ENTRY) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "entry.py").write_text(entry)
    (root / "wrangler.toml").write_text(WRANGLER)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "tiny"\ndependencies = ["workers-runtime-sdk>=1.9.5"]\n'
    )
    return root


def _runtime(root: Path) -> LocalRuntime:
    return LocalRuntime(root, state_dir=root / "state-outside", log_path=root / "server.log")


def test_prints_reach_the_output(tmp_path: Path) -> None:
    runtime = _runtime(_project(tmp_path / "tiny"))
    runtime.start()
    try:
        with runtime.client() as client:
            assert client.get("/").text == "tiny"
        deadline = time.monotonic() + 30
        while "written to stderr" not in runtime.log_tail(200):
            assert time.monotonic() < deadline, runtime.log_tail(200)
            time.sleep(0.1)
        log = runtime.log_tail(200)
        assert "printed at import" in log
        assert "printed by the object" in log
    finally:
        runtime.stop()


def test_an_app_that_fails_to_import_is_reported_with_its_real_path(tmp_path: Path) -> None:
    root = _project(
        tmp_path / "broken", ENTRY.replace("class Tiny(DurableObject):", "class Tiny(DurableObject)")
    )
    runtime = _runtime(root)
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start()
    message = str(raised.value)
    assert "the app failed to import" in message
    assert f'File "{root / "src" / "entry.py"}", line 8' in message
    assert "SyntaxError" in message
    assert "Ready on" not in message
    # the server's report alone: not twice, nor with the probe's own request line
    assert message.count("the app failed to import") == 1, message
    assert "[wrangler:" not in message and "not ready" not in message, message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            ('compatibility_date = "2026-05-01"', 'compatibility_date = "2099-01-01"'),
            'wrangler.toml: compatibility_date "2099-01-01" is in the future: use today\'s or an earlier one',
        ),
        (
            ('name = "tiny"', 'name = "Bad Name!"'),
            'wrangler.toml: Expected "name" to be of type string, alphanumeric and lowercase with dashes '
            'only but got "Bad Name!"',
        ),
        (
            # the build's refusal read "the local runtime exited:" and the log's end
            ('compatibility_date = "2026-05-01"', 'compatibility_date = "2024-04-02"'),
            'wrangler.toml: compatibility_date "2024-04-02" is older than 2024-04-03, the oldest '
            "the local runtime serves Python on: use a newer one",
        ),
        (
            # Pyodide's FFI needs FinalizationRegistry: the host's boot crashed inside workerd
            # ("FinalizationRegistry is not defined"), which `dotdo test` never showed.
            ('["python_workers"]', '["python_workers", "disable_weak_ref"]'),
            'wrangler.toml: compatibility_flags names "disable_weak_ref", but the Python runtime '
            "(Pyodide) needs WeakRef and FinalizationRegistry: remove it",
        ),
    ],
)
def test_a_config_wrangler_refuses_is_said_in_one_line_at_once(
    tmp_path: Path, change: tuple[str, str], reason: str
) -> None:
    """A date in the future hung the start for its whole timeout (180 s) with no reason; a
    name wrangler refuses said "An error occurred when starting the server", the reason in
    wrangler's log file alone, and "did not start" twice."""
    root = _project(tmp_path / "refused")
    config = root / "wrangler.toml"
    config.write_text(config.read_text().replace(*change))
    began = time.monotonic()
    with pytest.raises(LocalRuntimeError) as raised:
        _runtime(root).start(timeout=120)
    assert str(raised.value) == reason
    assert time.monotonic() - began < 90


def test_a_date_newer_than_the_bundled_workerd_serves_is_said_in_one_line(tmp_path: Path) -> None:
    """workerd's refusal ("This Worker requires compatibility date ..., but the newest date
    supported by this server binary is ...") came only as "The Workers runtime failed to
    start. There is likely additional logging output above." (a date up to today, which is
    no date in the future)."""
    released = json.loads((ROOT / "node_modules" / "workerd" / "package.json").read_text())["version"]
    yesterday = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)
    release = datetime.datetime.strptime(released.split(".")[1], "%Y%m%d").date()
    if yesterday < release + datetime.timedelta(days=60):
        pytest.skip(f"the bundled workerd (released {release}) may serve {yesterday}")
    root = _project(tmp_path / "newer")
    config = root / "wrangler.toml"
    config.write_text(config.read_text().replace("2026-05-01", yesterday.isoformat()))
    with pytest.raises(LocalRuntimeError) as raised:
        _runtime(root).start(timeout=120)
    assert re.fullmatch(
        rf'wrangler.toml: compatibility_date "{yesterday}" is newer than (\d{{4}}-\d\d-\d\d), the newest '
        r"the local runtime's workerd serves: use \1 or an earlier one",
        str(raised.value),
    ), str(raised.value)


def _wait_for(log: Path, text: str, count: int = 1, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while True:
        content = log.read_text(errors="replace")
        if content.count(text) >= count:
            return content
        assert time.monotonic() < deadline, f"no {text!r} in:\n{content}"
        time.sleep(0.2)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


CONTROL_TOKEN = "test-control-token"
"""The dev server's token for its own commands (server.mjs), so that a test may send `standby`."""
STANDBY_HEADERS = {"x-dotdo-local-runtime": "standby", "x-dotdo-local-runtime-token": CONTROL_TOKEN}


@contextlib.contextmanager
def _dotdo_dev(
    root: Path, log: Path, *args: str, preexec_fn: Callable[[], None] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`dotdo dev --port <a free one> --persist-to src/state *args` serving `root`, its
    output in `log`, in a session of its own: (its process, the port). Ended as Ctrl-C ends
    it (SIGINT to its session; nothing if it is gone already), which must work within 60 s:
    else it is killed and the test fails."""
    port = free_port()
    command = [sys.executable, "-m", "dotdo", "dev", "--port", str(port), "--persist-to", "src/state"]
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [*command, *args],
            cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={
                **os.environ,
                "WRANGLER_SEND_METRICS": "false",
                "PYTHONPATH": str(ROOT / "src"),
                "DOTDO_LOCAL_CONTROL_TOKEN": CONTROL_TOKEN,
            },
            preexec_fn=preexec_fn,
        )  # fmt: skip
    try:
        yield dev, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(dev.pid, signal.SIGINT)
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
            raise AssertionError("dotdo dev did not end on SIGINT") from None


@contextlib.contextmanager
def _dev_client(
    root: Path, log: Path, timeout: float = 60
) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """`_dotdo_dev(root, log)` and an httpx client of its port: (its process, the client)."""
    with (
        _dotdo_dev(root, log) as (dev, port),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as client,
    ):
        yield dev, client


def test_a_bound_class_left_out_of_all_is_named_with_the_fix(tmp_path: Path) -> None:
    root = _project(tmp_path / "unlisted", ENTRY + '\n__all__ = ["Default"]\n')
    runtime = _runtime(root)
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start()
    assert "defines 'Tiny'" in str(raised.value) and "add 'Tiny' to __all__" in str(raised.value)


def test_a_default_that_is_no_worker_entrypoint_fails_the_start(tmp_path: Path) -> None:
    """Every request answered a bare 500 while the server said "Ready", and `dotdo test`
    waited its whole 180 s: the entry's `Default` is checked where its classes are."""
    entry = ENTRY.replace("class Default(WorkerEntrypoint):", "class Default:")
    runtime = _runtime(_project(tmp_path / "nodefault", entry))
    began = time.monotonic()
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start()
    assert time.monotonic() - began < 90
    assert "Default is the class Default, not a WorkerEntrypoint subclass" in str(raised.value)


BY_OBJECT_HEADER = """

class Default(WorkerEntrypoint):
    async def fetch(self, request):
        namespace = self.env.TINY
        name = request.headers.get("x-object") or "one"
        return await namespace.get(namespace.idFromName(name)).fetch(request)
"""
"""The entrypoint of the test apps below: the object named by the request's `x-object`."""


COUNTER = (
    """import js
from workers import DurableObject, Response, WorkerEntrypoint

try:
    from helper import WORD
except ImportError:
    WORD = "no helper"


class Tiny(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (n INTEGER)")
        self.served = 0  # in memory: a new instance starts again from 0

    async def fetch(self, request):
        if request.headers.get("upgrade") == "websocket":
            client, server = js.WebSocketPair.new().object_values()
            self.ctx.acceptWebSocket(server)  # hibernatable: workerd holds it, not the instance
            return Response(None, status=101, web_socket=client)
        self.served += 1
        self.ctx.storage.sql.exec("INSERT INTO hits VALUES (1)")
        hits = self.ctx.storage.sql.exec("SELECT count(*) AS n FROM hits").one().n
        return Response(f"v1 {WORD} hits={hits} served={self.served}")

    async def webSocketMessage(self, ws, message):
        ws.send(f"v1 {WORD} heard {message}")

"""
    + BY_OBJECT_HEADER
)


def test_dotdo_dev_reloads_a_saved_app_and_reports_a_broken_one(tmp_path: Path) -> None:
    """A save in the main module's folder is served without a restart (ADR 0060): by new
    code, a new instance of each object (its in-memory state gone, as after an eviction),
    the object's storage and its hibernatable WebSocket kept, a deleted module gone; a
    broken save is reported and answers `app_import_failed` until the next; a save in
    another root inside the folder (`--python-root`, shipped precompiled) and a config
    change still restart."""
    root = _project(tmp_path / "dev", COUNTER)
    (root / "src" / "helper.py").write_text('WORD = "helped"\n')
    (root / "src" / "lib").mkdir()
    (root / "src" / "lib" / "shared.py").write_text("SHARED = 1\n")
    log = tmp_path / "dev.log"
    entry = root / "src" / "entry.py"
    # As a shell without job control starts a background command: SIGINT ignored, and the
    # SIGINT that ends it (`_dotdo_dev`) must work even so.
    with _dotdo_dev(root, log, "--python-root", "src/lib", preexec_fn=_ignore_sigint) as (_, port):
        _wait_for(log, "Ready on")
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
            websockets.sync.client.connect(f"ws://127.0.0.1:{port}/", open_timeout=60) as ws,
        ):
            assert client.get("/").text == "v1 helped hits=1 served=1"
            assert client.get("/").text == "v1 helped hits=2 served=2"
            ws.send("one")
            assert ws.recv(timeout=60) == "v1 helped heard one"
            entry.write_text(COUNTER.replace('f"v1 ', 'f"v1 (').replace('served}")', "served})"))
            content = _wait_for(log, "the app failed to import")
            assert f'File "{entry}"' in content
            answer = client.get("/")
            assert answer.status_code == 500
            assert answer.json()["error"]["code"] == "app_import_failed"
            # What to fix, and where: the error's last line and the place the traceback names.
            message = answer.json()["error"]["message"]
            assert message.startswith("The app failed to import: SyntaxError: "), message
            assert f"({entry}, line " in message, message
            (root / "src" / "helper.py").unlink()
            entry.write_text(COUNTER.replace('f"v1 ', 'f"v2 '))
            _wait_for(log, "reloaded, the app imported in")
            assert client.get("/").text == "v2 no helper hits=3 served=1"
            ws.send("two")  # the same socket, answered by the new code
            assert ws.recv(timeout=60) == "v2 no helper heard two"
            # The next reload's interpreter boots after the answer to the request that asks
            # for it: requests meanwhile are answered (a GET was held and a POST answered 503
            # "Your worker restarted mid-request" when they met a boot inside a request).
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                standby = pool.submit(client.get, "/", headers=STANDBY_HEADERS)
                time.sleep(0.3)  # the boot has begun
                assert client.post("/").text == "v2 no helper hits=4 served=2"
                fresh = client.post("/", headers={"x-object": "fresh"})  # built during the boot
                assert fresh.text == "v2 no helper hits=1 served=1"
                assert client.get("/").text == "v2 no helper hits=5 served=3"
                assert standby.result().json() == {"ok": True}
            (root / "src" / "lib" / "shared.py").write_text("SHARED = 2\n")
            _wait_for(log, "restarted, Python and the app loaded in")
            assert client.get("/").text == "v2 no helper hits=6 served=1"
            (root / "wrangler.toml").write_text(WRANGLER + "\n")
            _wait_for(log, "restarted, Python and the app loaded in", count=2)
            assert client.get("/").text == "v2 no helper hits=7 served=1"
        content = log.read_text()
        assert content.count("app sources changed, reloading") == 2
        # the files it restarts for named: which save was seen ("sources changed" alone)
        assert content.count("sources changed (src/lib/shared.py), restarting") == 1, content
        assert content.count("sources changed (wrangler.toml), restarting") == 1, content


BUILT = (
    """from workers import DurableObject, Response, WorkerEntrypoint

BROKEN = True


class Tiny(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS built (n INTEGER)")
        ctx.storage.sql.exec("INSERT INTO built VALUES (1)")
        if BROKEN:
            raise ValueError("Route patterns start with '/': 'queue'")

    async def fetch(self, request):
        built = self.ctx.storage.sql.exec("SELECT count(*) AS n FROM built").one().n
        return Response(f"built={built}")

"""
    + BY_OBJECT_HEADER
)


def test_dotdo_dev_reports_an_object_whose_code_raises_when_built(tmp_path: Path) -> None:
    """An app that imports but whose objects raise when built (a bad route pattern in
    `routes()`) said "Ready", and the error came only with the first request. Found by
    building an instance in an object no tenant names, whose storage is then emptied: the
    objects' code runs in none of the app's."""
    root = _project(tmp_path / "built", BUILT)
    log = tmp_path / "dev.log"
    entry = root / "src" / "entry.py"
    with _dotdo_dev(root, log) as (_, port):
        content = _wait_for(log, "dotdo: not ready: ")
        said = "dotdo: building an object of Tiny raised ValueError: Route patterns start with '/': 'queue'"
        assert said in content
        assert f'File "{entry}", line 12, in __init__' in content
        assert "Ready on" not in content
        assert "dotdo: not ready: every request to an object of Tiny fails until a change is saved" in content
        entry.write_text(BUILT.replace("BROKEN = True", "BROKEN = False"))
        _wait_for(log, "reloaded, the app imported in")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            assert client.get("/").text == "built=1"
            # built by each probe, emptied after it: this request's instance alone
            assert client.get("/", headers={"x-object": "__dotdo_probe"}).text == "built=1"
        entry.write_text(BUILT)
        content = _wait_for(log, "dotdo: not ready: ", count=2)
        assert content.count(said) == 2
        assert content.count("Ready on") == 1


WORDS = """from workers import DurableObject, Response, WorkerEntrypoint

from words import WORD


class Tiny(DurableObject):
    async def fetch(self, request):
        return Response(WORD)


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        namespace = self.env.TINY
        return await namespace.get(namespace.idFromName("one")).fetch(request)
"""


def test_dotdo_dev_reloads_the_sources_as_saved_and_skips_an_editors_lock_file(tmp_path: Path) -> None:
    """A reload imports each source's bytes as a restart does: a latin-1 module (PEP 263) was
    read as UTF-8 and served 'cafï¿½'. Emacs's lock file `.#entry.py`, a link to nothing made
    as soon as a buffer is edited, ended `dotdo dev` itself, then failed every save's build
    until it went; it is skipped, a link to nothing being no file to ship."""
    root = _project(tmp_path / "words", WORDS)
    words = root / "src" / "words.py"
    words.write_text('WORD = "plain"\n')
    log = tmp_path / "dev.log"
    with _dev_client(root, log) as (dev, client):
        _wait_for(log, "Ready on")
        assert client.get("/").text == "plain"
        words.write_bytes(b'# -*- coding: latin-1 -*-\nWORD = "caf\xe9"\n')
        _wait_for(log, "reloaded, the app imported in")
        assert client.get("/").text == "café"
        lock = root / "src" / ".#entry.py"
        lock.symlink_to("someone@host.123:1700000000")
        _wait_for(log, "as last reloaded; nothing to do")
        words.write_text('WORD = "edited"\n')  # saved while the lock is there
        _wait_for(log, "reloaded, the app imported in", count=2)
        assert client.get("/").text == "edited"
        lock.unlink()
        words.write_text('WORD = "back"\n')
        _wait_for(log, "reloaded, the app imported in", count=3)
        assert client.get("/").text == "back"
        assert dev.poll() is None, log.read_text()
        assert "could not be read" not in log.read_text()


def test_dotdo_dev_skips_a_restart_when_nothing_a_restart_reads_changed(tmp_path: Path) -> None:
    """A restart asked for by a save that changed nothing the runtime was built from (an
    editor's save of an unchanged buffer, the second of two saves whose first restart's build
    read both) does nothing; the next real change restarts as before."""
    root = _project(tmp_path / "same")
    log = tmp_path / "dev.log"
    config = root / "wrangler.toml"
    with _dev_client(root, log) as (_, client):
        _wait_for(log, "Ready on")
        assert client.get("/").text == "tiny"
        config.write_text(WRANGLER)  # the same bytes
        _wait_for(log, "nothing a restart reads changed since the runtime started; nothing to do", timeout=60)
        assert client.get("/").text == "tiny"
        config.write_text(
            WRANGLER.replace('compatibility_date = "2026-05-01"', 'compatibility_date = "2026-05-02"')
        )
        _wait_for(log, "restarted, Python and the app loaded in")
        assert client.get("/").text == "tiny"
    content = log.read_text()
    assert content.count("sources changed (wrangler.toml), restarting") == 1, content
    assert content.index("nothing to do") < content.index("sources changed (wrangler.toml), restarting")


HITS = """from pyodide.ffi import to_js
from workers import DurableObject, Response, WorkerEntrypoint

from spin import SPUN


class Tiny(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS hits (n INTEGER)")

    async def fetch(self, request):
        if request.method == "POST":
            self.ctx.storage.sql.exec("INSERT INTO hits VALUES (1)")
        hits = self.ctx.storage.sql.exec("SELECT count(*) AS n FROM hits").one().n
        return Response(f"{SPUN} hits={hits}")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        namespace = self.env.TINY
        stub = namespace.get(namespace.idFromName("one"))
        if request.headers.get("x-call"):  # an app's call of an object's method by name, as /fanout's
            files = to_js([[request.headers.get("x-file"), request.headers.get("x-content")]])
            try:
                await getattr(stub, request.headers.get("x-call"))("mine", files)
            except Exception as error:
                return Response(str(error), status=403)
            return Response("called")
        return await stub.fetch(request)
"""


def _standby_ready(client: httpx.Client) -> bool:
    """Whether the next reload's interpreter is booted (False while an answer is not JSON: a
    poll that met the boot itself can be lost, as the server's own are)."""
    answer = client.get("/", headers={"x-dotdo-local-runtime": "standby-status"})
    try:
        return bool(answer.json()["ready"])
    except ValueError:
        return False


def test_writes_sent_during_a_reload_after_a_burst_are_answered(tmp_path: Path) -> None:
    """A reload's import holds the runtime's thread, and `dotdo dev` first occupies the idle
    connections of wrangler's proxy's pool, so that none meets the hold idle (a request the
    proxy writes into one whose 5 s idle end falls in the hold is never read, and a write is
    answered 503 "Your worker restarted mid-request"). It occupied 16, however many the pool
    held: 40 requests at once 3 s before a save left more, and 8 writes sent during the
    import (a module that computes for seconds) were answered 503. Every write is answered
    now, and every one is stored."""
    root = _project(tmp_path / "hits", HITS)
    spin = root / "src" / "spin.py"
    spin.write_text("SPUN = 0\n")
    log = tmp_path / "dev.log"
    with _dev_client(root, log, timeout=180) as (_, client):
        _wait_for(log, "Ready on")
        deadline = time.monotonic() + 180
        while not _standby_ready(client):
            assert time.monotonic() < deadline, "the next reload's interpreter did not boot"
            time.sleep(0.5)
        limits = httpx.Limits(max_connections=100)
        with (
            httpx.Client(base_url=client.base_url, timeout=180, limits=limits) as many,
            concurrent.futures.ThreadPoolExecutor(40) as pool,
        ):
            burst = list(pool.map(lambda _: many.post("/").status_code, range(40)))
            assert burst == [200] * 40
            time.sleep(3)
            spin.write_text("SPUN = sum(range(25_000_000)) and 1  # seconds of the import's time\n")
            time.sleep(1)  # the import has begun
            during = list(pool.map(lambda _: many.post("/"), range(8)))
        _wait_for(log, "reloaded, the app imported in")
        assert [answer.status_code for answer in during] == [200] * 8, [answer.text for answer in during]
        assert client.get("/").text == "1 hits=48"
        # The dev server's own commands are not a client's: any client of the port posted a
        # reload of sources of its own, and its code served every object.
        mine = base64.b64encode(b"SPUN = 'a client'\n").decode()
        for kind in ("reload", "standby", "occupy"):
            headers = {"x-dotdo-local-runtime": kind, "x-dotdo-local-runtime-token": "guessed"}
            refused = client.post("/", headers=headers, json={"id": "mine", "files": [[str(spin), mine]]})
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "local_runtime_command_refused"
        # Nor may the app's own code call them by name (DOFull's /fanout can name any method).
        for method in ("dotdoReload", "dotdoStandby"):
            called = client.get("/", headers={"x-call": method, "x-file": str(spin), "x-content": mine})
            assert called.status_code == 403 and "refused" in called.text, called.text
        assert client.get("/").text == "1 hits=48"


def test_a_start_whose_app_failed_to_import_boots_python_ahead_of_the_fix(tmp_path: Path) -> None:
    """The fix of an app that failed to import at the start is a save like any other: the
    runtime boots the reload's interpreter ahead as after a "Ready" (it booted one only at the
    save, which then waited seconds for it), and the fix is served by a reload. The 500 names
    the app's line that failed, not the library's (a bad `@every` fails inside dotdo)."""
    root = _project(tmp_path / "broken", WORDS)
    words = root / "src" / "words.py"
    words.write_text('import json\nWORD = json.loads("{")\n')
    log = tmp_path / "dev.log"
    with _dev_client(root, log) as (_, client):
        _wait_for(log, "not ready")
        error = client.get("/").json()["error"]
        assert error["code"] == "app_import_failed"
        assert error["message"].startswith("The app failed to import: json.decoder.JSONDecodeError: "), error
        assert f"({words}, line 2)" in error["message"], error
        deadline = time.monotonic() + 120
        status = {"ready": False}
        while not status["ready"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
            status = client.get("/_dotdo/boot", headers={"x-dotdo-local-runtime": "standby-status"}).json()
        words.write_text('WORD = "fixed"\n')
        _wait_for(log, "reloaded, the app imported in")
        assert client.get("/").text == "fixed"


READER = """import sys
import traceback
from pathlib import Path

from workers import DurableObject, Response, WorkerEntrypoint

HERE = Path(__file__).parent


class Tiny(DurableObject):
    async def fetch(self, request):
        notes = (HERE / "club" / "notes.txt").read_text()
        try:
            genres = (HERE / "club" / "genres.json").read_text()
        except FileNotFoundError:
            traceback.print_exc(file=sys.stderr)
            genres = "missing"
        return Response(f"{notes} {genres}")


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        namespace = self.env.TINY
        return await namespace.get(namespace.idFromName("one")).fetch(request)
"""


def test_dotdo_dev_ships_the_data_files_a_deploy_ships_and_says_how_to_ship_another(tmp_path: Path) -> None:
    """The main module's folder ships to the runtime as a deploy ships it, by the config's
    module rules: `notes.txt` (a default rule) is read, and a save of it reloads; a
    `genres.json` no rule matches is not there, as on Cloudflare, and the FileNotFoundError
    is followed by the rule to add. With that rule the file is there after the restart, and
    a save of it reloads. A data file was never shipped, whatever the rules said."""
    root = _project(tmp_path / "reader", READER)
    club = root / "src" / "club"
    club.mkdir()
    (club / "notes.txt").write_text("first")
    genres = club / "genres.json"
    genres.write_text('["mystery"]')
    log = tmp_path / "dev.log"
    with _dev_client(root, log) as (_, client):
        _wait_for(log, "Ready on")
        assert client.get("/").text == "first missing"
        content = _wait_for(log, "club/genres.json is not shipped")
        assert 'globs = ["**/*.json"]' in content and "FileNotFoundError" in content
        (club / "notes.txt").write_text("second")
        _wait_for(log, "reloaded, the app imported in")
        assert client.get("/").text == "second missing"
        genres.write_text('["mystery", "poetry"]')  # left out: nothing to reload
        time.sleep(2)
        assert client.get("/").text == "second missing"
        toml = root / "wrangler.toml"
        toml.write_text(WRANGLER + '\n[[rules]]\ntype = "Data"\nglobs = ["**/*.json"]\nfallthrough = true\n')
        _wait_for(log, "restarted, Python and the app loaded in")
        assert client.get("/").text == 'second ["mystery", "poetry"]'
        genres.write_text('["essays"]')
        _wait_for(log, "reloaded, the app imported in", count=2)
        assert client.get("/").text == 'second ["essays"]'
    content = log.read_text()
    assert content.count("app sources changed, reloading") == 2
    assert content.count("club/genres.json is not shipped") == 1  # once a start


WRITERS = (
    """import asyncio
from urllib.parse import urlsplit

from workers import DurableObject, Response, WorkerEntrypoint

VERSION = "v1"


class Tiny(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS writes (who TEXT)")

    def count(self, who):
        return self.ctx.storage.sql.exec("SELECT count(*) AS n FROM writes WHERE who = ?", who).one().n

    async def write_in_the_background(self):
        for _ in range(400):
            self.ctx.storage.sql.exec("INSERT INTO writes VALUES ('background')")
            await asyncio.sleep(0.05)

    async def write_kv_in_the_background(self):
        kv = self.ctx.storage.kv
        for _ in range(400):
            kv.put("kv", (kv.get("kv") or 0) + 1)
            await asyncio.sleep(0.05)

    async def fetch(self, request):
        path = urlsplit(request.url).path
        if path == "/background":
            self.task = asyncio.ensure_future(self.write_in_the_background())
            return Response("started")
        if path == "/kv-background":
            self.task = asyncio.ensure_future(self.write_kv_in_the_background())
            return Response("started")
        if path == "/kv":
            return Response(f"{VERSION} kv={self.ctx.storage.kv.get('kv') or 0}")
        if path == "/slow":
            await asyncio.sleep(25)
            self.ctx.storage.sql.exec("INSERT INTO writes VALUES ('slow')")
            return Response("written")
        return Response(f"{VERSION} background={self.count('background')} slow={self.count('slow')}")

"""
    + BY_OBJECT_HEADER
)


def test_an_instance_replaced_by_a_reload_writes_no_more(tmp_path: Path) -> None:
    """After a reload an object's old instance cannot write beside its new one (ADR 0060):
    a task it left running (writing SQL, or the synchronous key-value API), and a call still
    running when the new instance is built (after the 10 s drain), fail at their next storage
    call with Cloudflare's "Durable Object reset because its code was updated". Both wrote on
    before, and two instances of one object overwrote each other's rows in DOStorage's
    write-ahead log; `ctx.storage.kv` wrote on until its task ended."""
    root = _project(tmp_path / "writers", WRITERS)
    entry = root / "src" / "entry.py"
    log = tmp_path / "dev.log"
    with _dev_client(root, log, timeout=90) as (_, client), concurrent.futures.ThreadPoolExecutor(1) as pool:
        _wait_for(log, "Ready on")
        background, slow, kv = {"x-object": "background"}, {"x-object": "slow"}, {"x-object": "kv"}
        assert client.get("/background", headers=background).text == "started"
        assert client.get("/kv-background", headers=kv).text == "started"
        time.sleep(0.5)
        slow_call = pool.submit(client.get, "/slow", headers=slow)
        time.sleep(0.5)  # it has begun
        entry.write_text(WRITERS.replace('VERSION = "v1"', 'VERSION = "v2"'))
        _wait_for(log, "reloaded, the app imported in")
        first = client.get("/count", headers=background).text
        assert first.startswith("v2 background=")
        first_kv = client.get("/kv", headers=kv).text
        assert first_kv.startswith("v2 kv=")
        time.sleep(1)  # twenty more writes, were the old tasks still writing
        assert client.get("/count", headers=background).text == first
        assert client.get("/kv", headers=kv).text == first_kv
        # The new instance is built once the call has run for 10 s more; the call's write fails.
        assert client.get("/count", headers=slow).text == "v2 background=0 slow=0"
        answer = slow_call.result()
        assert answer.status_code == 500
        assert client.get("/count", headers=slow).text == "v2 background=0 slow=0"
        assert log.read_text().count("Durable Object reset because its code was updated") == 3


def _children(pid: int, name: str | None = None) -> list[int]:
    """The pids of `pid`'s children (those whose command is `name`), lowest first."""
    command = ["pgrep", "-P", str(pid), *([] if name is None else ["-x", name])]
    found = subprocess.run(command, capture_output=True, text=True).stdout.split()
    return sorted(int(child) for child in found)


def _answered(client: httpx.Client, deadline: float) -> httpx.Response:
    """The first answer to `GET /` (a refused or reset connection, while the runtime starts
    again, is retried; a request that hangs fails the test through the client's timeout)."""
    while True:
        try:
            return client.get("/")
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
            assert time.monotonic() < deadline, "nothing answered after the runtime died"
            time.sleep(0.2)


@contextlib.contextmanager
def _reviving_dev(root: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """`dotdo dev` serving `root` (its output in `log`), ready and answering, with a client
    of its port. The runtime it runs when the block ends (a revived one leads a process
    group of its own) is killed after it, whatever the outcome."""
    running: list[int] = []
    try:
        with _dotdo_dev(root, log) as (dev, port):
            try:
                _wait_for(log, "Ready on")
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                    assert client.get("/").text == "tiny"
                    yield dev, client
            finally:
                running = _children(dev.pid)
    finally:
        for child in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child, signal.SIGKILL)


def test_dotdo_dev_starts_its_runtime_again_when_a_workerd_dies(tmp_path: Path) -> None:
    """`kill -9` of the workerd that runs the objects left a port answering plain-text 503s
    and holding GETs until a source was saved; of wrangler's proxy workerd, a closed port
    while `dotdo dev` ran on silently. Each, and node killed too, is now named in the log
    with its signal, the runtime starts again, and the next request is answered."""
    log = tmp_path / "dev.log"
    with _reviving_dev(_project(tmp_path / "revived"), log) as (dev, client):
        # One workerd, then the other (wrangler's proxy and the worker's), then node.
        for round, pick in enumerate(("first", "last", "node"), start=1):
            node = _children(dev.pid)
            assert len(node) == 1, node
            workerds = _children(node[0], "workerd")
            assert len(workerds) == 2, workerds
            victim = {"first": workerds[0], "last": workerds[-1], "node": node[0]}[pick]
            os.kill(victim, signal.SIGKILL)
            _wait_for(log, "starting the local runtime again", count=round)
            answer = _answered(client, time.monotonic() + 180)
            assert (answer.status_code, answer.text) == (200, "tiny")
        content = log.read_text()
        assert "the workerd that runs the objects (pid" in content
        assert "wrangler's proxy workerd (it serves the port) (pid" in content
        assert content.count("exited on its own, with signal SIGKILL") == 2
        assert "exited on its own (" not in content  # said once, by dotdo dev, not by node too
        assert f"the local runtime's node process (pid {node[0]}) was killed by signal SIGKILL" in content
        assert dev.poll() is None


def test_dotdo_dev_starts_its_runtime_again_when_the_local_ai_host_dies(tmp_path: Path) -> None:
    """The process serving a project's `[ai]` binding (aihost.py, node's child beside the
    workerds) killed: named in the log with its signal, the runtime starts again, and the
    next request is answered, as for a workerd."""
    root = _project(tmp_path / "ai")
    (root / "wrangler.toml").write_text(WRANGLER + '\n[ai]\nbinding = "AI"\n')
    log = tmp_path / "dev.log"
    with _reviving_dev(root, log) as (dev, client):
        node = _children(dev.pid)
        assert len(node) == 1, node
        command = ["pgrep", "-P", str(node[0]), "-f", "aihost.py"]
        host = subprocess.run(command, capture_output=True, text=True).stdout.split()
        assert len(host) == 1, host
        os.kill(int(host[0]), signal.SIGKILL)
        _wait_for(log, "starting the local runtime again")
        answer = _answered(client, time.monotonic() + 180)
        assert (answer.status_code, answer.text) == (200, "tiny")
        content = log.read_text()
        assert "the local AI binding (aihost.py)" in content, content[-3000:]
        assert "with signal SIGKILL" in content
        assert dev.poll() is None


def _serving(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except OSError:
        return False


def _kill_and_see_the_port_freed(parent: subprocess.Popen[bytes], port: int) -> None:
    """SIGKILL `parent` (no `finally`, no signal handler runs) and wait for its runtime to
    let go of `port`: node/workerd run in a session of their own, which no signal to the
    parent's reaches; they end because the pipe that is their stdin closed. Whatever the
    outcome, the runtime's session is killed after, so a failure leaves nothing behind."""
    assert _serving(port)
    children = subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True, text=True).stdout.split()
    assert children, "the runtime is a child of the killed process"
    try:
        parent.kill()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 90
        while _serving(port):
            assert time.monotonic() < deadline, f"port {port} still served after its dotdo was killed"
            time.sleep(0.2)
    finally:
        for child in children:  # each runtime leads a session of its own (Server.start)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(child), signal.SIGKILL)


@pytest.mark.parametrize("watch", [False, True], ids=["--no-watch", "watching"])
def test_the_runtime_of_a_killed_dotdo_dev_ends_with_it(tmp_path: Path, watch: bool) -> None:
    root = _project(tmp_path / "killed")
    log = tmp_path / "dev.log"
    with _dotdo_dev(root, log, *([] if watch else ["--no-watch"])) as (parent, port):
        _wait_for(log, "Ready on")
        _kill_and_see_the_port_freed(parent, port)


TEST_RUNTIME = """import sys
from pathlib import Path

from dotdo.testing import LocalRuntime

root = Path(sys.argv[1])
runtime = LocalRuntime(root, state_dir=root / "state", log_path=root / "server.log")
runtime.start()
print(runtime.port, flush=True)
sys.stdin.read()  # until killed
"""


def test_the_runtime_of_a_killed_test_process_ends_with_it(tmp_path: Path) -> None:
    """`dotdo.testing`'s runtime (the plugin's, `dotdo test`'s and this suite's harness)."""
    root = _project(tmp_path / "tested")
    with subprocess.Popen(
        [sys.executable, "-c", TEST_RUNTIME, str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "WRANGLER_SEND_METRICS": "false", "PYTHONPATH": str(ROOT / "src")},
    ) as parent:  # fmt: skip
        try:
            assert parent.stdout is not None
            port = int(parent.stdout.readline() or b"0")
            assert port, (root / "server.log").read_text(errors="replace")
            _kill_and_see_the_port_freed(parent, port)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(parent.pid, signal.SIGKILL)


HELPER = """def boom():
    raise ValueError("raised in a vendored module")
"""

BYTECODE_ENTRY = """import json
import sys
import traceback

import tinyhelper
import workers
from workers import DurableObject, Response, WorkerEntrypoint


def _from_pyc(module):
    # What the import did: the module's own loader, asked for its code again, takes it from
    # the pyc at __cached__ without compiling the source (source_to_code is never called),
    # and that pyc is an unchecked-hash one (PEP 552 flags 0b01), which only the build makes.
    loader = module.__spec__.loader
    compiled = []
    original = loader.source_to_code
    loader.source_to_code = lambda *args, **kwargs: compiled.append(1) or original(*args, **kwargs)
    try:
        loader.get_code(module.__name__)
    finally:
        del loader.source_to_code
    with open(module.__cached__, "rb") as file:
        flags = int.from_bytes(file.read(8)[4:], "little")
    return {"compiled": bool(compiled), "flags": flags, "cached": module.__cached__}


class Tiny(DurableObject):
    async def fetch(self, request):
        try:
            tinyhelper.boom()
        except ValueError:
            trace = traceback.format_exc()
        answer = {
            "tinyhelper": _from_pyc(tinyhelper),
            "workers": _from_pyc(workers),
            "entry": sys.modules[__name__].__cached__,
            "traceback": trace,
        }
        return Response(json.dumps(answer), headers={"content-type": "application/json"})


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        namespace = self.env.TINY
        return await namespace.get(namespace.idFromName("one")).fetch(request)
"""


def test_vendored_modules_load_from_precompiled_bytecode_and_name_their_sources(tmp_path: Path) -> None:
    root = _project(tmp_path / "pyc", BYTECODE_ENTRY)
    vendor(Project.load(root))
    helper = root / "python_modules" / "tinyhelper.py"
    helper.write_text(HELPER)
    runtime = _runtime(root)
    runtime.start()
    try:
        with runtime.client() as client:
            answer = client.get("/").json()
    finally:
        runtime.stop()
    for name in ("tinyhelper", "workers"):
        assert answer[name]["compiled"] is False, answer
        assert answer[name]["flags"] == 0b01, answer
    assert answer["tinyhelper"]["cached"] == str(
        root / "python_modules" / "__pycache__" / "tinyhelper.cpython-313.pyc"
    )
    # A traceback through a precompiled module names its real file and line, with the line.
    assert f'File "{helper}", line 2, in boom' in answer["traceback"], answer["traceback"]
    assert 'raise ValueError("raised in a vendored module")' in answer["traceback"]
    # The user's own folder ships as source (nothing of it is in the bytecode cache).
    cached = list((root / ".dotdo" / "pyc").rglob("*.pyc"))
    entry = str(root / "src" / "entry.py").encode()
    assert cached and all(entry not in path.read_bytes() for path in cached)
