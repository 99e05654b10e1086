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
# expansion of `${NAME}`); this is that function's pattern and steps. `\w` is ASCII there
# (no `u` flag), so re.ASCII.
_LINE = re.compile(
    r"^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)"
    r"(\s*'(?:\\'|[^'])*'|\s*\"(?:\\\"|[^\"])*\"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?"
    r"\s*(?:#.*)?$",
    re.MULTILINE | re.ASCII,
)
_QUOTED = re.compile(r"^(['\"`])([\s\S]*)\1$", re.MULTILINE)


def parse_dotenv(text: str) -> dict[str, str]:
    """`NAME=value` lines (dotenv syntax) as a dict, as dotenv's `parse` reads them: `export `
    and `NAME: value` allowed, `#` comments, values in '', "" or `` quotes (which may span
    lines; "\\n" and "\\r" in double quotes are a newline and a carriage return), the last
    of a repeated name wins. A line that is none of these is skipped, never an error."""
    lines = re.sub(r"\r\n?", "\n", text)
    found: dict[str, str] = {}
    position = 0
    while (match := _LINE.search(lines, position)) is not None:
        position = match.end()  # never empty: a name has one character at least
        value = (match.group(2) or "").strip()
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
    file. OSError (other than a missing file) and UnicodeDecodeError propagate."""
    try:
        text = dev_vars_path(config).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_dotenv(text)
