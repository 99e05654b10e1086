"""The dotdo running this code, as a distribution: its version and its requirements.

Installed (a wheel, an editable install) they are the distribution's metadata. Run from a
checkout's `src/` without installing (this repository's scripts and tests put `src/` on
the path, so that a virtualenv shared by several checkouts serves each its own sources),
they are that checkout's `pyproject.toml`, the same data the metadata is built from: the
installed metadata may belong to another copy of dotdo than the one imported.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement

import dotdo
from dotdo.errors import LocalRuntimeError

__all__ = ["checkout", "requires", "version"]


def checkout() -> Path | None:
    """The checkout whose `src/dotdo` is running (the folder with its `pyproject.toml`), or
    None for an installed dotdo."""
    package = Path(dotdo.__file__).resolve().parent
    root = package.parent.parent
    if package.parent.name != "src" or not (root / "pyproject.toml").is_file():
        return None
    return root if _project(root).get("name") == "dotdo" else None


def _project(root: Path) -> dict[str, Any]:
    try:
        with (root / "pyproject.toml").open("rb") as file:
            project = tomllib.load(file).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return project if isinstance(project, dict) else {}


def version() -> str:
    """dotdo's version (PEP 440); `0+unknown` when neither a checkout nor metadata says."""
    root = checkout()
    if root is not None:
        return str(_project(root).get("version", "0+unknown"))
    try:
        return importlib.metadata.version("dotdo")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def requires() -> list[str]:
    """dotdo's requirements as `Requires-Dist` lines (an extra's carry `extra == "name"`).

    Raises LocalRuntimeError when this dotdo is neither installed nor run from a checkout."""
    root = checkout()
    if root is None:
        try:
            return list(importlib.metadata.requires("dotdo") or [])
        except importlib.metadata.PackageNotFoundError:
            raise LocalRuntimeError(
                "dotdo is not installed (pip install it, or a built wheel of it)"
            ) from None
    project = _project(root)
    lines = [str(Requirement(text)) for text in project.get("dependencies", [])]
    for extra, texts in project.get("optional-dependencies", {}).items():
        for text in texts:
            requirement = Requirement(text)
            condition = f'extra == "{extra}"'
            marker = requirement.marker
            requirement.marker = Marker(f"({marker}) and {condition}" if marker else condition)
            lines.append(str(requirement))
    return lines
