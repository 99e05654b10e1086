"""MongoDB-style where clauses: validation, SQL pushdown and a Python evaluator.

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

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from dotdo.errors import QueryValidationError
from dotdo.semantic.names import SYSTEM_FIELDS, field_path_error
from dotdo.semantic.pattern import Pattern, compile_pattern
from dotdo.values import INT64_MAX, int64_error

__all__ = [
    "MAX_IN_VALUES",
    "MAX_WHERE_DEPTH",
    "Pushdown",
    "QueryValidationError",
    "compile_where",
    "matches",
    "parse_where",
    "validate_where_clause",
]

MAX_WHERE_DEPTH = 12
MAX_IN_VALUES = 500
MAX_REGEX_LENGTH = 256
MAX_CONDITIONS = 200

_COMPARISONS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
_FIELD_OPERATORS = _COMPARISONS | {"$in", "$nin", "$exists", "$regex", "$options", "$not", "$all", "$size"}
_LOGICAL = {"$and", "$or", "$not"}
_SQL_COMPARE = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


# -- the parsed clause ---------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    path: str
    op: str  # $eq $gt $gte $lt $lte $in $exists $regex $all $size
    value: Any
    flags: int = 0


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    part: Node


Node = Condition | All | AnyOf | Negation


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar_error(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        error = int64_error(value)
        return None if error is None else f"{where}: {error}"
    if isinstance(value, float):
        return (
            None if value == value and value not in (float("inf"), float("-inf")) else f"{where}: not finite"
        )
    kind = "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else "not JSON"
    return f"{where} takes a string, number, boolean or null, not {kind}"


@dataclass
class _Parser:
    conditions: int = 0
    _regex_cache: dict[tuple[str, int], re.Pattern[str]] = field(default_factory=dict)

    def fail(self, message: str) -> QueryValidationError:
        return QueryValidationError(message)

    def clause(self, where: Any, depth: int) -> Node:
        if depth > MAX_WHERE_DEPTH:
            raise self.fail(f"Where clause is nested deeper than {MAX_WHERE_DEPTH} levels")
        if not isinstance(where, Mapping):
            raise self.fail(f"A where clause is an object, not {type(where).__name__}")
        if not where:  # only the whole clause may be empty (match everything): parse_where
            raise self.fail("A where clause inside $and, $or or $not has at least one condition")
        parts: list[Node] = []
        for key, value in where.items():
            if not isinstance(key, str):
                raise self.fail("Where clause keys are strings")
            if key in ("$and", "$or"):
                if not isinstance(value, list) or not value:
                    raise self.fail(f"{key} takes a non-empty array of where clauses")
                children = tuple(self.clause(item, depth + 1) for item in value)
                parts.append(All(children) if key == "$and" else AnyOf(children))
            elif key == "$not":
                parts.append(Negation(self.clause(value, depth + 1)))
            elif key.startswith("$") and key not in SYSTEM_FIELDS:
                raise self.fail(f"Unknown operator: {key}")
            else:
                error = field_path_error(key)
                if error is not None:
                    raise self.fail(error)
                parts.append(self.field(key, value, depth + 1))
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def field(self, path: str, spec: Any, depth: int) -> Node:
        if depth > MAX_WHERE_DEPTH:
            raise self.fail(f"Where clause is nested deeper than {MAX_WHERE_DEPTH} levels")
        if not isinstance(spec, Mapping):
            if isinstance(spec, list):
                raise self.fail(f"Field {path!r} is compared with an array; use $in to match any of several")
            return self.condition(path, "$eq", spec)
        if not spec:
            raise self.fail(f"Field {path!r} has an empty operator object")
        keys = list(spec)
        if not all(isinstance(k, str) and k.startswith("$") for k in keys):
            raise self.fail(
                f"Field {path!r} is compared with an object; use dotted paths to reach nested fields"
            )
        if "$options" in spec and "$regex" not in spec:
            raise self.fail("$options goes with $regex")
        parts: list[Node] = []
        for op, operand in spec.items():
            if op not in _FIELD_OPERATORS:
                raise self.fail(f"Unknown operator: {op}")
            if op == "$options":
                continue
            if op == "$not":
                if not isinstance(operand, Mapping) or not operand:
                    raise self.fail(f"$not on field {path!r} takes an object of operators")
                parts.append(Negation(self.field(path, operand, depth + 1)))
            elif op == "$regex":
                parts.append(self.regex(path, operand, spec.get("$options", "")))
            else:
                parts.append(self.condition(path, op, operand))
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def condition(self, path: str, op: str, operand: Any) -> Node:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.fail(f"Where clause has more than {MAX_CONDITIONS} conditions")
        if op == "$size":
            if not isinstance(operand, int) or isinstance(operand, bool) or not 0 <= operand <= INT64_MAX:
                raise self.fail(f"$size takes a whole number from 0 to {INT64_MAX}")
            return Condition(path, "$size", operand)
        if op == "$all" and (not isinstance(operand, list) or not operand):
            raise self.fail("$all takes a non-empty array")
        if op in ("$in", "$nin", "$all"):
            if not isinstance(operand, list):
                raise self.fail(f"{op} takes an array")
            if len(operand) > MAX_IN_VALUES:
                raise self.fail(f"{op} takes at most {MAX_IN_VALUES} values")
            for item in operand:
                error = _scalar_error(item, f"{op} on field {path!r}")
                if error:
                    raise self.fail(error)
            node: Node = Condition(path, "$all" if op == "$all" else "$in", tuple(operand))
            return Negation(node) if op == "$nin" else node
        if op == "$exists":
            if not isinstance(operand, bool):
                raise self.fail("$exists takes true or false")
            return Condition(path, "$exists", operand)
        error = _scalar_error(operand, f"{op} on field {path!r}")
        if error:
            raise self.fail(error)
        if op in ("$gt", "$gte", "$lt", "$lte") and not (_is_number(operand) or isinstance(operand, str)):
            raise self.fail(f"{op} on field {path!r} takes a number or a string")
        if op == "$ne":
            return Negation(Condition(path, "$eq", operand))
        return Condition(path, op, operand)

    def regex(self, path: str, pattern: Any, options: Any) -> Node:
        self.conditions += 1
        if not isinstance(pattern, str):
            raise self.fail("$regex takes a string")
        if len(pattern) > MAX_REGEX_LENGTH:
            raise self.fail(f"$regex is at most {MAX_REGEX_LENGTH} characters")
        if not isinstance(options, str) or set(options) - set("imsx"):
            raise self.fail('$options is a string of the flags "i", "m", "s" and "x"')
        flags = 0
        for letter in options:
            flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}[letter]
        try:
            _pattern(pattern, flags)
        except re.error as exc:
            raise self.fail(f"$regex is not a valid regular expression: {exc}") from exc
        return Condition(path, "$regex", pattern, flags)


@lru_cache(maxsize=64)
def _pattern(source: str, flags: int) -> Pattern:
    """The compiled `$regex`, kept with its automaton's cache across rows and queries."""
    return compile_pattern(source, flags)


def parse_where(where: Any) -> Node | None:
    """The clause as a tree (None for an empty clause); QueryValidationError when invalid."""
    if where is None or (isinstance(where, Mapping) and not where):
        return None
    return _Parser().clause(where, 1)


def validate_where_clause(where: Any) -> dict[str, Any]:
    """`{"valid": True}` or `{"valid": False, "error": "Unknown operator: $invalid"}`."""
    try:
        parse_where(where)
    except QueryValidationError as error:
        return {"valid": False, "error": str(error)}
    return {"valid": True}


# -- Python evaluation -------------------------------------------------------------

_MISSING = object()


def _lookup(thing: Mapping[str, Any], path: str) -> Any:
    if path in SYSTEM_FIELDS:
        return thing.get(path, _MISSING)
    current: Any = thing
    for segment in path.split("."):
        if not isinstance(current, Mapping) or segment not in current:
            return _MISSING
        current = current[segment]
    return current


def _equal(value: Any, operand: Any) -> bool:
    if operand is None:
        return value is _MISSING or value is None
    if isinstance(operand, bool):
        return isinstance(value, bool) and value is operand
    if isinstance(operand, str):
        return isinstance(value, str) and value == operand
    return _is_number(value) and bool(value == operand)


def _compare(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return _equal(value, operand)
    same_kind = (isinstance(value, str) and isinstance(operand, str)) or (
        _is_number(value) and _is_number(operand)
    )
    if not same_kind:
        return False
    if op == "$gt":
        return bool(value > operand)
    if op == "$gte":
        return bool(value >= operand)
    if op == "$lt":
        return bool(value < operand)
    return bool(value <= operand)


def evaluate(node: Node, thing: Mapping[str, Any]) -> bool:
    """Whether the thing (in its wire form) satisfies the clause."""
    if isinstance(node, All):
        return all(evaluate(part, thing) for part in node.parts)
    if isinstance(node, AnyOf):
        return any(evaluate(part, thing) for part in node.parts)
    if isinstance(node, Negation):
        return not evaluate(node.part, thing)
    value = _lookup(thing, node.path)
    if node.op == "$exists":
        return (value is not _MISSING) is node.value
    if node.op == "$in":
        return any(_equal(value, operand) for operand in node.value)
    if node.op == "$regex":
        return isinstance(value, str) and _pattern(node.value, node.flags).search(value)
    if node.op == "$all":
        return isinstance(value, list) and all(
            any(_equal(element, operand) for element in value) for operand in node.value
        )
    if node.op == "$size":
        return isinstance(value, list) and len(value) == node.value
    return _compare(value, node.op, node.value)


def matches(thing: Mapping[str, Any], where: Any) -> bool:
    """Whether `thing` satisfies `where`, evaluated entirely in Python."""
    node = parse_where(where)
    return node is None or evaluate(node, thing)


# -- SQL pushdown ------------------------------------------------------------------

OPERANDS = ":ops"
"""The one parameter every operand of a clause is read from, as a JSON array."""
MAX_STATEMENT_BYTES = 100_000
"""Cloudflare's cap on one SQL statement (Durable Objects SQLite limits: 100 KB)."""
MAX_WHERE_SQL_BYTES = 80_000
"""The most of a statement a where clause may take; the rest of the longest query
(columns, the type filter, eight `order_by` terms on 8-level paths) fits in the other 20 KB."""
MAX_OPERAND_BYTES = 1024 * 1024
"""The most the operands of the pushed-down part may take as JSON: the one parameter they
travel in must stay under SQLite's 2 MB string limit on Cloudflare."""


def field_sql(path: str) -> tuple[str, str]:
    """SQL for a field's value and for its JSON kind (NULL when missing).

    Paths are validated identifiers joined by dots, so they are written into the
    JSON path literally: an index on `json_extract(data, '$.email')` is only used
    when the query spells the same expression.
    """
    column = SYSTEM_FIELDS.get(path)
    if column is not None:
        return column, f"NULLIF(typeof({column}), 'null')"
    json_path = f"'$.{path}'"
    return f"json_extract(data, {json_path})", f"json_type(data, {json_path})"


def balanced(parts: list[str], joiner: str) -> str:
    """`parts` joined by `joiner` ("AND", "OR") as a balanced tree: n terms nest log2(n)
    deep, where a flat chain nests n deep and SQLite on Cloudflare refuses expression
    trees deeper than 100."""
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({balanced(parts[:middle], joiner)} {joiner} {balanced(parts[middle:], joiner)})"


@dataclass
class _SqlBuilder:
    """One clause's SQL. Operands are collected into one JSON array bound once as `:ops`:
    Cloudflare allows 100 bound parameters a statement, and a clause may hold 200
    conditions of up to 500 values each."""

    operands: list[Any] = field(default_factory=list)

    def operand(self, value: Any) -> str:
        self.operands.append(value)
        return f"json_extract({OPERANDS}, '$[{len(self.operands) - 1}]')"

    def operand_list(self, values: list[Any]) -> str:
        """A table of `values` (columns `value` and `type`, as `json_each` gives them)."""
        self.operands.append(values)
        return f"json_each({OPERANDS}, '$[{len(self.operands) - 1}]')"

    def equal(self, value_sql: str, kind_sql: str, operand: Any) -> str:
        if operand is None:
            return f"({kind_sql} IS NULL OR {kind_sql} IS 'null')"
        if isinstance(operand, bool):
            return f"{kind_sql} IS '{'true' if operand else 'false'}'"
        if isinstance(operand, str):
            return f"({value_sql} = {self.operand(operand)} AND {kind_sql} IS 'text')"
        return f"({value_sql} = {self.operand(operand)} AND ({kind_sql} IN ('integer', 'real')) IS 1)"

    def one_of(self, value_sql: str, kind_sql: str, operands: Iterable[Any]) -> str:
        strings = sorted({o for o in operands if isinstance(o, str)})
        numbers = [o for o in dict.fromkeys(o for o in operands if _is_number(o))]
        terms: list[str] = []
        if strings:
            listed = f"(SELECT value FROM {self.operand_list(strings)})"
            terms.append(f"({value_sql} IN {listed} AND {kind_sql} IS 'text')")
        if numbers:
            listed = f"(SELECT value FROM {self.operand_list(numbers)})"
            terms.append(f"({value_sql} IN {listed} AND ({kind_sql} IN ('integer', 'real')) IS 1)")
        for flag in (True, False):
            if any(o is flag for o in operands):
                terms.append(self.equal(value_sql, kind_sql, flag))
        if any(o is None for o in operands):
            terms.append(self.equal(value_sql, kind_sql, None))
        if not terms:
            return "0"
        return balanced(terms, "OR")

    def array(self, node: Condition) -> str:
        if node.path in SYSTEM_FIELDS:
            return "0"  # the thing's own fields are never arrays
        json_path = f"'$.{node.path}'"
        is_array = f"json_type(data, {json_path}) IS 'array'"
        if node.op == "$size":
            return f"({is_array} AND json_array_length(data, {json_path}) = {self.operand(node.value)})"
        # No operand without an equal element; equal as `_equal` has it: the same JSON kind
        # (any two numbers are one kind) and the same value (`IS`, so null equals null).
        same = (
            "(element.type IS wanted.type OR (element.type IN ('integer', 'real') "
            "AND wanted.type IN ('integer', 'real'))) AND element.value IS wanted.value"
        )
        return (
            f"({is_array} AND NOT EXISTS (SELECT 1 FROM {self.operand_list(list(node.value))} AS wanted "
            f"WHERE NOT EXISTS (SELECT 1 FROM json_each(data, {json_path}) AS element WHERE {same})))"
        )

    def condition(self, node: Condition) -> str:
        if node.op in ("$all", "$size"):
            return self.array(node)
        value_sql, kind_sql = field_sql(node.path)
        if node.op == "$exists":
            return f"{kind_sql} IS {'NOT NULL' if node.value else 'NULL'}"
        if node.op == "$in":
            return self.one_of(value_sql, kind_sql, node.value)
        if node.op == "$eq":
            return self.equal(value_sql, kind_sql, node.value)
        kind_check = (
            f"{kind_sql} IS 'text'"
            if isinstance(node.value, str)
            else f"({kind_sql} IN ('integer', 'real')) IS 1"
        )
        return f"({value_sql} {_SQL_COMPARE[node.op]} {self.operand(node.value)} AND {kind_check})"

    def node(self, node: Node) -> str:
        # Every fragment evaluates to 0 or 1, never NULL, so NOT is an exact negation.
        if isinstance(node, Condition):
            return self.condition(node)
        if isinstance(node, Negation):
            return f"NOT {self.node(node.part)}"
        return balanced([self.node(part) for part in node.parts], "AND" if isinstance(node, All) else "OR")

    def params(self) -> tuple[Any, ...]:
        if not self.operands:
            return ()
        return (_operand_json(self.operands),)


def _operand_json(operands: list[Any]) -> str:
    return json.dumps(operands, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _pushable(node: Node) -> bool:
    if isinstance(node, Condition):
        return node.op != "$regex"
    if isinstance(node, Negation):
        return _pushable(node.part)
    return all(_pushable(part) for part in node.parts)


@dataclass(frozen=True)
class Pushdown:
    """A clause split into what SQL evaluates and what is left for Python.

    `sql` reads its operands from the named parameter `:ops`; `params` holds that one
    value (or nothing, when no operand is needed). A statement binds it positionally,
    where `:ops` first appears among its other `?` parameters."""

    sql: str
    params: tuple[Any, ...]
    residual: Node | None
    paths: frozenset[str] = frozenset()
    """Every field path the clause names (for checks against declared fields)."""

    def accepts(self, thing: Mapping[str, Any]) -> bool:
        return self.residual is None or evaluate(self.residual, thing)


def _paths(node: Node) -> set[str]:
    if isinstance(node, Condition):
        return {node.path}
    if isinstance(node, Negation):
        return _paths(node.part)
    return {path for part in node.parts for path in _paths(part)}


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, All):
        return [leaf for part in node.parts for leaf in _conjuncts(part)]
    return [node]


def compile_where(where: Any) -> Pushdown:
    """Validate `where` and translate all it can into one SQL boolean expression.

    Top-level conjuncts that SQLite cannot evaluate become the residual; any
    other clause that contains one is left to Python whole. So is a conjunct that
    would take the statement past Cloudflare's SQLite limits (`MAX_WHERE_SQL_BYTES`
    of SQL, `MAX_OPERAND_BYTES` of operands): every clause the validation accepts
    runs, the part that did not fit in SQL at Python's speed.
    """
    node = parse_where(where)
    if node is None:
        return Pushdown("1", (), None)
    builder = _SqlBuilder()
    pushed: list[str] = []
    left: list[Node] = []
    sql_bytes = operand_bytes = 2  # the parentheses / brackets around them all
    for part in _conjuncts(node):
        if not _pushable(part):
            left.append(part)
            continue
        mark = len(builder.operands)
        sql = builder.node(part)
        more_sql = len(sql.encode()) + 7  # with the " AND " and parentheses joining it
        more_operands = len(_operand_json(builder.operands[mark:]).encode())  # with a comma
        if sql_bytes + more_sql > MAX_WHERE_SQL_BYTES or operand_bytes + more_operands > MAX_OPERAND_BYTES:
            del builder.operands[mark:]
            left.append(part)
            continue
        pushed.append(sql)
        sql_bytes += more_sql
        operand_bytes += more_operands
    residual: Node | None = None
    if left:
        residual = left[0] if len(left) == 1 else All(tuple(left))
    return Pushdown(
        balanced(pushed, "AND") if pushed else "1", builder.params(), residual, frozenset(_paths(node))
    )
