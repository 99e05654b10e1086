"""`dotdo new NAME`: a project of the user's own, from the template in `template/`.

The template's files end in `.tmpl` (so that no tool takes them for the package's own
code) and name their placeholders `{{name}}`, `{{class}}`, `{{binding}}`, `{{version}}`,
`{{module}}` and `{{uv_sources}}`.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dotdo.errors import LocalRuntimeError
from dotdo.localrt import distribution

__all__ = ["TEMPLATE", "create_project", "names_for"]

TEMPLATE = Path(__file__).resolve().parent / "template"
_WORKER_NAME = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
"""Cloudflare's rule for Worker names (lowercase letters, digits, dashes; at most 63),
starting with a letter so that the class name derived from it is a Python identifier."""


TEMPLATE_NAMES = frozenset(
    {"Default", "DOWorkflow", "Event", "HttpRequest", "HttpResponse", "Noun", "Router", "WorkerEntrypoint"}
)
"""The class names the template's `src/entry.py` binds besides the app's class: its worker and
what it imports from dotdo."""


def names_for(name: str) -> dict[str, str]:
    """The template's names for a project called `name`: `support-desk` gives the class
    `SupportDesk`, the binding `SUPPORT_DESK` and the test module `support_desk`."""
    if not _WORKER_NAME.fullmatch(name):
        raise LocalRuntimeError(
            f"{name!r} is not a valid Worker name: use lowercase letters, digits and dashes, "
            "starting with a letter (at most 63)"
        )
    parts = [part for part in name.split("-") if part]
    class_name = "".join(part[:1].upper() + part[1:] for part in parts)
    if class_name in TEMPLATE_NAMES:
        # `default` gave `class Default(DOWorkflow)`, which the template's own `Default`
        # worker then replaced; `router` hid the `Router` the class's hook is typed with.
        raise LocalRuntimeError(
            f"{name!r} would name the app's class {class_name}, a name the project's "
            f"src/entry.py already uses; choose another (e.g. {name}-app)"
        )
    return {
        "name": name,
        "class": class_name,
        "binding": "_".join(part.upper() for part in parts),
        "module": "_".join(parts),
    }


def _dotdo_version() -> str:
    return distribution.version()


def _uv_sources() -> str:
    """`[tool.uv.sources]` pointing `dotdo` at the checkout it runs from, or the wheel or
    folder it was installed from (PEP 610 `direct_url.json`), so that `uv run pywrangler
    ...` resolves the same dotdo; empty when it came from an index."""
    root = distribution.checkout()
    if root is not None:
        path = str(root)
    else:
        try:
            text = importlib.metadata.distribution("dotdo").read_text("direct_url.json")
        except importlib.metadata.PackageNotFoundError:
            return ""
        if not text:
            return ""
        parts = urlsplit(str(json.loads(text).get("url", "")))
        if parts.scheme != "file":
            return ""
        path = unquote(parts.path)
    return (
        "\n[tool.uv.sources]\n"
        "# dotdo is not on a package index: the wheel or checkout it was installed from.\n"
        f"dotdo = {{ path = {json.dumps(path)} }}\n"
    )


def render(text: str, values: dict[str, str]) -> str:
    """`text` with each `{{key}}` replaced by `values[key]` (unknown placeholders stay)."""
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def create_project(name: str, parent: Path) -> Path:
    """Write the project `name` into `parent/name` (which must not exist or be empty)."""
    values = names_for(name)
    values["version"] = _dotdo_version()
    values["uv_sources"] = _uv_sources()
    target = parent / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise LocalRuntimeError(f"{target} already exists and is not empty")
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = render(str(source.relative_to(TEMPLATE))[: -len(".tmpl")], values)
        if relative == "gitignore":
            relative = ".gitignore"  # a file named .gitignore would be dropped from the wheel
        if relative == "tests/test_app.py":
            relative = f"tests/test_{values['module']}.py"
        dest = target / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(render(source.read_text(), values).rstrip("\n") + "\n")
    return target
