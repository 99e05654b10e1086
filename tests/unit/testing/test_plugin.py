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
