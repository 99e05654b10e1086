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


def _vendoring_dotdo_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose vendoring copies dotdo alone (no uv, no index): hundreds of files, so
    that two runs at once overlap."""
    monkeypatch.setattr(vendoring, "_requirements", lambda project: ([], True))
    return _project(tmp_path, [])


def _whole(target: Path) -> bool:
    """Whether `target` holds a complete vendoring of dotdo and its stamp."""
    source = vendoring._dotdo_source()
    wanted = {path.relative_to(source) for path in vendoring._dotdo_files()}
    found = {path.relative_to(target / "dotdo") for path in (target / "dotdo").rglob("*") if path.is_file()}
    return found == wanted and (target / vendoring.STAMP).is_file()


def test_concurrent_vendorings_of_one_project_both_succeed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dotdo test` vendoring while `dotdo dev` re-vendors the same project: neither fails
    (the old code emptied python_modules/ in place, and one run's rmtree met the other's
    deletions: FileNotFoundError), and the tree left is whole, with no staging folder."""
    import threading

    project = _vendoring_dotdo_only(tmp_path, monkeypatch)
    vendoring.vendor(project)
    rounds = 8
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        for _ in range(rounds):
            start.wait()
            try:
                vendoring.vendor(project, force=True)
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _whole(project.python_modules)
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".python_modules.")]


def test_a_reader_never_sees_python_modules_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While vendorings replace python_modules/ again and again, a reader looking at it
    always finds the stamp and dotdo's package (the old code emptied the folder, then
    moved the new entries in one by one)."""
    import sys
    import threading

    if sys.platform != "linux":
        pytest.skip("an atomic exchange of two folders is Linux's renameat2")
    project = _vendoring_dotdo_only(tmp_path, monkeypatch)
    vendoring.vendor(project)
    done = threading.Event()
    seen_missing: list[str] = []

    def read() -> None:
        while not done.is_set():
            for name in (vendoring.STAMP, "dotdo/__init__.py"):
                if not (project.python_modules / name).is_file():
                    seen_missing.append(name)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(6):
            vendoring.vendor(project, force=True)
    finally:
        done.set()
        reader.join()
    assert seen_missing == []


def test_a_vendoring_that_fails_midway_leaves_the_old_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _vendoring_dotdo_only(tmp_path, monkeypatch)
    vendoring.vendor(project)
    stamp = (project.python_modules / vendoring.STAMP).read_text()
    copied = 0
    real_copy = vendoring.shutil.copy2

    def copy_then_fail(source: Path, dest: Path) -> object:
        nonlocal copied
        copied += 1
        if copied > 20:
            raise OSError(28, "No space left on device")
        return real_copy(source, dest)

    monkeypatch.setattr(vendoring.shutil, "copy2", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        vendoring.vendor(project, force=True)
    assert _whole(project.python_modules)
    assert (project.python_modules / vendoring.STAMP).read_text() == stamp
    assert not [path.name for path in tmp_path.iterdir() if path.name.startswith(".python_modules.")]
