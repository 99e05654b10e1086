"""The plugin attaches what the server logged during a failing test to its report (and
nothing to a passing one), without starting a runtime: a stand-in serves the log."""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest
from dotdo.testing.plugin import _RUNTIME

pytest_plugins = ["dotdo.testing.plugin"]


class FakeRuntime:
    def __init__(self):
        self.log = "booted\\n"

    def log_offset(self):
        return len(self.log)

    def log_since(self, offset):
        return self.log[offset:]


@pytest.fixture
def server(pytestconfig):
    runtime = pytestconfig.stash[_RUNTIME] = FakeRuntime()
    return runtime
"""

TESTS = """
def test_fails(server):
    server.log += "Traceback: the object raised\\n"
    assert False

def test_passes(server):
    server.log += "quiet success\\n"
"""


def test_a_failing_test_carries_the_server_log(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*- dotdo server log -*", "Traceback: the object raised"])
    output = result.stdout.str()
    assert "booted" not in output  # only what the test itself caused
    assert "quiet success" not in output


BROKEN_APP = """
import pytest
from dotdo.errors import LocalRuntimeError
from dotdo.testing import runtime

pytest_plugins = ["dotdo.testing.plugin"]


def _prepare(project):  # what the start's wait reports when the app fails to import
    raise LocalRuntimeError(
        "the app failed to import:\\n"
        '  File "src/entry.py", line 50\\n'
        "    def stock_value(self) -> int\\n"
        "SyntaxError: expected ':'"
    )


@pytest.fixture(autouse=True, scope="session")
def _app_fails_to_import():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runtime, "prepare", _prepare)
        yield
"""

USES_THE_RUNTIME = """
def test_a(dotdo_client):
    pass

def test_b(dotdo_client):
    pass

def test_c(dotdo_async_client):
    pass

def test_without_the_runtime():
    pass
"""


def _project(pytester: pytest.Pytester, wrangler: str = 'main = "src/entry.py"\n') -> None:
    pytester.makefile(".toml", wrangler=wrangler)
    pytester.mkdir("src").joinpath("entry.py").write_text("")


def _errors(result: pytest.RunResult) -> str:
    """The ERRORS section of a run's output: what each test's error says once. Pytest repeats each
    message in full in the short summary on CI (``CI`` or ``BUILD_NUMBER`` set) and cuts it to the
    terminal's width elsewhere, so counting over the whole output depends on where it runs."""
    output = result.stdout.str()
    start = output.index("= ERRORS =")
    return output[start : output.index("short test summary info", start)]


def test_an_app_that_fails_to_import_is_reported_once(pytester: pytest.Pytester) -> None:
    """Every test that needed the runtime errored with the same traceback, dotdo's frames
    included (662 lines for one syntax error in 8 tests); the first one says it, the others
    point there, and the tests that need no runtime still run."""
    _project(pytester)
    pytester.makeconftest(BROKEN_APP)
    pytester.makepyfile(test_app=USES_THE_RUNTIME)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3)
    assert result.ret != 0
    output = _errors(result)
    assert output.count("SyntaxError: expected ':'") == 1, output
    assert "dotdo: the local runtime did not start: the app failed to import:" in output
    whole = result.stdout.str()
    assert "runtime.py" not in whole and "plugin.py" not in whole  # no frames of dotdo's
    pointer = (
        "dotdo: not run: the local runtime did not start (the error at setup of test_app.py::test_a says why)"
    )
    assert output.count(pointer) == 2, output


@pytest.mark.parametrize(
    ("wrangler", "message"),
    [
        ("[[[", "wrangler.toml is not valid TOML"),
        ('main = "src/missing.py"\n', "main names src/missing.py, which does not exist"),
    ],
)
def test_a_config_the_runtime_cannot_start_with_is_reported_once(
    pytester: pytest.Pytester, wrangler: str, message: str
) -> None:
    _project(pytester, wrangler)
    pytester.makeconftest('pytest_plugins = ["dotdo.testing.plugin"]\n')
    pytester.makepyfile(test_app=USES_THE_RUNTIME)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3)
    output = _errors(result)
    assert output.count(message) == 1, output
    assert output.count("dotdo: not run: the local runtime did not start") == 2, output


DIES_FOR_GOOD = """
import pytest
from dotdo.errors import LocalRuntimeError

pytest_plugins = ["dotdo.testing.plugin"]


class DownRuntime:
    calls = 0

    def client(self):
        DownRuntime.calls += 1
        if DownRuntime.calls == 1:
            raise LocalRuntimeError("a workerd exited on its own; it keeps dying:\\nthe log's end")
        raise LocalRuntimeError("the local runtime is down (...): not started again")

    async_client = client


@pytest.fixture(scope="session")
def dotdo_runtime():
    return DownRuntime()
"""


def test_a_runtime_that_died_for_good_fails_the_tests_without_dotdos_frames(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(DIES_FOR_GOOD)
    pytester.makepyfile(test_app=USES_THE_RUNTIME)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3)
    output = _errors(result)
    assert output.count("the log's end") == 1, output
    assert output.count("dotdo: the local runtime is down (...): not started again") == 2, output
    assert "plugin.py" not in result.stdout.str() and "def client" not in result.stdout.str()


PORT_CONFTEST = """
import pytest

pytest_plugins = ["dotdo.testing.plugin"]


class FakeRuntime:
    def __init__(self, project, **options):
        self.port = options["port"]

    def start(self):
        pass

    def stop(self):
        pass

    def log_offset(self):
        return 0


@pytest.fixture(scope="session", autouse=True)
def _no_server():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("dotdo.testing.runtime.LocalRuntime", FakeRuntime)
        yield
"""

PORT_TEST = """
def test_port(dotdo_runtime):
    print("port:", dotdo_runtime.port)
"""


@pytest.mark.parametrize(
    ("arguments", "variable", "port"),
    [
        ((), None, "None"),  # the runtime chooses a free one
        (("--dotdo-port", "9402"), None, "9402"),
        ((), "9403", "9403"),  # DOTDO_TEST_PORT, which `dotdo test --port` sets
        (("--dotdo-port", "9404"), "9403", "9404"),
    ],
)
def test_the_runtime_listens_on_the_port_asked_for(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    arguments: tuple[str, ...],
    variable: str | None,
    port: str,
) -> None:
    pytester.makeconftest(PORT_CONFTEST)
    pytester.makepyfile(PORT_TEST)
    if variable is None:
        monkeypatch.delenv("DOTDO_TEST_PORT", raising=False)
    else:
        monkeypatch.setenv("DOTDO_TEST_PORT", variable)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", *arguments)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*port: {port}"])


def test_a_port_that_is_not_one_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(PORT_CONFTEST)
    pytester.makepyfile(PORT_TEST)
    monkeypatch.setenv("DOTDO_TEST_PORT", "80000")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*DOTDO_TEST_PORT: '80000' is not a port*"])
