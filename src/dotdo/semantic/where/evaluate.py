"""The Python evaluator of where clauses: what the SQL pushdown must agree with, and what
runs the parts SQLite cannot (`$regex`, conjuncts past the statement budget)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dotdo.semantic.names import SYSTEM_FIELDS
from dotdo.semantic.pattern import compiled_pattern
from dotdo.semantic.where.clause import All, AnyOf, Negation, Node, is_number, parse_where

__all__ = ["MISSING", "evaluate", "lookup", "matches"]

MISSING = object()
"""What `lookup` answers for a path the thing does not have (a null is None)."""


def lookup(thing: Mapping[str, Any], path: str) -> Any:
    """The value at `path` (dotted property names, or a `$` field's column) of `thing`, as
    `json_extract(data, '$.<path>')` reads it; MISSING when a name on the way is absent."""
    if path in SYSTEM_FIELDS:
        return thing.get(path, MISSING)
    current: Any = thing
    for segment in path.split("."):
        if not isinstance(current, Mapping) or segment not in current:
            return MISSING
        current = current[segment]
    return current


def _equal(value: Any, operand: Any) -> bool:
    if operand is None:
        return value is MISSING or value is None
    if isinstance(operand, bool):
        return isinstance(value, bool) and value is operand
    if isinstance(operand, str):
        return isinstance(value, str) and value == operand
    return is_number(value) and bool(value == operand)


def _compare(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return _equal(value, operand)
    same_kind = (isinstance(value, str) and isinstance(operand, str)) or (
        is_number(value) and is_number(operand)
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
    value = lookup(thing, node.path)
    if node.op == "$exists":
        return (value is not MISSING) is node.value
    if node.op == "$in":
        return any(_equal(value, operand) for operand in node.value)
    if node.op == "$regex":
        return isinstance(value, str) and compiled_pattern(node.value, node.flags).search(value)
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
