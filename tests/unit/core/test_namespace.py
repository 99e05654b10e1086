"""The app's namespace is the app's: every operation of the real framework classes
(imported against stand-ins for the Workers runtime modules) has one name."""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
import textwrap
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from dotdo.core.rpc import rpc_methods

_RUNTIME_MODULES = ("pyodide", "pyodide.ffi", "js", "workers")


def _runtime_stub(name: str) -> ModuleType:
    """A stand-in for a module only the Workers runtime has: any name imported from it is a
    fresh class (an exception if it is named like one)."""

    def fresh_class(attribute: str) -> type:
        return type(attribute, (Exception,) if attribute.endswith(("Error", "Exception")) else (), {})

    module = ModuleType(name)
    module.__getattr__ = fresh_class  # type: ignore[method-assign]
    return module


@pytest.fixture(scope="module")
def layers() -> Iterator[SimpleNamespace]:
    """DOCore, DOSemantic and DOWorkflow, imported against the stand-ins."""
    before = set(sys.modules)
    sys.modules.update({name: _runtime_stub(name) for name in _RUNTIME_MODULES if name not in sys.modules})
    try:
        yield SimpleNamespace(
            DOCore=importlib.import_module("dotdo.core.durable").DOCore,
            DOSemantic=importlib.import_module("dotdo.semantic.durable").DOSemantic,
            DOWorkflow=importlib.import_module("dotdo.workflows.durable").DOWorkflow,
        )
    finally:
        for name in set(sys.modules) - before:  # the modules imported against the stand-ins
            parent, _, child = name.rpartition(".")
            del sys.modules[name]
            if parent in sys.modules and child in vars(sys.modules[parent]):
                delattr(sys.modules[parent], child)


# -- one name per operation ------------------------------------------------------------


def _forwarded_to(function: Any) -> str | None:
    """The method of `self` a method only forwards to (`return [await] self.other(...)`)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    call = body[0].value.value if isinstance(body[0].value, ast.Await) else body[0].value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "self"
    ):
        return call.func.attr
    return None


def test_every_operation_has_one_name(layers: Any) -> None:
    """No public method of a layer is a second name for another (the old `run_workflow`
    forwarding to `start_workflow`): the one method is both the Python API and the RPC method."""
    seconds = []
    for layer in (layers.DOCore, layers.DOSemantic, layers.DOWorkflow):
        for name, value in vars(layer).items():
            function = getattr(value, "__func__", value)
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            target = _forwarded_to(function)
            if target is not None and not target.startswith("_"):
                seconds.append(f"{layer.__name__}.{name} -> {target}")
    assert seconds == []


def test_the_workflow_operations_are_rpc_methods_under_their_python_names(layers: Any) -> None:
    names = rpc_methods(layers.DOWorkflow)
    for name in ("send_event", "list_schedules", "remove_schedule", "start_workflow", "workflow_status",
                 "dead_letters", "replay_dead_letter", "query", "record_action"):  # fmt: skip
        assert name in names, name
    for old in ("schedules", "unschedule", "run_workflow", "get_workflow", "list_dead_letters",
                "replay", "read_query", "action", "send"):  # fmt: skip
        assert not hasattr(layers.DOWorkflow, old), old


def test_emit_and_send_take_their_arguments_in_one_order(layers: Any) -> None:
    order = ["event_type", "data", "subject", "object"]
    for method in (layers.DOSemantic.emit, layers.DOWorkflow.emit, layers.DOWorkflow.send_event):
        assert list(inspect.signature(method).parameters)[1:5] == order, method
