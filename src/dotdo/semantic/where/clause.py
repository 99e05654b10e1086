"""Where clauses parsed and checked: the tree both evaluators walk, and every bound a
clause must keep (depth, conditions, values, regex length). The semantics are the
package's docstring (`dotdo.semantic.where`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dotdo.errors import QueryValidationError
from dotdo.semantic.names import SYSTEM_FIELDS, field_path_error
from dotdo.semantic.pattern import compiled_pattern
from dotdo.values import INT64_MAX, int64_error

__all__ = [
    "MAX_CONDITIONS",
    "MAX_IN_VALUES",
    "MAX_REGEX_LENGTH",
    "MAX_WHERE_DEPTH",
    "All",
    "AnyOf",
    "Condition",
    "Negation",
    "Node",
    "is_number",
    "parse_where",
    "validate_where_clause",
]

MAX_WHERE_DEPTH = 12
"""How deep a clause may nest (`$and`, `$or`, `$not` and operator objects each add a level)."""
MAX_IN_VALUES = 500
"""Most values of one `$in`, `$nin` or `$all`."""
MAX_REGEX_LENGTH = 256
"""Longest `$regex`, in characters."""
MAX_CONDITIONS = 200
"""Most conditions (field tests) in one clause."""

_COMPARISONS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
_FIELD_OPERATORS = _COMPARISONS | {"$in", "$nin", "$exists", "$regex", "$options", "$not", "$all", "$size"}


@dataclass(frozen=True)
class Condition:
    """One test of one field: `path` (a checked field path), `op` (`$eq`, `$gt`, `$gte`,
    `$lt`, `$lte`, `$in`, `$exists`, `$regex`, `$all`, `$size`: `$ne`, `$nin` and `$not`
    become a Negation), the operand `value` (a tuple for `$in` / `$all`) and, for
    `$regex`, the `re` flags."""

    path: str
    op: str  # $eq $gt $gte $lt $lte $in $exists $regex $all $size
    value: Any
    flags: int = 0


@dataclass(frozen=True)
class All:
    """`$and` (and several keys in one object): every part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """`$or`: at least one part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    """`$not`, `$ne`, `$nin`: the exact negation of `part`."""

    part: Node


Node = Condition | All | AnyOf | Negation
"""A parsed where clause, as `parse_where` gives it."""


def is_number(value: Any) -> bool:
    """Is `value` a JSON number (an int or a float, not a bool)?"""
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
        if op in ("$gt", "$gte", "$lt", "$lte") and not (is_number(operand) or isinstance(operand, str)):
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
            compiled_pattern(pattern, flags)
        except re.error as exc:
            raise self.fail(f"$regex is not a valid regular expression: {exc}") from exc
        return Condition(path, "$regex", pattern, flags)


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
