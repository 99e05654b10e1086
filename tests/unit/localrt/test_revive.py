"""`dotdo dev` starts a runtime that died on its own again, with a backoff, and gives up
with a clear message and exit status 1 after a few deaths in a row."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dotdo.localrt.revive import RestartPolicy, revive
from dotdo.localrt.server import RUNTIME_DIED
from tests.unit.localrt.dead_runtime import KILLED_OBJECTS, dead_runtime, exited


@pytest.fixture(autouse=True)
def _cli_log(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's logger reaches caplog even after a CLI test set it not to propagate."""
    monkeypatch.setattr(logging.getLogger("dotdo.cli"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("dotdo.localrt"), "propagate", True)


def test_the_backoff_doubles_and_gives_up_after_the_limit() -> None:
    policy = RestartPolicy(limit=4, delay=0.5, stable_after=60)
    assert [policy.next_delay(uptime=1.0) for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, None]


def test_a_runtime_that_served_a_while_starts_a_new_row() -> None:
    policy = RestartPolicy(limit=2, delay=1, stable_after=60)
    assert [policy.next_delay(uptime=1.0) for _ in range(2)] == [1.0, 2.0]
    assert policy.next_delay(uptime=61.0) == 1.0
    assert policy.next_delay(uptime=1.0) == 2.0
    assert policy.next_delay(uptime=1.0) is None


def test_a_killed_workerd_is_named_with_its_signal_and_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = dead_runtime(tmp_path)
    started: list[bool] = []
    slept: list[float] = []
    monkeypatch.setattr(server, "start", lambda *, control=False, output=None: started.append(control))
    monkeypatch.setattr(server, "stop", lambda: None)  # the stand-in has no process group
    exited(server, RUNTIME_DIED, KILLED_OBJECTS)
    with caplog.at_level(logging.INFO, logger="dotdo.localrt"):
        assert revive(server, RestartPolicy(), control=True, sleep=slept.append) is None
    assert started == [True] and slept == [0.5]
    assert (
        "the workerd that runs the objects (pid 4242) exited on its own, with signal SIGKILL; "
        "starting the local runtime again in 0.5 s (1 of 5 in a row)"
    ) in caplog.text


def test_what_is_left_of_a_dead_runtime_is_stopped_before_its_restart_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader of the log (a test waiting for the line, a user) who sends a request once
    the restart is announced reaches the new runtime or a closed port, never a surviving
    proxy workerd of the dead one (which answered a 500)."""
    server = dead_runtime(tmp_path)
    order: list[str] = []

    class Record(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "starting the local runtime again" in record.getMessage():
                order.append("announced")

    monkeypatch.setattr(server, "start", lambda **_: order.append("started"))
    monkeypatch.setattr(server, "stop", lambda: order.append("stopped"))
    exited(server, RUNTIME_DIED, KILLED_OBJECTS)
    handler = Record()
    logging.getLogger("dotdo.localrt").addHandler(handler)
    try:
        assert revive(server, RestartPolicy(), sleep=lambda _: None) is None
    finally:
        logging.getLogger("dotdo.localrt").removeHandler(handler)
    assert order == ["stopped", "announced", "started"]


def test_node_killed_is_a_death_too(tmp_path: Path) -> None:
    server = dead_runtime(tmp_path)
    exited(server, -9)
    cause = server.exit_cause()
    assert cause is not None and "node process" in cause and "signal SIGKILL" in cause


def test_a_runtime_that_stopped_by_itself_is_not_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed start (`server.mjs` exits 1 without --control) ends the command as before."""
    server = dead_runtime(tmp_path)
    monkeypatch.setattr(server, "start", lambda **_: pytest.fail("started again"))
    exited(server, 1)
    with caplog.at_level(logging.INFO, logger="dotdo.localrt"):
        assert revive(server, RestartPolicy(), control=False, sleep=lambda _: None) == 1
    assert "the local runtime stopped (exit status 1)" in caplog.text


def test_deaths_in_a_row_give_up_with_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = dead_runtime(tmp_path)
    policy = RestartPolicy(limit=3)
    monkeypatch.setattr(server, "start", lambda **_: exited(server, RUNTIME_DIED, KILLED_OBJECTS))
    monkeypatch.setattr(server, "stop", lambda: None)
    exited(server, RUNTIME_DIED, KILLED_OBJECTS)
    slept: list[float] = []
    with caplog.at_level(logging.INFO, logger="dotdo.localrt"):
        outcomes = [revive(server, policy, control=True, sleep=slept.append) for _ in range(4)]
    assert outcomes == [None, None, None, 1]
    assert slept == [0.5, 1.0, 2.0]
    assert "died 3 times in a row, giving up" in caplog.records[-1].getMessage()
    assert caplog.records[-1].levelno == logging.ERROR
