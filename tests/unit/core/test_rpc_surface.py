from __future__ import annotations

import types

import pytest

from dotdo.core.rpc import bind_arguments, is_rpc_method, method_scope, rpc, rpc_methods, seal_rpc_surface
from dotdo.errors import BadRequest


class Base:
    @rpc
    def get(self, key: str) -> str:
        return key

    @rpc
    def peek(self) -> str:
        return "base"

    def helper(self) -> str:
        return "helper"

    def fetch(self) -> None:
        pass


seal_rpc_surface(Base)


class Child(Base):
    def get(self, key: str) -> str:  # overrides an @rpc method without @rpc: Python-only
        return key.upper()

    @rpc(scope="read")
    def peek(self) -> str:  # marked again: remote, with the scope it states
        return "child"

    def extra(self) -> int:
        return 1

    @rpc
    async def ping(self) -> str:
        return "pong"

    def _private(self) -> None:
        pass


seal_rpc_surface(Child)


def test_only_marked_methods_are_plain_functions() -> None:
    assert rpc_methods(Base) == ["get", "peek"]
    assert rpc_methods(Child) == ["peek", "ping"]
    assert method_scope(Child.peek) == "read" and method_scope(Base.peek) == "write"
    assert not isinstance(Child.__dict__["extra"], types.FunctionType)
    assert not isinstance(Child.__dict__["get"], types.FunctionType)
    assert not is_rpc_method(Child, "fetch")
    assert not is_rpc_method(Child, "_private")
    assert not is_rpc_method(Child, "__init__")


def test_hidden_methods_still_work_from_python() -> None:
    child = Child()
    assert child.extra() == 1
    assert child.helper() == "helper"
    assert child.get("a") == "A"


def test_bind_arguments() -> None:
    method = Child().get
    assert bind_arguments(method, ["k"]) == (["k"], {})
    assert bind_arguments(method, {"key": "k"}) == ([], {"key": "k"})
    for bad in [[], ["a", "b"], {"nope": 1}, "string"]:
        with pytest.raises(BadRequest) as info:
            bind_arguments(method, bad)
        assert info.value.code == "invalid_params"
