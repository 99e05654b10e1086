"""What vendoring installs for a Worker: the project's requirements resolved for Pyodide,
with dotdo itself copied from the installed package without its tooling."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from dotdo.errors import LocalRuntimeError
from dotdo.localrt import vendoring
from dotdo.localrt.project import Project


def _project(tmp_path: Path, dependencies: list[str]) -> Project:
    (tmp_path / "entry.py").write_text("")
    (tmp_path / "wrangler.toml").write_text('main = "entry.py"\n')
    quoted = ", ".join(f'"{d}"' for d in dependencies)
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "app"\ndependencies = [{quoted}]\n')
    return Project.load(tmp_path)


def test_markers_are_those_of_a_python_worker() -> None:
    for text in ("click; sys_platform != 'emscripten'", "watchfiles; platform_system == 'Linux'"):
        marker = Requirement(text).marker
        assert marker is not None and not marker.evaluate(vendoring.PYODIDE_ENVIRONMENT)
    marker = Requirement("x; python_version >= '3.13' and sys_platform == 'emscripten'").marker
    assert marker is not None and marker.evaluate(vendoring.PYODIDE_ENVIRONMENT)


def test_dotdo_brings_its_worker_dependencies_and_not_its_tools(tmp_path: Path) -> None:
    requirements, with_dotdo = vendoring._requirements(_project(tmp_path, ["dotdo>=0.1", "attrs>=23"]))
    names = {Requirement(r).name for r in requirements}
    assert with_dotdo
    assert names == {
        "attrs",
        "workers-runtime-sdk",
        "tzdata",
        "fastjsonschema",
    }  # no click, uv, watchfiles, packaging


def test_the_client_extra_brings_its_packages(tmp_path: Path) -> None:
    requirements, _ = vendoring._requirements(_project(tmp_path, ["dotdo[client]"]))
    assert {"httpx", "websockets"} <= {Requirement(r).name for r in requirements}


def test_a_dotdo_version_that_is_not_installed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LocalRuntimeError, match="asks for 'dotdo>=99', but the installed dotdo is"):
        vendoring._requirements(_project(tmp_path, ["dotdo>=99"]))


def test_without_dotdo_only_the_projects_own(tmp_path: Path) -> None:
    assert vendoring._requirements(_project(tmp_path, ["attrs"])) == (["attrs"], False)


def test_the_copied_dotdo_leaves_the_tooling_out() -> None:
    source = vendoring._dotdo_source()
    parts = {path.relative_to(source).parts[0] for path in vendoring._dotdo_files()}
    assert {"core", "semantic", "workflows", "wire", "worker.py", "py.typed"} <= parts
    assert not parts & {"cli", "localrt", "testing", "__main__.py"}


def test_an_invalid_requirement_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LocalRuntimeError, match="invalid dependency 'not a requirement!'"):
        vendoring._requirements(_project(tmp_path, ["not a requirement!"]))
