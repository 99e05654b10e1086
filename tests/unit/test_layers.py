"""Packages import downwards only (docs/architecture.md, "Layers"; ADR 0015).

Every module's imports are read from its source (the AST, so imports inside
functions, under `if TYPE_CHECKING:` and `importlib.import_module("...")` with
a literal name count too), and none may name a module of a layer above its own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("dotdo.errors", "dotdo.hints", "dotdo.tracebacks", "dotdo.types", "dotdo.values"),
    ("dotdo.remote",),
    ("dotdo.wire",),
    ("dotdo.core",),
    ("dotdo.semantic",),
    ("dotdo.storage",),
    ("dotdo.workflows",),
    ("dotdo.full",),
    ("dotdo", "dotdo.worker", "dotdo.client", "dotdo.client_events"),
    ("dotdo.__main__", "dotdo.cli", "dotdo.localrt", "dotdo.testing"),
)
"""Bottom first. A name stands for a module and, for a package, everything in it;
`dotdo` alone is the package face (`dotdo/__init__.py`), nothing below it. The top is the
tooling of the developer's machine (the command, the local runtime, the pytest plugin):
never vendored into a Worker, so nothing a Worker runs may import it."""

TYPE_ONLY_ALLOWED = frozenset({"dotdo.types"})
"""Modules that may name classes of any layer for the type checker alone (under
`if TYPE_CHECKING:`, never loaded at run time): the protocol types module, as
Starlette's `types.py` does, so a handler's type can name HttpRequest."""


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    type_only: bool


def modules(root: Path) -> dict[str, Path]:
    """Every module of the `dotdo` package under `root`, by dotted name."""
    found = {}
    for path in sorted((root / "dotdo").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`) blocks."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = (
                test.id
                if isinstance(test, ast.Name)
                else test.attr
                if isinstance(test, ast.Attribute)
                else ""
            )
            if name == "TYPE_CHECKING":
                for statement in node.body:
                    inside.update(id(child) for child in ast.walk(statement))
    return inside


def imports(name: str, path: Path, known: set[str]) -> list[Import]:
    """The dotdo modules `name` (at `path`) imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def add(node: ast.AST, imported: str) -> None:
        if imported == "dotdo" or imported.startswith("dotdo."):
            found.append(Import(name, imported, getattr(node, "lineno", 0), id(node) in type_only))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(node, submodule if submodule in known else base)
        elif isinstance(node, ast.Call):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    add(node, first.value)
    return found


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the layer `module` belongs to (the longest name that covers it)."""
    best: tuple[int, int] | None = None
    for index, names in enumerate(LAYERS):
        for entry in names:
            covers = module == entry or (entry != "dotdo" and module.startswith(entry + "."))
            if covers and (best is None or len(entry) > best[1]):
                best = (index, len(entry))
    return None if best is None else best[0]


def violations(root: Path) -> list[str]:
    """Every import of a module from a layer above the importer's, as readable lines."""
    found = modules(root)
    known = set(found)
    problems = []
    for name, path in found.items():
        own = layer_of(name)
        for item in imports(name, path, known):
            if item.type_only and name in TYPE_ONLY_ALLOWED:
                continue
            theirs = layer_of(item.imported)
            if own is not None and theirs is not None and theirs > own:
                problems.append(
                    f"{path.relative_to(root)}:{item.line}: {name} (layer {own}) imports "
                    f"{item.imported} (layer {theirs})"
                )
    return list(dict.fromkeys(problems))


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in modules(SOURCE) if layer_of(name) is None]
    assert not unplaced, f"add these to LAYERS (and docs/architecture.md): {unplaced}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = violations(SOURCE)
    assert not problems, "\n".join(problems)


def test_the_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The check itself: each way of importing upwards is caught, and only those."""
    files = {
        "dotdo/__init__.py": "from dotdo.remote.marks import rpc\n",
        "dotdo/types.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dotdo.core.http import X\n"
        ),
        "dotdo/errors.py": "",
        "dotdo/remote/__init__.py": "",
        "dotdo/remote/marks.py": "def later():\n    from dotdo.wire.codec import encode\n",
        "dotdo/wire/__init__.py": "",
        "dotdo/wire/codec.py": "from ..core import http\nfrom . import pipeline\n",
        "dotdo/wire/pipeline.py": (
            "import typing\nif typing.TYPE_CHECKING:\n    import dotdo.semantic.things\n"
        ),
        "dotdo/core/__init__.py": "",
        "dotdo/core/http.py": "from dotdo import rpc\nfrom dotdo.errors import BadRequest\n",
        "dotdo/semantic/__init__.py": "",
        "dotdo/semantic/things.py": "import importlib\nimportlib.import_module('dotdo.workflows.steps')\n",
        "dotdo/workflows/__init__.py": "",
        "dotdo/workflows/steps.py": (
            "from dotdo.semantic import things\nfrom dotdo.wire.codec import encode\n"
        ),
        "dotdo/worker.py": "from dotdo.testing import control\n",
        "dotdo/testing/__init__.py": "",
        "dotdo/testing/control.py": "from dotdo.core import http\nimport dotdo\n",
    }
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    found = {line.split(": ", 1)[1] for line in violations(tmp_path)}
    assert found == {
        "dotdo.remote.marks (layer 1) imports dotdo.wire.codec (layer 2)",  # inside a function
        "dotdo.wire.codec (layer 2) imports dotdo.core.http (layer 3)",  # relative, a submodule by name
        "dotdo.wire.pipeline (layer 2) imports dotdo.semantic.things (layer 4)",  # for the type checker only
        "dotdo.core.http (layer 3) imports dotdo (layer 8)",  # the package face is above the framework
        "dotdo.worker (layer 8) imports dotdo.testing.control (layer 9)",  # the tooling is above all
        "dotdo.semantic.things (layer 4) imports dotdo.workflows.steps (layer 6)",  # by importlib
    }
