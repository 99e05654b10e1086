"""Where clauses as SQL: one boolean expression over the `things` row, with every operand
bound in one JSON array parameter, and what did not fit left to Python (the residual).

Cloudflare's SQLite limits shape it: 100 bound parameters, 100 KB statements,
expression trees 100 deep, 2 MB strings
(https://developers.cloudflare.com/durable-objects/platform/limits/).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dotdo.core.sql import MAX_STATEMENT_BYTES
from dotdo.semantic.names import SYSTEM_FIELDS
from dotdo.semantic.where.clause import All, Condition, Negation, Node, is_number, parse_where
from dotdo.semantic.where.evaluate import evaluate

__all__ = [
    "MAX_OPERAND_BYTES",
    "MAX_STATEMENT_BYTES",
    "MAX_WHERE_SQL_BYTES",
    "OPERANDS",
    "Pushdown",
    "balanced",
    "compile_where",
    "field_sql",
]

_SQL_COMPARE = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

OPERANDS = ":ops"
"""The one parameter every operand of a clause is read from, as a JSON array."""
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
            if value_sql.startswith("json_extract(") and not operand.startswith(("[", "{")):
                # `json_extract` gives a string as text, a number or boolean as a number and an
                # array or object as its JSON text, which starts with `[` or `{`; with no
                # affinity on either side nothing is converted. So only a string can equal
                # this one, and the kind check (a second JSON lookup on every row a scan
                # visits) is not needed. `IS NOT NULL` keeps the fragment 0 or 1 (it runs only
                # on rows where the equality is not false) and leaves `=` a term of its own, so
                # an expression index on the field still serves it. (A system field's column
                # has an affinity that would convert the operand: those keep the check.)
                return f"({value_sql} = {self.operand(operand)} AND {value_sql} IS NOT NULL)"
            return f"({value_sql} = {self.operand(operand)} AND {kind_sql} IS 'text')"
        return f"({value_sql} = {self.operand(operand)} AND ({kind_sql} IN ('integer', 'real')) IS 1)"

    def one_of(self, value_sql: str, kind_sql: str, operands: Iterable[Any]) -> str:
        strings = sorted({o for o in operands if isinstance(o, str)})
        numbers = [o for o in dict.fromkeys(o for o in operands if is_number(o))]
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
    seeks: tuple[str, ...] = ()
    """The property paths an index on the field (`registry.index_statement`) can seek by:
    those of the top-level conjuncts in `sql` that compare the field's value to a string
    or a number (`$eq`, `$gt`, `$gte`, `$lt`, `$lte`), equalities first, then by path."""

    def accepts(self, thing: Mapping[str, Any]) -> bool:
        """Does `thing` (wire form), already selected by `sql`, satisfy the residual too?"""
        return self.residual is None or evaluate(self.residual, thing)


def _paths(node: Node) -> set[str]:
    if isinstance(node, Condition):
        return {node.path}
    if isinstance(node, Negation):
        return _paths(node.part)
    return {path for part in node.parts for path in _paths(part)}


_RANGES = frozenset({"$gt", "$gte", "$lt", "$lte"})


def _seek(node: Node) -> tuple[int, str] | None:
    """`(0, path)` for an equality, `(1, path)` for a range, whose SQL holds the term
    `json_extract(data, '$.path') <op> <operand>` an expression index on the field serves
    (`_SqlBuilder.equal` and `.condition`); None for any other conjunct."""
    if not isinstance(node, Condition) or node.path in SYSTEM_FIELDS:
        return None
    value = node.value
    number = is_number(value)
    if node.op == "$eq" and (number or (isinstance(value, str) and not value.startswith(("[", "{")))):
        return 0, node.path
    if node.op in _RANGES and (number or isinstance(value, str)):
        return 1, node.path
    return None


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
    seeks: set[tuple[int, str]] = set()
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
        if (seek := _seek(part)) is not None:
            seeks.add(seek)
        sql_bytes += more_sql
        operand_bytes += more_operands
    residual: Node | None = None
    if left:
        residual = left[0] if len(left) == 1 else All(tuple(left))
    return Pushdown(
        balanced(pushed, "AND") if pushed else "1",
        builder.params(),
        residual,
        frozenset(_paths(node)),
        tuple(dict.fromkeys(path for _, path in sorted(seeks))),
    )
