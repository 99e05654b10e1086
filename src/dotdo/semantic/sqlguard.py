"""`validate_sql_query`: admit a single read-only SELECT and nothing else.

A tokenizer walks the text (string literals, quoted identifiers, comments), so a
keyword inside a literal is data and a `;` inside one is not a statement break.
The read-only query API also runs what passes inside a transaction that is
rolled back if anything was written: this check is the first wall, not the only one.
"""

from __future__ import annotations

import re

from dotdo.errors import SqlSecurityError

__all__ = ["MAX_SQL_LENGTH", "SqlSecurityError", "validate_sql_query"]

MAX_SQL_LENGTH = 10_000

_FORBIDDEN = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "UPSERT", "MERGE", "DROP", "CREATE", "ALTER",
        "TRUNCATE", "ATTACH", "DETACH", "PRAGMA", "VACUUM", "REINDEX", "ANALYZE", "BEGIN",
        "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "TRANSACTION", "GRANT", "REVOKE",
        "LOAD_EXTENSION", "RETURNING",
    }
)  # fmt: skip
# Not listed: REPLACE and END, which are also the replace() function and CASE ... END;
# a statement of their own cannot get past the SELECT-first and one-statement rules.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _words(sql: str) -> list[str]:
    """The bare words of `sql` in order (literals and quoted identifiers skipped); raises on
    comments, a second statement or an unterminated literal."""
    words: list[str] = []
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
            i = end + 1
        elif ch == "[":
            end = sql.find("]", i + 1)
            if end == -1:
                raise SqlSecurityError("Unterminated quoted identifier")
            i = end + 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            raise SqlSecurityError("Comments not allowed")
        elif ch == ";":
            if sql[i + 1 :].strip():
                raise SqlSecurityError("Multiple statements not allowed")
            i = n
        elif ch == "\x00":
            raise SqlSecurityError("NUL characters not allowed")
        else:
            match = _WORD.match(sql, i)
            if match:
                words.append(match.group(0).upper())
                i = match.end()
            else:
                i += 1
    return words


def validate_sql_query(sql: object) -> str:
    """Return `sql` if it is one read-only SELECT; raise SqlSecurityError saying why not."""
    if not isinstance(sql, str) or not sql.strip():
        raise SqlSecurityError("Query is empty")
    if len(sql) > MAX_SQL_LENGTH:
        raise SqlSecurityError(f"Query is longer than {MAX_SQL_LENGTH} characters")
    words = _words(sql)
    if not words or words[0] != "SELECT":
        raise SqlSecurityError("Only SELECT statements are allowed")
    for word in words:
        if word in _FORBIDDEN:
            raise SqlSecurityError(f"{word} not allowed in a read-only query")
    return sql
