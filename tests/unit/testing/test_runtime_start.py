"""What `LocalRuntime.start` does once the runtime answers, against a stand-in runtime (an
HTTP server on the runtime's port and a `Server` that only writes the log): it waits for
the server's own boot to be answered, then renews the proxy's connections, before the
first test sends anything."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import IO

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dotdo.errors import LocalRuntimeError
from dotdo.testing import LocalRuntime
from dotdo.testing.clients import PROXY_HOLDS
from tests.unit.localrt.dead_runtime import dead_runtime


class _Logging:
    """A `Server` stand-in whose start writes `lines` to the log, each after its delay (s)."""

    def __init__(self, lines: list[tuple[float, str]]) -> None:
        self.lines = lines
        self.written: dict[str, float] = {}

    def start(self, output: IO[bytes]) -> None:
        path = Path(output.name)

        def write() -> None:
            for delay, line in self.lines:
                time.sleep(delay)
                with path.open("a") as log:
                    log.write(line + "\n")
                self.written[line] = time.monotonic()

        threading.Thread(target=write, daemon=True).start()

    def running(self) -> bool:
        return True

    def stop(self) -> None:
        pass


def _runtime(tmp_path: Path, httpserver: HTTPServer, server: _Logging) -> LocalRuntime:
    runtime = LocalRuntime(
        dead_runtime(tmp_path).project.root, state_dir=tmp_path / "state", log_path=tmp_path / "server.log"
    )
    runtime.port = httpserver.port  # the stand-in's
    runtime._server = server  # type: ignore[assignment]
    return runtime


def test_the_proxys_connections_are_renewed_once_the_boot_is_answered(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The first request of a test on a fresh runtime of its own (test_abort.py's) was at
    times answered 503 "Your worker restarted mid-request" by wrangler's proxy: the probe's
    `/health` is answered while the server's boot request still runs, and the boot held the
    runtime's thread for 7 s (ADR 0060's 5 s race); the start returned at the probe's 200."""
    holds: list[float] = []

    def hold(request: Request) -> Response:
        holds.append(time.monotonic())
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/health").respond_with_data("ok")
    httpserver.expect_request(
        "/_dotdo/boot", method="POST", headers={"x-dotdo-local-runtime": "hold"}
    ).respond_with_handler(hold)
    server = _Logging([(0.5, "Ready on http://127.0.0.1 (Python and the app loaded in 7.2 s)")])
    _runtime(tmp_path, httpserver, server).start(timeout=30)
    assert len(holds) == PROXY_HOLDS
    assert min(holds) >= server.written["Ready on http://127.0.0.1 (Python and the app loaded in 7.2 s)"]


def test_a_start_without_the_servers_verdict_is_an_error(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/health").respond_with_data("ok")
    runtime = _runtime(tmp_path, httpserver, _Logging([]))
    with pytest.raises(LocalRuntimeError, match="did not answer within 1 s"):
        runtime.start(timeout=1)


def test_an_app_that_fails_to_import_is_reported_in_the_servers_words_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The error was the log's end after "the app failed to import:": under `dotdo test`,
    "the app failed to import" twice, around the probe's own `[wrangler:info] GET /health
    500` line, and the "not ready ... until a restart" line, which no test waits for."""
    httpserver.expect_request("/health").respond_with_json(
        {"error": {"code": "app_import_failed"}}, status=500
    )
    said = [
        (0.0, "[wrangler:info] GET /health 500 Internal Server Error (6801ms)"),
        (0.2, "dotdo: the app failed to import:"),
        (
            0.0,
            "  File \"/p/src/entry.py\", line 49\n    async def ping(self) -> str\nSyntaxError: expected ':'",
        ),
        (0.0, "[wrangler:info] GET /health 500 Internal Server Error (3ms)"),
        (0.0, "dotdo: src/notes.md is not shipped: no module rule of the config matches it"),
        (0.0, "dotdo: not ready: every request answers 500 until a restart"),
    ]
    runtime = _runtime(tmp_path, httpserver, _Logging(said))
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start(timeout=30)
    assert str(raised.value) == (
        "the app failed to import:\n"
        '  File "/p/src/entry.py", line 49\n'
        "    async def ping(self) -> str\n"
        "SyntaxError: expected ':'\n"
        "dotdo: src/notes.md is not shipped: no module rule of the config matches it"
    )


def test_python_that_failed_to_start_is_reported_without_waiting_out_the_timeout(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Python that fails to start is booted again by every request, the probe's included, and
    each answers a plain 500: the start waited out its whole timeout (180 s) for a `/health`
    200 that could not come, though the server had said why in its first seconds."""
    httpserver.expect_request("/health").respond_with_data("Internal Server Error", status=500)
    said = [
        (0.2, "dotdo: Python failed to start:"),
        (0.0, "Traceback (most recent call last):\nImportError: cannot import name 'x'"),
        (0.0, "dotdo: not ready: every request answers 500 until a restart"),
    ]
    runtime = _runtime(tmp_path, httpserver, _Logging(said))
    began = time.monotonic()
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start(timeout=20)
    assert time.monotonic() - began < 10
    assert str(raised.value) == (
        "Python failed to start:\nTraceback (most recent call last):\nImportError: cannot import name 'x'"
    )


def test_an_object_whose_code_raised_is_reported_without_waiting_out_the_timeout(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A route pattern without its `/` in `routes()` fails every instance's constructor: the
    app imports and the server says "Ready", then every `/health` is a 503, and the start
    waited its whole timeout (180 s) to say only that nothing answered."""
    httpserver.expect_request("/health").respond_with_json(
        {"error": {"code": "object_unavailable", "message": "The object of tenant 'probe' failed: ..."}},
        status=503,
    )
    said = [
        (0.0, "Ready on http://127.0.0.1 (Python and the app loaded in 7.2 s)"),
        (
            0.2,
            "ERROR dotdo.worker: the object of tenant 'probe' failed with an exception of its code: "
            "Traceback (most recent call last):\n"
            '  File "/p/python_modules/dotdo/core/durable.py", line 158, in __init__\n'
            "    self.routes(self.router)\n"
            '  File "/p/src/entry.py", line 54, in routes\n'
            '    router.get("queue")(self.queue_route)\n'
            '  File "/p/python_modules/dotdo/core/route_patterns.py", line 56, in parse_pattern\n'
            "    raise ValueError(f\"Route patterns start with '/': {pattern!r}\")\n"
            "ValueError: Route patterns start with '/': 'queue'\n",
        ),
        (0.0, "[wrangler:info] GET /health 503 Service Unavailable (1358ms)"),
    ]
    runtime = _runtime(tmp_path, httpserver, _Logging(said))
    began = time.monotonic()
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start(timeout=20)
    assert time.monotonic() - began < 10
    report = str(raised.value).splitlines()
    assert report[0] == (
        "the app's object raised an exception before it answered: ValueError: Route patterns start "
        "with '/': 'queue' (/p/src/entry.py, line 54, in routes)"
    )
    assert report[1] == "Traceback (most recent call last):"
    assert report[-1] == "ValueError: Route patterns start with '/': 'queue'"


def test_a_traceback_half_written_is_waited_for(tmp_path: Path, httpserver: HTTPServer) -> None:
    """The log is read while the server writes it: half a traceback named its last frame
    line as the exception."""
    failed = {"error": {"code": "object_unavailable"}}
    httpserver.expect_request("/health").respond_with_json(failed, status=503)
    said = [
        (
            0.0,
            "ERROR dotdo.worker: the object of tenant 'probe' failed with an exception of its code: "
            "Traceback (most recent call last):\n"
            '  File "/p/src/entry.py", line 54, in routes\n'
            '  File "/p/python_modules/dotdo/core/router.py", line 320, in get',
        ),
        (1.0, "ValueError: Route patterns start with '/': 'queue'\n"),
    ]
    runtime = _runtime(tmp_path, httpserver, _Logging(said))
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start(timeout=20)
    assert (
        str(raised.value)
        .splitlines()[0]
        .endswith("ValueError: Route patterns start with '/': 'queue' (/p/src/entry.py, line 54, in routes)")
    )


def test_an_object_reset_under_the_probe_is_waited_for(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A 503 with Retry-After (a reset, an overload) may pass: the start waits on."""
    reset = {"error": {"code": "object_unavailable", "message": "reset"}}
    httpserver.expect_request("/health").respond_with_json(reset, status=503, headers={"retry-after": "1"})
    runtime = _runtime(tmp_path, httpserver, _Logging([]))
    with pytest.raises(LocalRuntimeError, match="did not answer within 1 s"):
        runtime.start(timeout=1)


def test_an_object_whose_code_raised_once_is_no_failed_start(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A constructor that raises only the first time (a transient error of its own) failed
    the start, and every test with it, where the next request is answered 200."""
    failed = {"error": {"code": "object_unavailable", "message": "The object of tenant 'probe' failed: ..."}}
    httpserver.expect_oneshot_request("/health").respond_with_json(failed, status=503)
    httpserver.expect_request("/health").respond_with_data("ok")
    httpserver.expect_request("/_dotdo/boot", method="POST").respond_with_json({})
    said = [(0.0, "ERROR dotdo.worker: the object of tenant 'probe' failed with an exception of its code: x")]
    said.append((0.3, "Ready on http://127.0.0.1 (Python and the app loaded in 1.0 s)"))
    _runtime(tmp_path, httpserver, _Logging(said)).start(timeout=20)


class _Exiting(_Logging):
    """A stand-in whose server has exited once its lines are written."""

    def running(self) -> bool:
        return len(self.written) < len(self.lines)


def test_a_server_that_did_not_start_says_why_in_one_line(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A config wrangler refused read "did not start: the local runtime exited:", the log's
    end, and "did not start" again before the reason."""
    said = [
        (0.0, "dotdo: compiling 2 Python files to bytecode with Pyodide 0.28.2 (once per content)"),
        (
            0.0,
            "dotdo: the local runtime did not start: wrangler.toml: "
            'compatibility_date "2099-01-01" is in the future',
        ),
    ]
    runtime = _runtime(tmp_path, httpserver, _Exiting(said))
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start(timeout=20)
    assert str(raised.value) == 'wrangler.toml: compatibility_date "2099-01-01" is in the future'


def test_a_build_that_refused_the_project_says_why_with_the_lines_it_added(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """The build's refusal (build.mjs `fail`) read "the local runtime exited:" and the log's
    end; the lines it adds (TOML to add) stay with it, and wrangler's own line after it does not."""
    said = [
        (
            0.0,
            "dotdo: the local runtime did not start: wrangler.toml binds A to class A, which no "
            "migration creates. Add at the end of wrangler.toml:\n"
            '  [[migrations]]\n  tag = "v2"\n  new_sqlite_classes = ["A"]',
        ),
        (0.0, '🪵  Logs were written to "/root/.config/.wrangler/logs/w.log"'),
    ]
    runtime = _runtime(tmp_path, httpserver, _Exiting(said))
    with pytest.raises(LocalRuntimeError) as raised:
        runtime.start(timeout=20)
    assert str(raised.value) == (
        "wrangler.toml binds A to class A, which no migration creates. Add at the end of wrangler.toml:\n"
        '  [[migrations]]\n  tag = "v2"\n  new_sqlite_classes = ["A"]'
    )
