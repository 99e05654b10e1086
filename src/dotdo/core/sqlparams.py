"""A statement's parameters as SQLite numbers them (https://sqlite.org/lang_expr.html#varparam):
`?` is one more than the largest number so far, `?NNN` is NNN, and a named parameter
(`:name`, `@name`, `$name`, `#name`; `$a::b` is one name) takes the next number at its first
use and keeps it. The SQL facade rewrites the placeholders of integer parameters by these
numbers (`dotdo.core.sql.bind_parameters`), and the read-only query binds parameters by
name through them (`dotdo.semantic.sqlguard.query_params`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

__all__ = ["MAX_NUMBER", "numbered_parameters", "parameters"]

MAX_NUMBER = 32_766
"""The largest parameter number any SQLite takes (SQLITE_MAX_VARIABLE_NUMBER's ceiling);
Cloudflare's takes 100."""

# The tokens of SQLite's grammar that may hold a `?` or `:name` without being a parameter
# (literals, quoted identifiers, comments, words), then the parameters. A name's characters
# are SQLite's identifier characters (ASCII letters, digits, `_`, `$`, anything past ASCII),
# with `::` inside (its tokenizer's Tcl form); https://sqlite.org/lang_keywords.html
_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'
    | "(?:[^"]|"")*"
    | `(?:[^`]|``)*`
    | \[[^\]]*\]
    | --[^\n]*
    | /\*.*?(?:\*/|\Z)
    | (?P<param>\?[0-9]*|[:@$\#](?:[A-Za-z0-9_$]|[^\x00-\x7f]|::)+)
    | (?:[A-Za-z0-9_]|[^\x00-\x7f])(?:[A-Za-z0-9_$]|[^\x00-\x7f])*
    """,
    re.VERBOSE | re.DOTALL,
)


def numbered_parameters(query: str) -> Iterator[tuple[re.Match[str], int]]:
    """Each parameter placeholder of `query` in text order, with its number (1-based)."""
    highest = 0
    named: dict[str, int] = {}
    for match in _TOKENS.finditer(query):
        token = match.group("param")
        if token is None:
            continue
        if token == "?":
            highest += 1
            number = highest
        elif token[0] == "?":
            # `?NNN` past SQLite's limit (100 on Cloudflare; 32,766 at most anywhere) is one
            # number beyond every limit: read as written, a thousand digits would be a
            # number Python refuses to convert and a million a list to build.
            digits = token[1:].lstrip("0") or "0"  # SQLite reads `?0001` as `?1`
            number = int(digits) if len(digits) <= 5 else MAX_NUMBER + 1
            highest = max(highest, number)
        else:
            if token not in named:
                highest += 1
                named[token] = highest
            number = named[token]
        yield match, number


@functools.lru_cache(maxsize=256)
def parameters(query: str) -> tuple[int, dict[int, str]]:
    """How many values `query` binds (its largest parameter number: `?3` alone takes
    three, as SQLite binds them; more than MAX_NUMBER for a `?NNN` past any SQLite limit)
    and the names of its named parameters by number (`{2: ":id"}`, with the mark)."""
    names: dict[int, str] = {}
    count = 0
    for match, number in numbered_parameters(query):
        token = match.group("param")
        if token[0] != "?":
            names.setdefault(number, token)
        count = max(count, number)
    return count, names
