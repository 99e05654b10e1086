"""Every route dotdo registers says which query parameters it takes (`query=`), so that
`GET /Item?as_of=1` or `GET /approvals?bogus=1` is a 400 `invalid_query`, not a silent
200; and every parameter a framework handler reads is one its route declares (a read of
another raises, see `HttpRequest.accepted_query`; the integration tests run them)."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[3] / "src" / "dotdo"
REGISTERS = frozenset({"get", "post", "put", "patch", "delete", "all", "route", "add"})


def _registrations() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name == "router.py":
            continue  # the router's own definitions and its docstring's example
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in REGISTERS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "router"
            ):
                found.append((str(path.relative_to(SOURCE)), node.lineno, node))
    return found


def test_the_framework_registers_routes() -> None:
    assert len(_registrations()) >= 50  # the scan finds them: a test that cannot fail is none


def test_every_framework_route_declares_the_query_parameters_it_takes() -> None:
    undeclared = [
        f"{path}:{line}"
        for path, line, call in _registrations()
        if not any(keyword.arg == "query" for keyword in call.keywords)
    ]
    assert undeclared == [], "routes without query=(...): " + ", ".join(undeclared)
