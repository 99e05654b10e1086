"""Node.js and the local runtime's npm packages (wrangler's dev stack, the npm `pyodide`).

The packages are pinned by the lock file shipped in `dotdo/localrt/npm/` and installed
on first use, with `npm ci` from the registry, into a cache shared by every project
of the machine (`$DOTDO_CACHE_DIR`, else `$XDG_CACHE_HOME/dotdo`, else `~/.cache/dotdo`).
A project whose own `node_modules/` already holds the pinned versions (this
repository's does) is used as it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from dotdo.errors import LocalRuntimeError
from dotdo.localrt.locking import locked, replace_dir

__all__ = ["MIN_NODE", "cache_dir", "check_node", "npm_packages", "pinned_packages"]

MIN_NODE = (20, 3)
"""wrangler 4.86's own floor (its package.json `engines`)."""
NPM_DIR = Path(__file__).resolve().parent / "npm"
logger = logging.getLogger("dotdo.localrt")


def cache_dir() -> Path:
    """Where the tooling keeps what it installs once per machine."""
    if explicit := os.environ.get("DOTDO_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dotdo"


def parse_node_version(text: str) -> tuple[int, int, int]:
    """`v20.3.1` -> (20, 3, 1); LocalRuntimeError for anything else."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)\S*", text.strip())
    if not match:
        raise LocalRuntimeError(f"cannot read the Node.js version from {text.strip()!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def check_node() -> str:
    """The `node` executable on PATH, checked to be new enough for wrangler."""
    node = shutil.which("node")
    floor = ".".join(map(str, MIN_NODE))
    if node is None:
        raise LocalRuntimeError(
            f"Node.js is missing: install Node {floor} or newer (nodejs.org, or apt-get install nodejs npm)"
        )
    try:
        output = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise LocalRuntimeError(f"{node} --version failed: {error}") from error
    version = parse_node_version(output)
    if version[:2] < MIN_NODE:
        raise LocalRuntimeError(
            f"Node {output.strip()} is too old: the local runtime needs Node {floor} or newer"
        )
    return node


def pinned_packages() -> dict[str, str]:
    """The npm packages and exact versions the local runtime runs on."""
    manifest = json.loads((NPM_DIR / "package.json").read_text())
    return dict(manifest["dependencies"])


def _has_pinned(node_modules: Path, pinned: dict[str, str]) -> bool:
    for name, version in pinned.items():
        try:
            installed = json.loads((node_modules / name / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            return False
        if installed != version:
            return False
    return True


def npm_packages(project_root: Path | None = None) -> Path:
    """The `node_modules` folder holding the pinned packages, installed on first use.

    Raises LocalRuntimeError when npm is missing or the install fails (its own output has
    been shown)."""
    pinned = pinned_packages()
    if project_root is not None and _has_pinned(project_root / "node_modules", pinned):
        return project_root / "node_modules"
    lock = (NPM_DIR / "package-lock.json").read_bytes()
    key = hashlib.sha256(lock + (NPM_DIR / "package.json").read_bytes()).hexdigest()[:16]
    target = cache_dir() / "npm" / key
    if _has_pinned(target / "node_modules", pinned) and (target / ".complete").is_file():
        return target / "node_modules"
    # Two first runs at once (`dotdo dev` and `dotdo test`): one installs, the other waits
    # for it and finds the packages there.
    with locked(target.parent / f"{key}.lock"):
        if _has_pinned(target / "node_modules", pinned) and (target / ".complete").is_file():
            return target / "node_modules"
        _install(target, key, pinned)
    return target / "node_modules"


def _install(target: Path, key: str, pinned: dict[str, str]) -> None:
    """`npm ci` of the pinned packages into `target`, holding its lock."""
    npm = shutil.which("npm")
    if npm is None:
        raise LocalRuntimeError("npm is missing: install npm alongside Node.js (apt-get install npm)")
    versions = ", ".join(f"{name} {version}" for name, version in sorted(pinned.items()))
    logger.warning("installing the local runtime's npm packages (%s) into %s, once", versions, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Installed beside the target and renamed into place, so that a second process never
    # sees a half-installed folder and an interrupted install leaves nothing behind.
    staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=target.parent))
    try:
        shutil.copy(NPM_DIR / "package.json", staging / "package.json")
        shutil.copy(NPM_DIR / "package-lock.json", staging / "package-lock.json")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=staging, check=False
        )
        if result.returncode != 0:
            raise LocalRuntimeError(
                f"npm ci of the local runtime's packages failed (exit {result.returncode}): see above"
            )
        (staging / ".complete").write_text(versions + "\n")
        replace_dir(staging, target)  # a stale, incomplete copy in the way is replaced
    finally:
        shutil.rmtree(staging, ignore_errors=True)
