"""Nothing in `src/` writes with `print`, `sys.stdout/stderr.write` or `traceback.print_*`:
output goes through `logging` (`dotdo.*` loggers), where the application can route and filter it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _stream_write(function: ast.expr) -> bool:
    """`sys.stdout.write(...)` / `sys.stderr.write(...)`: print by another name."""
    return (
        isinstance(function, ast.Attribute)
        and function.attr == "write"
        and isinstance(function.value, ast.Attribute)
        and function.value.attr in ("stdout", "stderr")
        and isinstance(function.value.value, ast.Name)
        and function.value.value.id == "sys"
    )


def _writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if (
            (isinstance(function, ast.Name) and function.id == "print")
            or (
                isinstance(function, ast.Attribute)
                and isinstance(function.value, ast.Name)
                and (
                    (function.value.id == "traceback" and function.attr.startswith("print_"))
                    or (
                        function.value.id == "click"
                        and function.attr in ("echo", "secho")
                        and any(k.arg == "err" for k in node.keywords)  # stdout is a command's result
                    )
                )
            )
            or _stream_write(function)
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_prints() -> None:
    sample = (
        "import traceback\nprint('x')\ntraceback.print_exc()\nlogger.info('y')\n"
        "click.echo('z', err=True)\nclick.echo('r')\nsys.stderr.write('e')\nsys.stdout.write('o')\n"
    )
    assert _writes(ast.parse(sample)) == [2, 3, 5, 7, 8]


def test_no_print_in_src() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 40
    found = {
        f"{path.relative_to(SRC)}:{line}" for path in files for line in _writes(ast.parse(path.read_text()))
    }
    assert found == set()
