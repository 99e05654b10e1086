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
