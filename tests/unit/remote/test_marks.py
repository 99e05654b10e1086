"""The one allowlist: `@rpc` marks on Durable Object classes, returned objects and `RpcTarget`s."""

from __future__ import annotations

import types

import pytest

from dotdo.errors import BadRequest
from dotdo.remote.calls import bind_arguments
from dotdo.remote.marks import (
    RpcTarget,
    is_reference,
    is_rpc_method,
    method_options,
    method_scope,
    rpc,
    rpc_methods,
    rpc_scope,
    seal_rpc_surface,
)
from dotdo.semantic.accessors import QUERY_OPTIONS, InstanceAccessor, NounAccessor


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


def test_an_override_is_remote_only_with_the_mark_it_states() -> None:
    class Store:
        @rpc(scope="read", options=("where",))
        def find(self, where: dict[str, int] | None = None) -> int:
            return 0

    seal_rpc_surface(Store)

    class Hidden(Store):
        def find(self, where: dict[str, int] | None = None) -> int:
            return 1

    class Remarked(Store):
        @rpc(scope="admin")
        def find(self, where: dict[str, int] | None = None) -> int:
            return 2

    seal_rpc_surface(Hidden)
    seal_rpc_surface(Remarked)
    assert rpc_scope(Hidden, "find") is None and Hidden().find() == 1
    assert rpc_scope(Remarked, "find") == "admin"
    assert method_options(Remarked().find) == frozenset()  # what its own mark says, nothing inherited


def test_the_mark_refuses_what_it_cannot_mean() -> None:
    with pytest.raises(ValueError, match="scope"):
        rpc(scope="owner")
    for options in ("where", ["where", 1], ["not a name"]):
        with pytest.raises(ValueError, match="options"):
            rpc(options=options)  # type: ignore[arg-type]


def test_the_noun_accessors_are_reached_through_their_marks() -> None:
    """The accessors' surface is the one allowlist's (no lists of names beside the methods)."""
    assert rpc_methods(NounAccessor) == [
        "count",
        "create",
        "create_many",
        "find_first",
        "list",
        "page",
        "upsert",
    ]
    assert rpc_methods(InstanceAccessor) == [
        "delete",
        "get",
        "relate",
        "related",
        "related_page",
        "replace",
        "restore",
        "soft_delete",
        "unrelate",
        "update",
    ]
    reads = {"count", "find_first", "list", "page", "get", "related", "related_page"}
    for cls in (NounAccessor, InstanceAccessor):
        for name in rpc_methods(cls):
            assert rpc_scope(cls, name) == ("read" if name in reads else "write"), name
    assert not is_rpc_method(InstanceAccessor, "traverse") and not is_rpc_method(InstanceAccessor, "ref")
    assert not is_rpc_method(NounAccessor, "_remote_call")
    assert method_options(NounAccessor.list) == frozenset(QUERY_OPTIONS)
    assert method_options(NounAccessor.create) == frozenset()


class Mixin:
    def shared(self) -> str:
        return "shared"


class Orders(Mixin, RpcTarget):
    rpc_read_methods = frozenset({"summarize"})

    def summarize(self) -> str:
        return "sum"

    def cancel(self) -> None:
        pass

    @rpc(scope="admin")
    def purge(self) -> None:
        pass

    @rpc
    def count(self) -> int:
        return 0

    def _internal(self) -> None:
        pass


class ReadOrders(Orders):
    rpc_read_methods = frozenset({"count"})


def test_an_rpc_target_is_marked_by_its_class() -> None:
    assert rpc_methods(Orders) == ["cancel", "count", "purge", "shared", "summarize"]
    assert [rpc_scope(Orders, name) for name in rpc_methods(Orders)] == [
        "write",
        "write",
        "admin",
        "write",
        "read",
    ]
    assert rpc_scope(ReadOrders, "count") == "read" and rpc_scope(ReadOrders, "summarize") == "write"
    assert rpc_scope(Orders, "_internal") is None and rpc_scope(Orders, "__init__") is None


def test_what_travels_by_reference() -> None:
    assert is_reference(Orders()) and is_reference(ReadOrders())
    assert is_reference(NounAccessor.__new__(NounAccessor))
    assert not is_reference(Child())  # a Durable Object class: where calls start, never a value
    assert not any(is_reference(value) for value in (None, 1, "a", [1], {"a": 1}, Mixin()))
