"""A Python traceback read back from its text: what another object's error says of its cause.

A Python exception that leaves a Durable Object (its constructor's, say) reaches the caller
(the passthrough worker, another object's Workers RPC stub) as a runtime error whose text is
the whole traceback, dotdo's own frames first. What the caller names is the exception's line
and the frame in the app's code that raised it, not the traceback's first characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HEADER", "Frame", "app_frame", "error_said", "exception_line", "is_traceback", "summary"]

HEADER = "Traceback (most recent call last):"

_FRAME = re.compile(r'^\s*File "(?P<path>[^"]*)", line (?P<line>\d+), in (?P<name>.+?)\s*$')
_STDLIB = re.compile(r"/lib/python\d[\d.]*(\.zip)?/|^<")
"""Python's library (CPython's `lib/python3.12/`, Pyodide's `/lib/python312.zip/`) and the
frames of no file (`<frozen importlib._bootstrap>`, `<string>`)."""
_INSTALLED = re.compile(r"/(site-packages|dist-packages|python_modules)/")
"""Installed packages: dotdo itself as installed or vendored, the Workers SDK, Pyodide's
and every other dependency."""
_CHECKOUT = re.compile(r"/src/dotdo/")
"""dotdo run from its own source tree (an editable install)."""
_OWN = str(Path(__file__).resolve().parent) + "/"


@dataclass(frozen=True)
class Frame:
    """One `File "<path>", line <line>, in <name>` of a traceback."""

    path: str
    line: int
    name: str

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}, in {self.name}"


def is_traceback(text: str) -> bool:
    """Whether `text` holds a Python traceback (Pyodide's words for a Python exception)."""
    return HEADER in text


def _last_block(text: str) -> list[str]:
    """The lines of the traceback's last block: a chained exception's (`During handling of
    the above exception ...`) is the one raised."""
    return text[text.rindex(HEADER) + len(HEADER) :].splitlines()


def exception_line(text: str) -> str:
    """The exception a traceback ends with, `Type: message` (its first line; its notes and
    the rest of a message of several lines left out); the last line of a text that is no
    traceback, or one whose shape is not Python's own (an exception group's)."""
    if is_traceback(text):
        for line in _last_block(text):
            if line.strip() and not line[:1].isspace():
                return line.rstrip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _is_app(path: str) -> bool:
    if path.startswith(_OWN):
        return False
    return not any(pattern.search(path) for pattern in (_STDLIB, _INSTALLED, _CHECKOUT))


def app_frame(text: str) -> Frame | None:
    """The last frame of the traceback in `text` that is the app's: outside dotdo, Python's
    library and every installed package (the line a developer edits; a library's frames
    below it only say how the app's call failed). None when no frame is the app's."""
    if not is_traceback(text):
        return None
    found = None
    for line in _last_block(text):
        match = _FRAME.match(line)
        if match is not None and _is_app(match["path"]):
            found = Frame(match["path"], int(match["line"]), match["name"])
    return found


def summary(text: str, *, limit: int | None = None) -> str:
    """A traceback in one line: `ValueError: ... (/app/src/entry.py, line 54, in routes)`,
    its exception (its first `limit` characters, with `limit`) and the app's frame that
    raised it (`app_frame`), or the exception alone."""
    frame = app_frame(text)
    said = exception_line(text)[:limit]
    return f"{said} ({frame})" if frame is not None else said


def error_said(name: str, text: str, limit: int) -> str:
    """An error of type `name` and text `text` in at most about `limit` characters: `Type:
    text`, or the type alone for no text; a traceback (another object's exception, whose
    first characters are dotdo's frames, never the exception) by its `summary`."""
    if is_traceback(text):
        return summary(text, limit=limit)
    return (f"{name}: {text}" if text else name)[:limit]
