"""The `dotdo` logger's default output, and request lines through logging."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

import pytest

from dotdo import request_logger
from dotdo.core.logs import install_default_handler, instant
from tests.unit.core.test_middleware import app, call


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """Logging as an application that configured nothing finds it, restored afterwards.
    (pytest adds its capture handlers to the root logger when the test body starts, so
    the tests set those aside themselves, with `_no_root_handlers`.)"""
    logger = logging.getLogger("dotdo")
    monkeypatch.setattr(logger, "handlers", [])
    level = logger.level
    logger.setLevel(logging.NOTSET)
    yield logger
    logger.setLevel(level)


@contextlib.contextmanager
def _no_root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


def test_without_configuration_dotdo_logs_info_to_stderr(
    unconfigured: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _no_root_handlers():
        install_default_handler()
        install_default_handler()  # once per process, however many objects start
        assert len(unconfigured.handlers) == 1 and unconfigured.level == logging.INFO
        stderr = io.StringIO()
        monkeypatch.setattr("sys.stderr", stderr)  # replaced after the handler was made
        logging.getLogger("dotdo.requests").info("GET / 200 1.0ms")
        logging.getLogger("dotdo.workflows").debug("not shown")
    assert stderr.getvalue() == "INFO dotdo.requests: GET / 200 1.0ms\n"


def test_an_application_configuration_is_left_alone(unconfigured: logging.Logger) -> None:
    install_default_handler()  # the root logger has handlers (pytest's)
    assert unconfigured.handlers == [] and unconfigured.level == logging.NOTSET
    unconfigured.setLevel(logging.ERROR)
    with _no_root_handlers():
        install_default_handler()
    assert unconfigured.handlers == [] and unconfigured.level == logging.ERROR


def test_request_lines_go_to_the_requests_logger_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dotdo.requests")
    call(app(request_logger()), "GET", "/health?x=1")
    [record] = caplog.records
    assert (record.name, record.levelname) == ("dotdo.requests", "INFO")
    assert record.getMessage().startswith("GET /health") and record.getMessage().endswith("ms")


def test_a_time_in_a_message_is_iso_8601_in_utc() -> None:
    assert instant(1_796_214_742_163) == "2026-12-02T12:32:22.163Z"
    assert instant(0) == "1970-01-01T00:00:00.000Z"


def test_a_class_definition_warning_is_a_line_like_any_other(
    unconfigured: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An app's class-definition checks log when its module is imported, before any object
    starts: with nothing configured they printed as bare text (Python's last resort),
    `Library: handler count_loan listens to ...`, unlike every other dotdo line."""
    from dotdo import DOWorkflow, Verb, on

    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    with _no_root_handlers():

        class Library(DOWorkflow):
            declared_verbs = (Verb("borrow"),)

            @on.Member.borrow
            async def count_loan(self, event: object) -> None: ...

    line = stderr.getvalue()
    assert line.startswith("WARNING dotdo.workflows: ") and line.endswith(
        ".Library: handler count_loan listens to 'Member.borrow', but actions of the verb 'borrow' "
        "raise 'Member.borrowed': listen to 'Member.borrowed'\n"
    )


def test_the_default_handler_gives_way_to_a_root_configured_after_it(
    unconfigured: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    with _no_root_handlers():
        install_default_handler()
        logging.getLogger("dotdo.http").warning("once")
    # pytest's handlers are the root's again: an app's `basicConfig` after its classes
    logging.getLogger("dotdo.http").warning("by the root's handlers alone")
    assert stderr.getvalue() == "WARNING dotdo.http: once\n"
