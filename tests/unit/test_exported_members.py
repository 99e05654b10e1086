import importlib
import subprocess
import sys
from pathlib import Path

import dotdo

SRC = Path(__file__).resolve().parents[2] / "src"


def test_all_is_sorted_and_complete() -> None:
    assert dotdo.__all__ == sorted(dotdo.__all__)
    public = {name for name in vars(dotdo) if not name.startswith("_")} - {
        "annotations",
        "TYPE_CHECKING",
        "Any",
        "core",
        "errors",
        "hints",
        "full",
        "semantic",
        "storage",
        "workflows",
        "wire",
        "remote",
        "client",
        "client_events",  # the client's subscription, imported with `dotdo.client`
        "types",
        "values",
        "tracebacks",  # imported by dotdo.errors when it names an error
        "worker",
        # tooling subpackages (the command, the local runtime, the pytest plugin), imported by
        # the plugin in every test session; never part of the framework's own surface
        "cli",
        "localrt",
        "testing",
    }
    # every public name loads on first use (ADR 0036): the names in the namespace so far are
    # public ones, and the table of lazy names is exactly __all__
    assert public <= set(dotdo.__all__)
    assert set(dotdo._LAZY) == set(dotdo.__all__)


def test_every_public_name_resolves_to_its_defining_module() -> None:
    # the Durable Object classes too: every layer imports under CPython (no pyodide, no js)
    for name in sorted(dotdo.__all__):
        module, attribute = dotdo._LAZY[name], dotdo._RENAMED.get(name, name)
        assert getattr(dotdo, name) is getattr(importlib.import_module(module), attribute), name
    assert set(dir(dotdo)) >= set(dotdo.__all__)


_APP = """
import sys
from dotdo import DOFull, rpc, workflow

class Desk(DOFull):
    @rpc
    def greet(self, name: str) -> str:
        return "hi " + name

    @workflow
    async def refund(self, request: dict) -> dict:
        return request

assert Desk.greet(None, "ann") == "hi ann"
assert not {"pyodide", "js", "workers"} & set(sys.modules), sorted(sys.modules)
"""


def test_an_app_class_is_made_under_cpython() -> None:
    """A user's class on the top layer is created (its class-time checks run) in a plain
    CPython with no stand-ins for the runtime's modules (type checking, unit tests of an
    app's pure code): no layer imports pyodide, js or the Workers SDK at import time."""
    done = subprocess.run(
        [sys.executable, "-c", _APP], env={"PYTHONPATH": str(SRC)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


_ENTRY = """
import sys
import src.entry as entry
from dotdo import WorkerEntrypoint

assert issubclass(entry.Default, WorkerEntrypoint)
assert not {"pyodide", "js"} & set(sys.modules), sorted(sys.modules)
"""


def test_a_new_projects_entry_imports_under_cpython(tmp_path: Path) -> None:
    """`dotdo new`'s entry module (its class and its passthrough worker) imports in a plain
    CPython whose path holds the Workers SDK (as a user's venv does, where the SDK itself
    cannot be imported: it imports `js`): the worker's base comes from `dotdo`."""
    from dotdo.cli.scaffold import create_project

    project = create_project("desk", tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _ENTRY], cwd=project, env={"PYTHONPATH": f"{SRC}:{project}"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
