"""The wheel and sdist hold the dotdo package and nothing else of this repository: no
top-level `entry.py` (which landed in users' deploy bundles), with the local runtime's
files as package data, and leave no build litter in the checkout."""

from __future__ import annotations

import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import Requirement

from tests.runtime import ROOT


def _wheel(dist: Path) -> zipfile.ZipFile:
    (wheel,) = dist.glob("dotdo-*.whl")
    return zipfile.ZipFile(wheel)


def test_the_wheel_holds_only_the_dotdo_package(dist: Path) -> None:
    names = _wheel(dist).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"dotdo", next(t for t in top if t.endswith(".dist-info"))}
    assert "entry.py" not in names
    for data in [
        "dotdo/py.typed",
        "dotdo/localrt/js/server.mjs",
        "dotdo/localrt/js/build.mjs",
        "dotdo/localrt/js/host.mjs",
        "dotdo/localrt/npm/package-lock.json",
        "dotdo/localrt/python/_dotdo_host.py",
        "dotdo/localrt/recorded/0.28.2/index.json",
        "dotdo/cli/template/src/entry.py.tmpl",
        "dotdo/testing/plugin.py",
    ]:
        assert data in names, data


def test_the_wheel_metadata(dist: Path) -> None:
    wheel = _wheel(dist)
    info = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(info).decode())
    requires = metadata.get_all("Requires-Dist") or []
    pinned = [r for r in requires if any(s.operator in {"==", "==="} for s in Requirement(r).specifier)]
    assert pinned == []  # compatible ranges, not pins
    assert any(r.startswith("workers-runtime-sdk") and "emscripten" not in r for r in requires)
    assert any(r.startswith("click") and "sys_platform != 'emscripten'" in r for r in requires)
    assert set(metadata.get_all("Provides-Extra") or []) >= {"client", "testing"}
    entry_points = wheel.read(next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))).decode()
    assert "dotdo = dotdo.cli:main" in entry_points
    assert "dotdo.testing.plugin = dotdo.testing.plugin" in entry_points


def test_the_sdist_holds_the_package_sources(dist: Path) -> None:
    (sdist,) = dist.glob("dotdo-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    assert "src/dotdo/localrt/js/server.mjs" in names
    assert "pyproject.toml" in names
    assert not [n for n in names if n.startswith(("tests/", "src/entry.py", "bench/", "docs/"))]


def test_building_leaves_no_litter(dist: Path) -> None:
    assert not (ROOT / "build").exists()
    assert not list((ROOT / "src").glob("*.egg-info"))
