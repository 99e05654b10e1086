"""The pytest plugin (entry point `pytest11`, loaded wherever dotdo is installed).

Fixtures: `dotdo_runtime` (session: the project's own wrangler.toml served on the local
runtime, started on first use), `dotdo_client` and `dotdo_async_client` (a fresh tenant
per test). What the server logged during a failing test is attached to its report. A
runtime that cannot start (the app fails to import, a bad wrangler.toml, no node), or
that died and could not be started again, errors the first test that needs it with the
whole message and every later one in one line that points there.

Settings (`[tool.pytest.ini_options]`), all optional: `dotdo_project` (the folder with
`python_modules/`; default the rootdir), `dotdo_config` (default `wrangler.toml` there),
`dotdo_python_roots` (extra folders on `sys.path`), `dotdo_vars` (`NAME=VALUE` lines for
the worker's env; `ENVIRONMENT=development` is always set). The runtime listens on a free
port the OS chooses, or on the one `--dotdo-port` or the `DOTDO_TEST_PORT` environment
variable names (what `dotdo test --port` sets). The project's dotdo objects
are served with the test routes of `dotdo.testing.control`, and the worker joins a dev
registry of the session's own (`dotdo_runtime.registry`), where a second local worker
reaches its classes by `script_name`.

Nothing here starts unless a test asks for one of the fixtures, and the module imports
only pytest, so that installing dotdo costs other test suites nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from dotdo.testing.clients import AsyncTenantClient, TenantClient
    from dotdo.testing.runtime import LocalRuntime

_RUNTIME = pytest.StashKey["LocalRuntime"]()
_LOG_OFFSET = pytest.StashKey[int]()
_T = TypeVar("_T")


@dataclass
class _StartFailed:
    """The session runtime's failed start: the error pytest caches for the session fixture
    and raises again at every test that needs it, and where it was reported in full."""

    error: BaseException
    first: str | None = None
    """`setup of <node id>` of the first test it errored, once reported."""


_START_FAILED = pytest.StashKey[_StartFailed]()


PORT_VARIABLE = "DOTDO_TEST_PORT"
"""The environment variable naming the runtime's port (`dotdo test --port` sets it)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's option and ini settings (see the module docstring)."""
    parser.getgroup("dotdo").addoption(
        "--dotdo-port",
        type=int,
        default=None,
        help=f"dotdo: the local runtime's port (default ${PORT_VARIABLE}, else a free one)",
    )
    parser.addini("dotdo_project", "dotdo: the project folder (python_modules/); default the rootdir")
    parser.addini("dotdo_config", "dotdo: the wrangler config to serve; default wrangler.toml in the project")
    parser.addini("dotdo_python_roots", "dotdo: extra folders on sys.path", type="linelist", default=[])
    parser.addini(
        "dotdo_vars", "dotdo: NAME=VALUE variables for the worker's env", type="linelist", default=[]
    )


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getini(name)
    return str(value) if value else None


def _port(config: pytest.Config) -> int | None:
    """`--dotdo-port`, else $DOTDO_TEST_PORT, else None (a free port); UsageError for a
    value that is no port."""
    import os

    given: object = config.getoption("dotdo_port")
    where = "--dotdo-port"
    if given is None:
        given, where = os.environ.get(PORT_VARIABLE, "").strip() or None, PORT_VARIABLE
    if given is None:
        return None
    try:
        port = int(str(given))
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise pytest.UsageError(f"{where}: {given!r} is not a port (0-65535; 0 for any free one)")
    return port


@pytest.fixture(scope="session")
def dotdo_runtime(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    """The project served on the local runtime for the whole session (empty state). When it
    cannot start, the first test that needs it errors with why (the app's traceback, the
    config's mistake) and the others with one line each (module docstring)."""
    from dotdo.errors import LocalRuntimeError
    from dotdo.testing.runtime import LocalRuntime

    root = Path(pytestconfig.rootpath)
    project = root / (_setting(pytestconfig, "dotdo_project") or ".")
    config = _setting(pytestconfig, "dotdo_config")
    variables = {}
    for pair in pytestconfig.getini("dotdo_vars"):
        name, eq, value = str(pair).partition("=")
        if not eq:
            raise pytest.UsageError(f"dotdo_vars: {pair!r} is not NAME=VALUE")
        variables[name] = value
    base = tmp_path_factory.mktemp("dotdo-runtime")
    try:
        runtime = LocalRuntime(
            project,
            config=root / config if config else None,
            state_dir=base / "state",
            log_path=base / "server.log",
            vars=variables,
            python_roots=[root / str(p) for p in pytestconfig.getini("dotdo_python_roots")],
            registry=base / "registry",
            port=_port(pytestconfig),
        )
        pytestconfig.stash[_RUNTIME] = runtime
        runtime.start()
    except LocalRuntimeError as error:
        # The message is the report (the app's traceback is in it); dotdo's frames are not.
        failed = pytest.fail.Exception(f"dotdo: the local runtime did not start: {error}", pytrace=False)
        pytestconfig.stash[_START_FAILED] = _StartFailed(failed)
        raise failed from None
    try:
        yield runtime
    finally:
        runtime.stop()


def _or_fail(make: Callable[[], _T]) -> _T:
    """`make()`, with a LocalRuntimeError (the runtime died and could not be started again:
    once in full, then in one line, `LocalRuntime.revive`) as the test's error, without
    dotdo's frames."""
    from dotdo.errors import LocalRuntimeError

    try:
        return make()
    except LocalRuntimeError as error:
        message = str(error)
    pytest.fail(f"dotdo: {message}", pytrace=False)  # outside the except: no chained report


@pytest.fixture
def dotdo_client(dotdo_runtime: LocalRuntime) -> Iterator[TenantClient]:
    """A client for a fresh tenant (a new object of the main binding)."""
    with _or_fail(dotdo_runtime.client) as client:
        yield client


@pytest.fixture
def dotdo_async_client(dotdo_runtime: LocalRuntime) -> AsyncTenantClient:
    """An asyncio client for a fresh tenant (connections are not kept, nothing to close)."""
    return _or_fail(dotdo_runtime.async_client)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Note where the server log stands when a test starts (for its report)."""
    runtime = item.config.stash.get(_RUNTIME, None)
    if runtime is not None:
        item.stash[_LOG_OFFSET] = runtime.log_offset()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach what the server logged during a failed test's call to its report; a test the
    runtime's failed start errored after the first gets one line (module docstring)."""
    report = yield
    failed = item.config.stash.get(_START_FAILED, None)
    if failed is not None and call.excinfo is not None and call.excinfo.value is failed.error:
        if failed.first is None:
            failed.first = f"{report.when} of {item.nodeid}"
        else:
            report.longrepr = (
                f"dotdo: not run: the local runtime did not start (the error at {failed.first} says why)"
            )
    runtime = item.config.stash.get(_RUNTIME, None)
    offset = item.stash.get(_LOG_OFFSET, None)
    if report.failed and report.when == "call" and runtime is not None and offset is not None:
        log = runtime.log_since(offset).strip()
        report.sections.append(("dotdo server log", log or "(nothing logged during the test)"))
    return report
