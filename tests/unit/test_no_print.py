"""Nothing in `src/` writes with `print` or `traceback.print_*`: output goes through
`logging` (`dotdo.*` loggers), where the application can route and filter it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _writes(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if (isinstance(function, ast.Name) and function.id == "print") or (
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
        ):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_prints() -> None:
    sample = (
        "import traceback\nprint('x')\ntraceback.print_exc()\nlogger.info('y')\n"
        "click.echo('z', err=True)\nclick.echo('r')\n"
    )
    assert _writes(ast.parse(sample)) == [2, 3, 5]


def test_no_print_in_src() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 40
    found = {
        f"{path.relative_to(SRC)}:{line}" for path in files for line in _writes(ast.parse(path.read_text()))
    }
    assert found == set()
