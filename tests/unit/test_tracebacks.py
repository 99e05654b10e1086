"""A traceback read back from its text (`dotdo.tracebacks`): the exception it ends with and the
app's frame that raised it, wherever dotdo, Python and the app's packages sit."""

from __future__ import annotations

import traceback

import pytest

from dotdo.errors import internal_error
from dotdo.tracebacks import Frame, app_frame, exception_line, is_traceback, summary

CONSTRUCTOR = """Traceback (most recent call last):
  File "/u/.venv/lib/python3.11/site-packages/dotdo/localrt/python/_dotdo_host.py", line 168, in construct
    return cls(ctx, env)
  File "/home/u/desk/python_modules/dotdo/core/durable.py", line 87, in __call__
    instance = super().__call__(*args, **kwargs)
  File "/home/u/desk/python_modules/workers/entrypoints.py", line 295, in wrapped_init
    original_init(self, *args, **kwargs)
    ~~~~~~~~~~~~~^^^^^^^^^^^^^^^^^^^^^^^
  File "/home/u/desk/python_modules/dotdo/core/durable.py", line 158, in __init__
    self.routes(self.router)
    ~~~~~~~~~~~^^^^^^^^^^^^^
  File "/home/u/desk/src/entry.py", line 54, in routes
    router.get("queue")(self.queue_route)
    ~~~~~~~~~~^^^^^^^^^
  File "/home/u/desk/python_modules/dotdo/core/router.py", line 320, in get
    return self.route("GET", pattern, **options)
  File "/home/u/desk/python_modules/dotdo/core/route_patterns.py", line 56, in parse_pattern
    raise ValueError(f"Route patterns start with '/': {pattern!r}")
ValueError: Route patterns start with '/': 'queue'
"""


class JsException(Exception):
    """Pyodide's error for a JavaScript one, whose text is the Python traceback it carries."""


def test_a_constructors_traceback_is_named_by_its_exception_and_the_apps_frame() -> None:
    """The dotdo frames come first and the exception last: the first 300 characters of the
    text (what a 503 said) named neither."""
    assert is_traceback(CONSTRUCTOR) and not is_traceback("ValueError: x")
    assert exception_line(CONSTRUCTOR) == "ValueError: Route patterns start with '/': 'queue'"
    assert app_frame(CONSTRUCTOR) == Frame("/home/u/desk/src/entry.py", 54, "routes")
    assert summary(CONSTRUCTOR) == (
        "ValueError: Route patterns start with '/': 'queue' (/home/u/desk/src/entry.py, line 54, in routes)"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/lib/python312.zip/asyncio/base_events.py",  # Pyodide's library
        "/usr/lib/python3.12/json/decoder.py",
        "<frozen importlib._bootstrap>",
        "/session/metadata/python_modules/dotdo/core/router.py",  # vendored, on Cloudflare
        "/lib/python3.12/site-packages/pyodide/ffi/wrappers.py",
        "/work/dotdo/src/dotdo/core/router.py",  # an editable install
        "/home/u/.venv/lib/python3.12/site-packages/pydantic/main.py",
    ],
)
def test_no_frame_of_python_dotdo_or_a_package_is_the_apps(path: str) -> None:
    text = f'{CONSTRUCTOR.rsplit("ValueError", 1)[0]}  File "{path}", line 3, in f\nValueError: x\n'
    assert app_frame(text) == Frame("/home/u/desk/src/entry.py", 54, "routes")


def test_a_project_in_a_folder_named_dotdo_is_the_apps() -> None:
    text = 'Traceback (most recent call last):\n  File "/u/dotdo/src/entry.py", line 9, in f\nKeyError: 1\n'
    assert summary(text) == "KeyError: 1 (/u/dotdo/src/entry.py, line 9, in f)"


def test_without_a_frame_of_the_apps_the_exception_alone() -> None:
    text = 'Traceback (most recent call last):\n  File "/x/site-packages/a.py", line 1, in f\nTypeError: no\n'
    assert summary(text) == "TypeError: no"
    assert summary("Traceback (most recent call last):\nTypeError: no") == "TypeError: no"


def test_a_chained_exception_is_named_by_the_one_raised() -> None:
    """The blocks before "During handling ..." are the exceptions it replaced."""

    def first() -> None:
        raise KeyError("k")

    try:
        try:
            first()
        except KeyError as error:
            raise RuntimeError("wrapped") from error
    except RuntimeError as error:
        text = "".join(traceback.format_exception(error))
    frame = app_frame(text)
    assert exception_line(text) == "RuntimeError: wrapped"
    assert frame is not None and frame.name == "test_a_chained_exception_is_named_by_the_one_raised"


def test_a_message_of_several_lines_and_notes_give_the_first_line() -> None:
    error = ValueError("first line\nsecond line")
    error.add_note("a note")
    try:
        raise error
    except ValueError as raised:
        text = "".join(traceback.format_exception(raised))
    assert exception_line(text) == "ValueError: first line"


def test_a_text_of_no_traceback_is_its_last_line() -> None:
    assert exception_line("a\nTypeError: b\n\n") == "TypeError: b"
    assert exception_line("") == "" and app_frame("x") is None


def test_internal_error_names_a_remote_traceback_by_its_summary() -> None:
    """A remote object's exception (the passthrough's, a cross-object stub's) reaches
    `internal_error` as a JsException whose text is the traceback."""
    said = internal_error(JsException(CONSTRUCTOR), named=True, message="Failed")
    assert said == (
        "Failed: ValueError: Route patterns start with '/': 'queue' (/home/u/desk/src/entry.py, line 54, "
        "in routes) (ENVIRONMENT=development; the traceback is in the server's output)"
    )
    long = internal_error(JsException(f"Traceback (most recent call last):\nE: {'y' * 5000}"), named=True)
    assert len(long) < 400
    assert internal_error(JsException(CONSTRUCTOR), named=False) == "Internal error"
