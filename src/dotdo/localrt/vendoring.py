"""Vendoring: a project's Python dependencies into its `python_modules/`.

Cloudflare's Python Workers import third-party packages only from `python_modules/`
beside `wrangler.toml` (what `pywrangler sync` fills: one flat site-packages folder);
the local runtime reads the same folder. Requirements come from `pyproject.toml`'s
`[project] dependencies` and are resolved for Pyodide (`sys_platform ==
"emscripten"`, Python 3.13) by uv, so that a dependency marked
`sys_platform != "emscripten"` (dotdo's own command-line tools) stays out.

`dotdo` itself is not on a package index: a requirement on it is met by copying the
dotdo running this code (installed, or a checkout's `src/dotdo`) without its tooling,
after checking that its version satisfies the requirement, and its own runtime
dependencies join the rest. Offline-safe: uv needs only the package index.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

import dotdo
from dotdo.errors import LocalRuntimeError
from dotdo.localrt import distribution
from dotdo.localrt.locking import locked, project_lock, replace_dir
from dotdo.localrt.project import Project

__all__ = ["PYODIDE_ENVIRONMENT", "TOOLING", "tree_fingerprint", "vendor"]

logger = logging.getLogger("dotdo.localrt")

PYODIDE_PLATFORM = "wasm32-pyodide2025"
"""uv's name for Pyodide 0.28's platform (Python 3.13), which Cloudflare runs today."""
PYODIDE_PYTHON = "3.13"
PYODIDE_ENVIRONMENT: dict[str, str] = {
    **cast("dict[str, str]", default_environment()),
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "emscripten",
    "platform_system": "Emscripten",
    "platform_machine": "wasm32",
    "platform_release": "4.0.9",
    "platform_version": "#1",
    "python_version": PYODIDE_PYTHON,
    "python_full_version": "3.13.2",
    "implementation_version": "3.13.2",
}
"""PEP 508 marker values inside Cloudflare's Python Workers (Pyodide 0.28.2)."""

TOOLING = frozenset({"cli", "localrt", "testing", "__main__.py"})
"""Parts of the dotdo package that run on the developer's machine, never in a Worker."""
STAMP = ".dotdo-vendor.json"
STAGING_PREFIX = ".python_modules."
"""Staging folders beside `python_modules/` (the watcher ignores them)."""


def _dotdo_source() -> Path:
    return Path(dotdo.__file__).resolve().parent


def _dotdo_version() -> str:
    return distribution.version()


def _dotdo_files() -> list[Path]:
    source = _dotdo_source()
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and path.relative_to(source).parts[0] not in TOOLING
        and "__pycache__" not in path.parts
        and path.suffix in {".py", ".typed"}
    )


def _dotdo_requirements(extras: Iterable[str]) -> list[str]:
    """dotdo's own dependencies that apply inside a Worker, for the requested extras."""
    wanted = ["", *sorted(extras)]
    found = []
    for text in distribution.requires():
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(
            marker.evaluate({**PYODIDE_ENVIRONMENT, "extra": extra}) for extra in wanted
        ):
            requirement.marker = None
            found.append(str(requirement))
    return found


def _requirements(project: Project) -> tuple[list[str], bool]:
    """What uv installs, and whether dotdo is copied in beside it."""
    plain: list[str] = []
    with_dotdo = False
    for text in project.dependencies:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise LocalRuntimeError(f"pyproject.toml: invalid dependency {text!r}: {error}") from error
        if canonicalize_name(requirement.name) != "dotdo":
            plain.append(text)
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(PYODIDE_ENVIRONMENT):
            continue
        version = _dotdo_version()
        if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            raise LocalRuntimeError(
                f"pyproject.toml asks for {text!r}, but the installed dotdo is {version}: "
                "install a matching dotdo"
            )
        with_dotdo = True
        plain.extend(_dotdo_requirements(requirement.extras))
    return plain, with_dotdo


def _fingerprint(requirements: list[str], with_dotdo: bool) -> str:
    digest = hashlib.sha256(json.dumps(sorted(requirements)).encode())
    if with_dotdo:
        source = _dotdo_source()
        for path in _dotdo_files():
            stat = path.stat()
            digest.update(f"{path.relative_to(source)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            raise LocalRuntimeError("uv is missing: pip install uv (dotdo depends on it)") from None
        return found
    return str(find_uv_bin())


def tree_fingerprint(folder: Path) -> str:
    """Changes whenever a file under `folder` is added, removed or rewritten."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def vendor(project: Project, *, force: bool = False) -> bool:
    """Fill `project.python_modules` for Pyodide unless it is up to date; True when it did.

    Raises LocalRuntimeError when a requirement cannot be met (uv's own output has been
    shown) or a dotdo requirement does not match the installed version."""
    requirements, with_dotdo = _requirements(project)
    fingerprint = _fingerprint(requirements, with_dotdo)
    if not force and _stamped(project.python_modules) == fingerprint:
        return False  # up to date: no wait behind another runtime's start (the tree is swapped whole)
    # Another `dotdo` process of this project may be vendoring, or reading the tree whole
    # (building its host), right now: one at a time, and a run that waited finds the tree
    # the other one just made up to date.
    with locked(project_lock(project.root)):
        if not force and _stamped(project.python_modules) == fingerprint:
            return False
        _vendor(project, requirements, with_dotdo, fingerprint)
    what = ", ".join(requirements + (["dotdo " + _dotdo_version()] if with_dotdo else []))
    logger.info("vendored into %s: %s", project.python_modules.relative_to(project.root), what or "nothing")
    return True


def _stamped(target: Path) -> str | None:
    """The fingerprint `target`'s stamp records, or None."""
    try:
        return str(json.loads((target / STAMP).read_text())["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _vendor(project: Project, requirements: list[str], with_dotdo: bool, fingerprint: str) -> None:
    """Build the tree in a staging folder beside `python_modules/` and swap it in whole, so
    that a reader never sees it half-written and a crash midway leaves the old one."""
    target = project.python_modules
    for stale in project.root.glob(f"{STAGING_PREFIX}*"):  # left by a crash: no one else builds now
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=project.root))
    try:
        if requirements:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
                file.write("\n".join(requirements) + "\n")
            command = [
                _uv(), "pip", "install", "--quiet", "--no-build", "--target", str(staging),
                "--python-platform", PYODIDE_PLATFORM, "--python-version", PYODIDE_PYTHON,
                "-r", file.name,
            ]  # fmt: skip
            try:
                result = subprocess.run(command, cwd=project.root, check=False)
            finally:
                Path(file.name).unlink()
            if result.returncode != 0:
                raise LocalRuntimeError(
                    f"vendoring {', '.join(requirements)} for Python Workers failed (uv exit "
                    f"{result.returncode}): see above; only pure-Python packages and Pyodide's own "
                    "run in a Worker"
                )
        if with_dotdo:
            source = _dotdo_source()
            for path in _dotdo_files():
                dest = staging / "dotdo" / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
        record = {"fingerprint": fingerprint, "requirements": requirements, "dotdo": with_dotdo}
        (staging / STAMP).write_text(json.dumps(record, indent=2) + "\n")
        replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
