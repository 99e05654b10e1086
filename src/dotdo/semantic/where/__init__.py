"""MongoDB-style where clauses: validation (`clause`), SQL pushdown (`sql`) and a Python
evaluator (`evaluate`), which agree.

    {"age": {"$gte": 18}, "plan": {"$in": ["pro", "team"]}, "address.city": "Oslo"}

Semantics (the same in SQL and in Python; a property test holds them together):

* A field is a dotted path into the thing's properties, or one of the thing's own
  fields (`$id`, `$type`, `$created_at`, `$updated_at`, `$deleted_at`, `$version`).
  A path through something that is not an object reaches nothing (missing).
* Operands are scalars: strings, numbers, booleans, null. Values compare only
  within their own kind: numbers with numbers, strings with strings (by code
  point), so `{"n": {"$gt": 5}}` never matches a string and `{"n": 1}` never
  matches `true`. Arrays and objects are never equal to an operand.
* `{"f": null}` and `{"f": {"$eq": null}}` match a missing field or a null one;
  `$exists: true` matches any present field, null included.
* `$ne`, `$nin` and `$not` are the exact negations of `$eq`, `$in` and their clause.
* Arrays: `{"tags": {"$all": ["vip", 3]}}` matches an array holding every
  operand (each compared like `$eq`, so `null` matches a null element);
  `{"tags": {"$size": 2}}` an array of that many elements. A value that is not
  an array matches neither.
* `$regex` (with optional `$options` from "imsx") matches strings as Python's
  `re.search` does, in time linear in the string (`dotdo.semantic.pattern`: no
  backreferences or lookaround); SQLite cannot evaluate it, so it runs in Python
  after the rest of the clause has narrowed the rows in SQL.

Field names are checked against a strict pattern before they are written into
a JSON path, and every operand is bound: all of a clause's operands travel as one
JSON array parameter (`:ops`), so no clause the validation accepts can pass
SQLite's limits on Cloudflare (100 parameters, 100 KB statements, expression
trees 100 deep); a conjunct that would overflow the statement runs in Python.
"""

from __future__ import annotations

from dotdo.errors import QueryValidationError
from dotdo.semantic.where.clause import (
    MAX_CONDITIONS,
    MAX_IN_VALUES,
    MAX_REGEX_LENGTH,
    MAX_WHERE_DEPTH,
    parse_where,
    validate_where_clause,
)
from dotdo.semantic.where.evaluate import evaluate, matches
from dotdo.semantic.where.sql import (
    MAX_OPERAND_BYTES,
    MAX_STATEMENT_BYTES,
    MAX_WHERE_SQL_BYTES,
    OPERANDS,
    Pushdown,
    balanced,
    compile_where,
    field_sql,
)

__all__ = [
    "MAX_CONDITIONS",
    "MAX_IN_VALUES",
    "MAX_OPERAND_BYTES",
    "MAX_REGEX_LENGTH",
    "MAX_STATEMENT_BYTES",
    "MAX_WHERE_DEPTH",
    "MAX_WHERE_SQL_BYTES",
    "OPERANDS",
    "Pushdown",
    "QueryValidationError",
    "balanced",
    "compile_where",
    "evaluate",
    "field_sql",
    "matches",
    "parse_where",
    "validate_where_clause",
]
