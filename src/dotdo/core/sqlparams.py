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

__all__ = ["numbered_parameters", "parameter_names"]

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
            number = int(token[1:])
            highest = max(highest, number)
        else:
            if token not in named:
                highest += 1
                named[token] = highest
            number = named[token]
        yield match, number


@functools.lru_cache(maxsize=256)
def parameter_names(query: str) -> tuple[str | None, ...]:
    """The parameters `query` takes, by number: entry i is parameter i + 1's name as written
    (`":id"`, with its mark), or None for a `?` / `?NNN` one and for a number no placeholder
    uses (`?3` alone takes three values, as SQLite binds them). Its length is how many values
    the statement binds."""
    names: dict[int, str | None] = {}
    for match, number in numbered_parameters(query):
        token = match.group("param")
        names.setdefault(number, None if token[0] == "?" else token)
    count = max(names, default=0)
    return tuple(names.get(number) for number in range(1, count + 1))
