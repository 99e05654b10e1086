"""A project's files of local values beside the wrangler config, which `dotdo dev` serves
with: `.dev.vars`, or when there is none `.env` and `.env.local` (its build copies them for
wrangler, which chooses among them and parses them).

Commands that need one of those values on the host (`dotdo token mint` needs the
`DOTDO_SECRET` the dev server checks tokens with) read it here, chosen and parsed as
wrangler does, so that a value means the same to both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "DEV_VARS",
    "DOT_ENV",
    "dev_vars_path",
    "local_vars_files",
    "parse_dotenv",
    "read_dev_vars",
    "read_local_vars",
]

DEV_VARS = ".dev.vars"
"""The file's name, beside the wrangler config."""

DOT_ENV = (".env", ".env.local")
"""The dotenv files wrangler's dev reads beside the config when there is no `.dev.vars`,
least specific first (a later file's value wins): wrangler 4.86 `getDefaultEnvFiles`, for
no `--env` (Cloudflare's "Environment variables and secrets" page for local development)."""

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


def local_vars_files(config: Path, environ: Mapping[str, str] = os.environ) -> tuple[Path, ...]:
    """The files of local values wrangler's dev reads beside `config`, as wrangler 4.86's
    `getVarsForDev` chooses them: its `.dev.vars` when there is one, else those of `DOT_ENV`
    that exist, unless `environ` sets `CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV` to false;
    empty when none is there. Values read from `.env` files are expanded by wrangler
    (`$NAME`, dotenv-expand), values of `.dev.vars` are not."""
    dev_vars = dev_vars_path(config)
    if dev_vars.is_file():
        return (dev_vars,)
    if environ.get("CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV", "").strip().lower() == "false":
        return ()
    return tuple(f for f in (config.parent / name for name in DOT_ENV) if f.is_file())


def read_local_vars(
    config: Path, environ: Mapping[str, str] = os.environ
) -> list[tuple[Path, dict[str, str]]]:
    """Each file of `local_vars_files` with its values (`parse_dotenv`), in the order wrangler
    reads them (a later file's value wins); a file gone meanwhile is left out. Bytes that are
    not UTF-8 read as U+FFFD, as node reads them for wrangler. OSError (other than a file
    gone) propagates."""
    read: list[tuple[Path, dict[str, str]]] = []
    for file in local_vars_files(config, environ):
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        read.append((file, parse_dotenv(text)))
    return read


def read_dev_vars(config: Path, environ: Mapping[str, str] = os.environ) -> dict[str, str] | None:
    """The local values of `config` (`read_local_vars`, merged: a later file's value wins),
    or None when there is no such file. OSError (other than a file gone) propagates."""
    read = read_local_vars(config, environ)
    return {name: value for _, values in read for name, value in values.items()} if read else None
