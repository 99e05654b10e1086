"""An exact `total` is opt-in on every surface, as `GET /:Noun` has it (`total=exact`):
the Python accessors, the object's RPC methods and the Python client count every match
only with `with_total=True` (docs/api.md, "One operation, one answer")."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from dotdo.client import Client
from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.semantic.accessors import NounAccessor
from dotdo.semantic.graph import GRAPH_TABLES, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES
from tests.storage import Storage
from tests.unit.semantic.test_list_total import things_with
from tests.unit.test_client import sent

SRC = Path(__file__).resolve().parents[3] / "src" / "dotdo"


def _total_defaults() -> list[tuple[str, str, Any]]:
    """(file, function, default) of every `with_total` parameter under src/dotdo."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
            pairs = [*zip(positional, [*defaults, *arguments.defaults], strict=True)]
            pairs += zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            for argument, default in pairs:
                if argument.arg == "with_total":
                    value = ast.literal_eval(default) if default is not None else "<required>"
                    found.append((str(path.relative_to(SRC)), node.name, value))
    return found


def test_every_with_total_parameter_defaults_to_no_count() -> None:
    found = _total_defaults()
    surfaces = {(file, name) for file, name, _ in found}
    # the surfaces that answer a page: Python, the object's RPC methods, the client
    assert {
        ("semantic/accessors.py", "page"),
        ("semantic/accessors.py", "related_page"),
        ("semantic/durable.py", "page_things"),
        ("semantic/durable.py", "related_page"),
        ("client.py", "page"),
        ("client.py", "related_page"),
        ("semantic/query.py", "build"),
    } <= surfaces
    assert [entry for entry in found if entry[2] is not False] == []


def test_a_python_page_counts_only_when_asked() -> None:
    things, store = things_with(30)
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    customers = NounAccessor(things, Relationships(sql, lambda: 1), "Customer")
    page = customers.page(limit=5)
    assert (page["total"], page["has_more"], store.counts) == (None, True, 0)
    assert customers.page(limit=5, with_total=True)["total"] == 30
    assert store.counts == 1
    assert customers.page(limit=50)["total"] == 30  # the first page reaches the end: its length


def test_a_python_edge_page_counts_only_when_asked() -> None:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    relationships = Relationships(sql, lambda: 1)
    for n in range(3):
        relationships.relate("User/hub", "follows", f"User/u{n}")
    things, _ = things_with(0)
    hub = NounAccessor(things, relationships, "User")("hub")
    assert hub.related_page("follows", limit=2)["total"] is None
    assert hub.related_page("follows", limit=2, with_total=True)["total"] == 3


def _sent(calls: Any) -> list[Any]:
    return [body for _, body in sent(calls)]


def test_the_client_asks_for_a_count_only_when_told() -> None:
    async def calls(client: Client) -> None:
        await client.Customer.page(limit=5)
        await client.Customer.page(limit=5, with_total=True)
        await client.Customer("c1").related_page("owns")
        await client.Customer("c1").related_page("owns", with_total=True)

    bodies = _sent(calls)
    options = [body["pipeline"]["pipeline"][-1]["args"] for body in bodies]
    assert "with_total" not in options[0] and options[1]["with_total"] is True
    assert options[2][-1] is False and options[3][-1] is True
