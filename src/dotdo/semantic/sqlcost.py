"""`check_query_cost`: refuse a read-only query whose work the text alone lets grow past
what one request of a Durable Object can do.

A query's rows are bounded after it runs (`DOSemantic.query`); its work is not: SQLite reads
every combination of the tables a join names, and a Durable Object that computes past its
CPU limit (30 s a request by default on Cloudflare) or its isolate's 128 MB is reset, every
request in flight on it failing.
This check reads the tokens `validate_sql_query` found and refuses, before anything runs,
what multiplies the work: more than MAX_QUERY_TABLES row sources, and the functions whose
cost is a number the caller writes (`randomblob(n)`, `zeroblob(n)`, a `printf` width). What
is left grows with the data (a join of two large tables is quadratic in them, and no rule
on the text can know their rows), and SQLite caps each value a query builds at 2 MB on
Cloudflare (ADR 0055)."""

from __future__ import annotations

import re

from dotdo.errors import SqlSecurityError

__all__ = ["MAX_FORMAT_WIDTH", "MAX_QUERY_TABLES", "Token", "check_query_cost"]

Token = tuple[str, str]
"""One token of a query: `("word", NAME)` upper-cased, `("ident", name)` quoted,
`("string", value)` a single-quoted literal, `("mark", char)` any other character."""

MAX_QUERY_TABLES = 2
"""Most row sources one query may name: each `FROM`, `JOIN`, `,` of a `FROM` list,
`IN table`, `VALUES`, `UNION` / `EXCEPT` / `INTERSECT` and `OVER`; a table-valued function
of anything but a column (`json_each(?)`, `json_each('[1, 2]')`) counts twice, since its
rows come from a value of up to 2 MB (a million rows), not from the data.
Two is a table and another it joins or looks up, the largest of the documented queries;
three tables of 2,000 rows are 8 * 10^9 combinations (ADR 0055)."""

MAX_FORMAT_WIDTH = 100
"""Largest width or precision a `printf` / `format` string may write (`%-20s`, `%.2f`)."""

_QUERY_TOO_COSTLY = "query_too_costly"
# Words that end a FROM list at their depth; ON and USING do not (`a JOIN b ON x, c`).
_ENDS_FROM = frozenset(
    {"WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW", "UNION", "EXCEPT", "INTERSECT", "SELECT",
     "VALUES"}
)  # fmt: skip
# Words that open rows of their own where a source stands, never a table-valued function.
_ROWS_KEYWORDS = frozenset({("word", "VALUES"), ("word", "SELECT")})
# The tokens after which a `(` inside a FROM list stands where a source does.
_OPENS_SOURCE = frozenset({("word", "FROM"), ("word", "JOIN"), ("mark", ","), ("mark", "(")})
# Each makes rows of its own: a window's frame can revisit every row it windows, and
# `VALUES` or the parts of a compound SELECT make as many rows as the text lists.
_ADDS_ROWS = frozenset({"OVER", "VALUES", "UNION", "EXCEPT", "INTERSECT"})
# Functions whose result is as large as a number says: no read needs them, and a value of
# up to 2 MB a row costs as much CPU as it has bytes.
_SIZED = frozenset({"randomblob", "zeroblob"})
_FORMATS = frozenset({"printf", "format"})
# A conversion of SQLite's printf: flags, width, precision (`*` takes it from an argument).
_CONVERSION = re.compile(r"%[-+ 0#,!]*(\*|\d*)(?:\.(\*|\d*))?")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _too_costly(message: str) -> SqlSecurityError:
    return SqlSecurityError(message, code=_QUERY_TOO_COSTLY)


def _is_name(token: Token) -> bool:
    return token[0] in ("word", "ident")


def _made_rows(tokens: list[Token], start: int) -> bool:
    """Whether the source at `tokens[start]` is a table-valued function (`json_each(...)`)
    whose rows come from a value the query writes or binds rather than from a column: one
    such value of up to 2 MB is up to a million rows, whatever the tables hold."""
    if start >= len(tokens) or not _is_name(tokens[start]) or tokens[start] in _ROWS_KEYWORDS:
        return False
    at = start + 2 if tokens[start + 1 : start + 2] == [("mark", ".")] else start  # `main.f(...)`
    if tokens[at + 1 : at + 2] != [("mark", "(")]:
        return False
    argument = tokens[at + 2 : at + 6]  # `column`, or `table.column`, then `,` or `)`
    for size in (1, 3):
        shape = argument[:size]
        if (
            len(argument) > size
            and all(_is_name(token) for token in shape[::2])
            and all(token == ("mark", ".") for token in shape[1::2])
            and argument[size] in (("mark", ","), ("mark", ")"))
        ):
            return False
    return True


def _opens_window_clause(tokens: list[Token], index: int) -> bool:
    """Whether the `WINDOW` at `index` opens a WINDOW clause (`WINDOW w AS (...)`): SQLite
    takes the word as a name anywhere else (`FROM things window, things b` is a join of
    three, whose `,` a WINDOW read as a clause left uncounted)."""
    following = tokens[index + 1 : index + 3]
    return len(following) == 2 and _is_name(following[0]) and following[1] == ("word", "AS")


def _sources(tokens: list[Token]) -> int:
    """How many row sources `tokens` name (MAX_QUERY_TABLES says which count)."""
    count = 0
    in_from = [False]  # per parenthesis depth: inside a FROM list
    previous: list[Token] = [("mark", ""), ("mark", "")]
    for index, (kind, text) in enumerate(tokens):
        if kind == "mark" and text == "(":
            # A parenthesis where a source stands (`FROM (a, b)`, `JOIN (b, c)`, `((a, b), c)`)
            # groups a join: its `,` lists sources as the outer FROM's. A subquery there turns
            # this off at its SELECT; a call's or a condition's parenthesis never has it on.
            group = in_from[-1] and previous[-1] in _OPENS_SOURCE
            in_from.append(group)
            if group:  # its first source was counted once, where the group stands
                count += _made_rows(tokens, index + 1)
        elif kind == "mark" and text == ")":
            if len(in_from) > 1:
                in_from.pop()
        elif kind == "mark" and text == ",":
            if in_from[-1]:
                count += 1 + _made_rows(tokens, index + 1)
        elif kind == "word":
            if text == "FROM":
                # `a IS [NOT] DISTINCT FROM b` compares two values
                distinct = previous[-1] == ("word", "DISTINCT") and previous[-2][1] in ("IS", "NOT")
                if not distinct:
                    count += 1 + _made_rows(tokens, index + 1)
                    in_from[-1] = True
            elif text == "JOIN":
                count += 1 + _made_rows(tokens, index + 1)
            elif text in _ADDS_ROWS:
                count += 1
            elif text == "IN":
                following = tokens[index + 1] if index + 1 < len(tokens) else ("mark", "")
                count += following[0] != "mark"  # `x IN things`: a table, not a list
            if text in _ENDS_FROM and (text != "WINDOW" or _opens_window_clause(tokens, index)):
                in_from[-1] = False
        previous = [previous[-1], (kind, text)]
    return count


def _check_format(tokens: list[Token], start: int, name: str) -> None:
    """Refuse a `printf` / `format` call at `tokens[start]` (its `(`) whose format is not
    one string literal, or that writes a width or precision past MAX_FORMAT_WIDTH."""
    rule = (
        f"{name}() takes a format written as one string literal with widths and precisions "
        f"of at most {MAX_FORMAT_WIDTH} (no '*'): a width is as many bytes a row"
    )
    literal = tokens[start + 1] if start + 1 < len(tokens) else ("mark", "")
    after = tokens[start + 2] if start + 2 < len(tokens) else ("mark", "")
    if literal[0] != "string" or after[0] != "mark" or after[1] not in ",)":
        raise _too_costly(rule)
    for match in _CONVERSION.finditer(literal[1].replace("%%", "")):
        for number in match.groups():
            if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
                raise _too_costly(rule)


def check_query_cost(tokens: list[Token]) -> None:
    """Raise SqlSecurityError (400 `query_too_costly`) when the query `tokens` spell names
    more than MAX_QUERY_TABLES row sources, calls `randomblob` or `zeroblob`, or calls
    `printf` / `format` with a format that is not one string literal or that writes a width
    or precision past MAX_FORMAT_WIDTH (or takes one from an argument, `*`)."""
    for index, (kind, text) in enumerate(tokens[:-1]):
        if kind == "mark" or tokens[index + 1] != ("mark", "("):
            continue
        name = text.translate(_ASCII_LOWER)  # SQLite reads a quoted name as a function too
        if name in _SIZED:
            raise _too_costly(
                f"{name}() not allowed in a read-only query: it builds a value as large as its "
                "argument says (bind a value as a parameter instead)"
            )
        if name in _FORMATS:
            _check_format(tokens, index + 1, name)
    sources = _sources(tokens)
    if sources > MAX_QUERY_TABLES:
        raise _too_costly(
            f"A read-only query names at most {MAX_QUERY_TABLES} row sources (each FROM, JOIN, "
            "',' of a FROM list, IN table, VALUES, UNION and OVER counts; json_each of a value "
            f"rather than a column counts twice), not {sources}: its work is the product of "
            "their rows. Send one query a table or pair and combine the answers"
        )
