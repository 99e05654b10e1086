"""`validate_sql_query`: admit a single read-only SELECT of the tables a caller may see.

A tokenizer walks the text (string literals, quoted identifiers, comments), so a
keyword inside a literal is data and a `;` inside one is not a statement break.
The read-only query API also runs what passes inside a transaction that is
rolled back if anything was written: this check is the first wall, not the only one.

A caller sees the document's tables (`state`, `things`, `events`, `schedules`,
`action_log`) and the app's own, never dotdo's plumbing (`dotdo_*`, `_dotdo*`),
Cloudflare's (`_cf_*`) or SQLite's (`sqlite_*`, the `pragma_*` functions, `dbstat`).
Every name in the text is checked, whatever its place and quoting: SQLite reads a
quoted identifier and even a string literal as a table name (`FROM 'dotdo_nouns'`,
`x IN "dotdo_nouns"`, `'pragma_table_list'()`), and SQL has no other way to name a
table, so no hidden name in the text means no hidden table read (ADR 0013). What an
admitted SELECT may cost is checked from the same tokens by `sqlcost` (ADR 0055).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dotdo.core.sqlparams import parameters
from dotdo.errors import BadRequest, SqlSecurityError
from dotdo.semantic.sqlcost import Token, check_query_cost
from dotdo.values import int64_error

__all__ = [
    "HIDDEN_PREFIXES",
    "MAX_SQL_LENGTH",
    "SqlSecurityError",
    "is_hidden_name",
    "is_query_plan",
    "param_error",
    "query_params",
    "validate_sql_query",
]

MAX_SQL_LENGTH = 10_000

_FORBIDDEN = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "UPSERT", "MERGE", "DROP", "CREATE", "ALTER",
        "TRUNCATE", "ATTACH", "DETACH", "PRAGMA", "VACUUM", "REINDEX", "ANALYZE", "BEGIN",
        "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "TRANSACTION", "GRANT", "REVOKE",
        "LOAD_EXTENSION", "RETURNING", "EXPLAIN",
    }
)  # fmt: skip
# Not listed: REPLACE and END, which are also the replace() function and CASE ... END;
# a statement of their own cannot get past the SELECT-first and one-statement rules.

HIDDEN_PREFIXES = ("dotdo_", "_dotdo", "_cf_", "sqlite_", "pragma_")
"""Names starting with these (ASCII case ignored, as SQLite does) are not readable: dotdo's
plumbing tables, Cloudflare's internal tables, SQLite's schema tables and the PRAGMA
table-valued functions. An app's own tables must not start with them."""
_HIDDEN_NAMES = frozenset({"dbstat", "bytecode", "tables_used"})  # they list every table
_HIDDEN_RULE = (
    "hidden: dotdo_*, _dotdo*, _cf_*, sqlite_*, pragma_*, bytecode, dbstat, tables_used; "
    "a value that looks like one is bound as a parameter"
)
# SQLite's scalar functions of the reserved prefix: no table or table-valued function has
# these names, and none can be created (sqlite_ names are SQLite's own).
_SQLITE_FUNCTIONS = frozenset(
    {"sqlite_version", "sqlite_source_id", "sqlite_compileoption_used", "sqlite_compileoption_get",
     "sqlite_offset"}
)  # fmt: skip
# SQLite's identifier characters: ASCII letters, digits, `_`, `$` (not first) and every
# character past ASCII (sqlite3IsIdChar). Written as the ASCII characters that are not
# (negated classes): the same sets as `[A-Za-z_\u0080-\U0010ffff]` and
# `[A-Za-z0-9_$\u0080-\U0010ffff]`, which `re` took ~7 ms (CPython) to compile at import.
_WORD = re.compile(
    r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"  # a letter, `_` or past ASCII
    r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*"  # and digits, `$`
)
_VARIABLE_MARKS = "$@:#"
_TCL_VARIABLE_RULE = (
    "A named parameter followed by '(' is not allowed: SQLite reads `$name(...)` to the next "
    "')' or space as one parameter name, quotes included"
)


def _runs_into_paren(sql: str, start: int) -> bool:
    """Whether the named parameter at `start` (`$a`, `@a`, `:a`, `#a`, with `::` inside) has
    a name that runs on into `(`, as SQLite's tokenizer reads it: SQLite then takes
    everything up to the next `)` or space as the name (its Tcl variable form,
    https://sqlite.org/c3ref/bind_blob.html), `"` and `'` included, so a quote the text seems
    to open there is no quote to SQLite and the rest of the text is read another way."""
    i, named = start + 1, False
    while i < len(sql):
        c = sql[i]
        if c.isalnum() or c in "_$" or ord(c) >= 0x80:  # sqlite3IsIdChar, past ASCII included
            named, i = True, i + 1
        elif c == ":" and sql.startswith("::", i):
            i += 2
        else:
            return c == "(" and named
    return False


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def is_hidden_name(name: str) -> bool:
    """Whether `name` (unquoted) is a table or function the read-only query may not read."""
    folded = name.translate(_ASCII_LOWER)  # SQLite folds ASCII letters only
    if folded in _SQLITE_FUNCTIONS:
        return False
    return folded.startswith(HIDDEN_PREFIXES) or folded in _HIDDEN_NAMES


def _tokens(sql: str) -> tuple[list[str], list[str], list[Token]]:
    """The bare words of `sql` in order, upper-cased; every name it holds (bare words,
    quoted identifiers and string literals, unquoted); and every token in order, marks
    included (`sqlcost` reads its shape). Raises on comments, a second statement or an
    unterminated literal."""
    words: list[str] = []
    names: list[str] = []
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = i + 1
            while True:
                end = sql.find(ch, end)
                if end == -1:
                    raise SqlSecurityError("Unterminated string or quoted identifier")
                if end + 1 < n and sql[end + 1] == ch:  # a doubled quote is an escaped quote
                    end += 2
                    continue
                break
            names.append(sql[i + 1 : end].replace(ch + ch, ch))
            tokens.append(("string" if ch == "'" else "ident", names[-1]))
            i = end + 1
        elif ch == "[":
            end = sql.find("]", i + 1)
            if end == -1:
                raise SqlSecurityError("Unterminated quoted identifier")
            names.append(sql[i + 1 : end])
            tokens.append(("ident", names[-1]))
            i = end + 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            raise SqlSecurityError("Comments not allowed")
        elif ch == ";":
            if sql[i + 1 :].strip():
                raise SqlSecurityError("Multiple statements not allowed")
            i = n
        elif ch == "\x00":
            raise SqlSecurityError("NUL characters not allowed")
        elif ch in _VARIABLE_MARKS and _runs_into_paren(sql, i):
            raise SqlSecurityError(_TCL_VARIABLE_RULE)
        else:
            match = _WORD.match(sql, i)
            if match:
                words.append(match.group(0).upper())
                names.append(match.group(0))
                tokens.append(("word", words[-1]))
                i = match.end()
            else:
                if not ch.isspace():
                    tokens.append(("mark", ch))
                i += 1
    return words, names, tokens


_PLAN = ["EXPLAIN", "QUERY", "PLAN"]
# A common table expression is recursive as soon as it names itself, RECURSIVE or not
# (https://sqlite.org/lang_with.html), and a recursive one can run for ever: one nested in a
# SELECT froze the object (every tenant of a local runtime). What a query without WITH may
# still ask for (joins, built values) is bounded by `check_query_cost`.
_WITH_RULE = (
    "WITH not allowed in a read-only query, nested or not: a common table expression "
    "can recurse without end (SQLite makes one recursive by naming itself)"
)


def is_query_plan(sql: str) -> bool:
    """Whether `sql`, which `validate_sql_query` admitted, is `EXPLAIN QUERY PLAN SELECT ...`."""
    return _tokens(sql)[0][:3] == _PLAN


def validate_sql_query(sql: object) -> str:
    """Return `sql` if it is one read-only SELECT naming no hidden table, or such a SELECT
    after `EXPLAIN QUERY PLAN` (SQLite's plan of it: which index serves it,
    https://sqlite.org/eqp.html); raise SqlSecurityError (400 `invalid_sql`) saying why not.

    A name is hidden when `is_hidden_name` says so, wherever it stands in the text: a
    string literal that looks like one is refused too (bind such a value as a parameter).
    `WITH` is refused wherever it stands outside a literal (a common table expression
    can recurse without end). A SELECT that asks for more work than `check_query_cost`
    allows (more than two row sources, `randomblob`, `zeroblob`, a wide `printf`) raises
    SqlSecurityError 400 `query_too_costly`; its `EXPLAIN QUERY PLAN`, which runs nothing,
    is answered.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise SqlSecurityError("Query is empty")
    if len(sql) > MAX_SQL_LENGTH:
        raise SqlSecurityError(f"Query is longer than {MAX_SQL_LENGTH} characters")
    words, names, tokens = _tokens(sql)
    plan = words[:3] == _PLAN
    if plan:
        words = words[3:]
    elif words[:1] == ["EXPLAIN"]:  # EXPLAIN alone lists the bytecode, every table it opens
        raise SqlSecurityError("EXPLAIN is allowed only as EXPLAIN QUERY PLAN SELECT ...")
    if words[:1] == ["WITH"]:  # a leading CTE is a SELECT's too: "Only SELECT" misled there
        raise SqlSecurityError(_WITH_RULE)
    if not words or words[0] != "SELECT":
        raise SqlSecurityError("Only SELECT statements are allowed")
    for word in words:
        if word in _FORBIDDEN:
            raise SqlSecurityError(f"{word} not allowed in a read-only query")
        if word == "WITH":
            raise SqlSecurityError(_WITH_RULE)
    for name in names:
        if is_hidden_name(name):
            raise SqlSecurityError(f"{name!r} is internal and not readable through query ({_HIDDEN_RULE})")
    if not plan:  # a plan is not run: it shows what a refused query would read
        check_query_cost(tokens)
    return sql


def query_params(sql: str, params: Any, limit: int) -> list[Any]:
    """The values to bind for `sql` (a query `validate_sql_query` admitted) from `params`:
    None (no values), an array (a value a parameter, by number, as SQLite numbers them), or
    an object binding the named parameters by name, without their mark: `{"id": 7}` binds
    `:id` (and `@id`, `$id`, `#id`, each of them written). Raises BadRequest 400
    `invalid_params` for more than `limit` values, a value `param_error` refuses, an array
    of another length than the parameters the query takes, an object for a query with a
    `?` parameter, a named parameter the object has no value for, or a key the query does
    not use (most likely misspelled)."""
    count, named = parameters(sql)
    if count > limit:
        raise BadRequest(
            f"A query takes at most {limit} params (its ?NNN at most ?{limit})", code="invalid_params"
        )
    names = tuple(named.get(number) for number in range(1, count + 1))
    values = _by_name(names, params) if isinstance(params, Mapping) else list(params or [])
    if len(values) > limit:
        raise BadRequest(f"A query takes at most {limit} params", code="invalid_params")
    for index, value in enumerate(values):
        error = param_error(value)
        if error:
            name = names[index] if isinstance(params, Mapping) else None
            where = f".{name[1:]}" if name else f"[{index}]"
            raise BadRequest(f"params{where}: {error}", code="invalid_params")
    if len(values) != len(names):
        written = ", ".join(name or "?" for name in names[:10]) + (", ..." if len(names) > 10 else "")
        raise BadRequest(
            f"The query takes {len(names)} parameter{'' if len(names) == 1 else 's'}"
            f"{f' ({written})' if names else ''}; params has {len(values)}",
            code="invalid_params",
        )
    return values


def _by_name(names: tuple[str | None, ...], params: Mapping[Any, Any]) -> list[Any]:
    if any(name is None for name in names):
        raise BadRequest(
            "params is an object, which binds named parameters (:name, @name, $name) by name, "
            "but the query has ? parameters: send params as an array",
            code="invalid_params",
        )
    wanted = [name[1:] for name in names if name is not None]
    unused = sorted(str(key) for key in params if key not in wanted)
    if unused:
        raise BadRequest(
            f"params names {', '.join(map(repr, unused))}, which the query does not use "
            f"(it takes {', '.join(map(repr, wanted)) or 'no parameters'})",
            code="invalid_params",
        )
    missing = [name for name in dict.fromkeys(wanted) if name not in params]
    if missing:
        raise BadRequest(f"params has no value for {', '.join(map(repr, missing))}", code="invalid_params")
    return [params[name] for name in wanted]


def param_error(value: Any) -> str | None:
    """Why a query parameter (`DOSemantic.query`'s `params`) cannot be bound, or None."""
    if value is None or isinstance(value, bool | str | bytes):
        return None
    if isinstance(value, int):
        return int64_error(value)
    if isinstance(value, float):
        return "NaN has no SQLite value" if math.isnan(value) else None
    return "params are strings, numbers, booleans, null or bytes"
