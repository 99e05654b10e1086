"""The app's namespace is the app's: the real framework classes (imported against stand-ins
for the Workers runtime modules) refuse a subclass that reuses a framework name by
accident, let hooks and options through, and make `@override` the way to replace a
member on purpose. Also: every operation of the framework has one name."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from dotdo.core.namespace import framework_names, override, reserved_attributes
from dotdo.remote.marks import is_rpc_method, method_scope, rpc, rpc_methods

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
            DOStorage=importlib.import_module("dotdo.storage.durable").DOStorage,
            DOWorkflow=importlib.import_module("dotdo.workflows.durable").DOWorkflow,
        )
    finally:
        for name in set(sys.modules) - before:  # the modules imported against the stand-ins
            parent, _, child = name.rpartition(".")
            del sys.modules[name]
            if parent in sys.modules and child in vars(sys.modules[parent]):
                delattr(sys.modules[parent], child)


def _refused(base: type, body: dict[str, Any], name: str = "App", bases: tuple[type, ...] = ()) -> str:
    with pytest.raises(TypeError) as info:
        type(name, (*bases, base), body)
    return str(info.value)


# -- clashes ------------------------------------------------------------------------


def test_a_framework_rpc_method_is_refused_with_both_names_and_the_way_out(layers: Any) -> None:
    def query(self: Any, sql: str) -> None: ...

    message = _refused(layers.DOWorkflow, {"query": query})
    assert message.startswith("App.query clashes with DOStorage.query (a framework RPC method).")
    assert "@override" in message and '@override @rpc(scope="read")' in message


@pytest.mark.parametrize(
    ("name", "owner"),
    [("send_event", "DOWorkflow"), ("emit", "DOWorkflow"), ("broadcast", "DOCore"), ("do", "DOWorkflow")],
)
def test_framework_methods_are_refused(layers: Any, name: str, owner: str) -> None:
    message = _refused(layers.DOWorkflow, {name: lambda self: None})
    assert message.startswith(f"App.{name} clashes with {owner}.{name} (a framework ")


def test_an_async_method_a_property_and_a_class_attribute_are_refused_alike(layers: Any) -> None:
    async def start_workflow(self: Any) -> None: ...

    assert "DOWorkflow.start_workflow" in _refused(layers.DOWorkflow, {"start_workflow": start_workflow})
    assert "(a framework property)" in _refused(layers.DOCore, {"object_name": property(lambda self: "x")})
    assert "DOCore.list" in _refused(layers.DOCore, {"list": [1, 2]})


def test_instance_attributes_of_the_framework_cannot_be_taken_even_on_purpose(layers: Any) -> None:
    message = _refused(layers.DOSemantic, {"things": ()})
    assert message.startswith("App.things clashes with DOSemantic.things (an attribute the framework sets")
    for name in ("sql", "state", "env", "router"):
        assert f"DOCore.{name}" in _refused(layers.DOSemantic, {name: None})
    assert "DOWorkflow.on" in _refused(layers.DOWorkflow, {"on": override(lambda self: None)})


def test_the_framework_internals_are_refused(layers: Any) -> None:
    message = _refused(layers.DOWorkflow, {"_subscribe": lambda self: 0})
    assert message.startswith(
        "App._subscribe clashes with DOWorkflow._subscribe (the framework's internals)."
    )
    assert "DOWorkflow._marks" in _refused(layers.DOWorkflow, {"_marks": {}})
    assert "DOCore._health" in _refused(layers.DOSemantic, {"_health": lambda self: None})


def test_a_mixin_before_the_framework_is_checked_too(layers: Any) -> None:
    mixin = type("Sending", (), {"send_event": lambda self: None, "send": lambda self: None})
    message = _refused(layers.DOWorkflow, {}, bases=(mixin,))
    assert message.startswith("Sending.send_event clashes with DOWorkflow.send_event")


def test_the_old_code_let_a_clash_through_silently_now_it_does_not(layers: Any) -> None:
    """An app's `def query` used to replace the framework's (and its RPC method) without a word."""
    with pytest.raises(TypeError, match=r"App\.query clashes with DOStorage\.query"):

        class App(layers.DOWorkflow):  # type: ignore[name-defined,misc]
            def query(self, text: str) -> list[str]: ...


# -- what is free ---------------------------------------------------------------------


def test_every_declared_hook_is_a_method_and_is_documented(layers: Any) -> None:
    api = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    table = api.split("### Hooks (override and call `super()`)")[1].split("\n### ")[0]
    in_table = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`(?:async )?(\w+)\(", line.split("|")[1])
    }
    assert in_table == layers.DOCore._dotdo_layer.hooks
    hooks = {name for name, known in framework_names(layers.DOWorkflow).items() if known.kind == "hook"}
    assert hooks == layers.DOCore._dotdo_layer.hooks | layers.DOSemantic._dotdo_layer.hooks
    for name in hooks:
        assert callable(getattr(layers.DOWorkflow, name)), name
        assert re.search(rf"`(async )?{name}\(", api), f"{name} is not in docs/api.md"


def test_hooks_and_options_are_overridden_freely(layers: Any) -> None:
    class App(layers.DOWorkflow):  # type: ignore[name-defined,misc]
        declared_nouns = ()
        delivery_retry_limit = 2
        secret_bindings = ("MY_SECRET",)
        message_rate_limit = 10
        thing_cache_size = 8

        def migrations(self) -> list[Any]:
            return list(super().migrations())

        def routes(self, router: Any) -> None: ...
        def middleware(self, router: Any) -> None: ...
        async def on_alarm(self, info: Any) -> None: ...
        async def on_message(self, connection: Any, message: Any) -> None: ...
        async def on_close(self, connection: Any, code: int, reason: str) -> None: ...
        async def on_socket_error(self, connection: Any, error: Any) -> None: ...
        async def fetch(self, request: Any) -> Any: ...
        def access_for(self, token: Any = None) -> Any: ...
        def rpc_noun(self, name: str) -> Any: ...
        def thing_store(self) -> Any: ...
        def noun_factory(self, type_name: str) -> Any: ...

        @rpc
        def sign_up(self, email: str) -> str:
            return email

        def _helper(self) -> None: ...

    assert App.delivery_retry_limit == 2
    assert "sign_up" in rpc_methods(App)
    kinds = {name: known.kind for name, known in framework_names(App).items()}
    assert {kinds[name] for name in ("routes", "fetch", "thing_store", "rpc_noun")} == {"hook"}
    assert {kinds[name] for name in ("declared_nouns", "delivery_retry_limit")} == {"option"}


def test_names_the_framework_gave_up_are_the_apps(layers: Any) -> None:
    """`send` was the framework's Python name for `send_event`; now an app may have its own."""

    class App(layers.DOWorkflow):  # type: ignore[name-defined,misc]
        async def send(self, to: str, body: str) -> str:
            return to

        def schedules(self) -> list[str]:
            return []

    assert not is_rpc_method(App, "send") and App.schedules


def test_a_subclass_of_an_app_class_is_not_blamed_for_what_the_framework_put_there(layers: Any) -> None:
    class Base(layers.DOWorkflow):  # type: ignore[name-defined,misc]
        @override
        def emit(self, event_type: str, data: Any = None, subject: Any = None, object: Any = None) -> str:
            return "e"

    class Child(Base):  # Base carries _marks from DOWorkflow.__init_subclass__
        def own(self) -> None: ...

    assert "_marks" in vars(Base) and Child.own


def test_a_subclass_replacing_an_override_says_so_again(layers: Any) -> None:
    class Base(layers.DOSemantic):  # type: ignore[name-defined,misc]
        @override
        def noun(self, type_name: str, thing_id: str | None = None) -> Any: ...

    message = _refused(Base, {"noun": lambda self, t, i=None: None}, name="Child")
    assert message.startswith("Child.noun clashes with DOSemantic.noun")


# -- @override ------------------------------------------------------------------------


def test_override_replaces_a_method_on_purpose(layers: Any) -> None:
    class App(layers.DOSemantic):  # type: ignore[name-defined,misc]
        @override
        def record_action(self, subject: Any, verb: str, object: Any = None, data: Any = None) -> Any:
            return {"verb": verb}

        @property
        @override
        def object_name(self) -> str:
            return "fixed"

    app = object.__new__(App)
    assert app.record_action("Customer/c", "sign") == {"verb": "sign"}
    assert app.object_name == "fixed"


def test_an_override_of_an_rpc_method_is_remote_only_when_it_says_so(layers: Any) -> None:
    class Local(layers.DOSemantic):  # type: ignore[name-defined,misc]
        @override
        def query(self, sql: str, params: Any = None) -> Any: ...

    class Remote(layers.DOSemantic):  # type: ignore[name-defined,misc]
        @override
        @rpc(scope="admin")
        def query(self, sql: str, params: Any = None) -> Any: ...

    assert is_rpc_method(layers.DOSemantic, "query")
    assert not is_rpc_method(Local, "query") and "query" not in rpc_methods(Local)
    assert is_rpc_method(Remote, "query") and method_scope(Remote.query) == "admin"


def test_typing_override_counts_as_the_marker(layers: Any) -> None:
    typing_extensions = pytest.importorskip("typing_extensions")

    class App(layers.DOWorkflow):  # type: ignore[name-defined,misc]
        @typing_extensions.override
        async def send_event(self, event_type: str, data: Any = None) -> str:
            return "mine"

    assert not is_rpc_method(App, "send_event")


def test_override_of_a_name_no_base_defines_is_refused(layers: Any) -> None:
    """The framework renamed it (`replay` is `replay_dead_letter` now) or the name is mistyped."""

    @override
    async def replay(self: Any, delivery_id: str) -> None: ...

    message = _refused(layers.DOWorkflow, {"replay": replay})
    assert message.startswith("App.replay is marked @override, but no base class of App defines")


# -- instance attributes ----------------------------------------------------------------


def test_assigning_a_framework_attribute_again_is_refused(layers: Any) -> None:
    class App(layers.DOWorkflow):  # type: ignore[name-defined,misc]
        pass

    app = object.__new__(App)
    app.things = "the framework's"  # the first assignment is the framework's own __init__
    app.counter = 1
    app.counter = 2  # the app's own attributes are the app's
    with pytest.raises(TypeError) as info:
        app.things = "the app's"
    assert str(info.value).startswith("App sets self.things, which clashes with DOSemantic.things")
    assert app.things == "the framework's"
    assert reserved_attributes(App) >= {"ctx", "env", "sql", "things", "nouns", "on", "every"}


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
    for layer in (layers.DOCore, layers.DOSemantic, layers.DOStorage, layers.DOWorkflow):
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


def test_the_human_in_the_loop_operations_are_rpc_methods_and_the_waits_python_only(layers: Any) -> None:
    full = importlib.import_module("dotdo.full.durable").DOFull
    names = rpc_methods(full)
    for name in ("approvals", "approval", "decide_approval"):
        assert name in names, name
    # the waits suspend a workflow run: no remote caller is one
    for python_only in ("wait_for_approval", "wait_for_event"):
        assert python_only not in names and callable(getattr(full, python_only)), python_only
    assert method_scope(full.decide_approval) == "approve" and method_scope(full.approvals) == "read"
    assert "approvals" in _refused(full, {"approvals": lambda self: []})
