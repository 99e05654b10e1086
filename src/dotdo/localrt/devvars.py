"""A project's `.dev.vars`: wrangler's file of local secrets beside the wrangler config,
which `dotdo dev` serves with (its build copies the file for wrangler, which parses it).

Commands that need one of those values on the host (`dotdo token mint` needs the
`DOTDO_SECRET` the dev server checks tokens with) read it here, parsed as wrangler parses
it, so that a value means the same to both.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["DEV_VARS", "dev_vars_path", "parse_dotenv", "read_dev_vars"]

DEV_VARS = ".dev.vars"
"""The file's name, beside the wrangler config."""

# wrangler 4.86 parses `.dev.vars` with its bundled dotenv 16.3.1 (`dotenv.parse`, no
# expansion of `${NAME}`); this is that function's pattern and steps, with JavaScript's
# meanings spelled out where Python's differ: `\s` and `trim()` are JavaScript's white space
# (U+FEFF, NBSP and the Unicode spaces among it: a file saved "UTF-8 with BOM" starts with
# U+FEFF, which `\s` in Python does not match), `\w` is ASCII (no `u` flag), and `^`, `$` and
# `.` of a multiline pattern know U+2028 and U+2029 as line ends (CR is gone by then).
_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_S = f"[{_SPACE}]"
_START = "(?<![^\n\u2028\u2029])"  # JavaScript's `^` with the `m` flag
_END = "(?![^\n\u2028\u2029])"  # and its `$`
_LINE = re.compile(
    rf"{_START}{_S}*(?:export{_S}+)?([A-Za-z0-9_.-]+)(?:{_S}*={_S}*?|:{_S}+?)"
    rf"({_S}*'(?:\\'|[^'])*'|{_S}*\"(?:\\\"|[^\"])*\"|{_S}*`(?:\\`|[^`])*`|[^#\r\n]+)?"
    rf"{_S}*(?:#[^\n\r\u2028\u2029]*)?{_END}"
)
_QUOTED = re.compile(rf"{_START}(['\"`])([\s\S]*)\1{_END}")


def parse_dotenv(text: str) -> dict[str, str]:
    """`NAME=value` lines (dotenv syntax) as a dict, as dotenv's `parse` reads them: `export `
    and `NAME: value` allowed, `#` comments, values in '', "" or `` quotes (which may span
    lines; "\\n" and "\\r" in double quotes are a newline and a carriage return), the last
    of a repeated name wins, white space (JavaScript's, a BOM among it) around names and
    values ignored. A line that is none of these is skipped, never an error."""
    lines = re.sub(r"\r\n?", "\n", text)
    found: dict[str, str] = {}
    position = 0
    while (match := _LINE.search(lines, position)) is not None:
        position = match.end()  # never empty: a name has one character at least
        value = (match.group(2) or "").strip(_SPACE)
        double_quoted = value.startswith('"')
        value = _QUOTED.sub(r"\2", value)
        if double_quoted:
            value = value.replace("\\n", "\n").replace("\\r", "\r")
        found[match.group(1)] = value
    return found


def dev_vars_path(config: Path) -> Path:
    """Where the `.dev.vars` of the wrangler config `config` is: beside it."""
    return config.parent / DEV_VARS


def read_dev_vars(config: Path) -> dict[str, str] | None:
    """The values of `config`'s `.dev.vars` (`parse_dotenv`), or None when there is no such
    file. Bytes that are not UTF-8 read as U+FFFD, as node reads them for wrangler. OSError
    (other than a missing file) propagates."""
    try:
        text = dev_vars_path(config).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    return parse_dotenv(text)
