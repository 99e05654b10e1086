"""Object names derived from ids: a tenant or a thing's "Type/id", checked before any object
is woken (`thing_object_name`, `object_name`), by every path that addresses an object by
name: `self.stub` (and so `self.Noun(id).method()`), `get_object`, `broadcast_to_room`'s
owner, a fan-out's targets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dotdo.errors import BadRequest, NotFound
from dotdo.semantic.accessors import InstanceAccessor
from dotdo.semantic.object_names import object_name, thing_object_name
from dotdo.semantic.registry import Noun
from dotdo.semantic.strict import NounPolicy
from dotdo.worker import get_object
from dotdo.workflows.durable import DOWorkflow
from tests.unit.semantic.test_strict import Registry

CUSTOMERS = Registry(Noun("Customer").resolved())
"""The nouns a class knows (`NounRegistry`): `Customer` only."""

BAD_IDS = ["a/b", "a\x00", "x" * 129, "", "-a", "a b", "a\n"]


class Namespace:
    """A Durable Object namespace binding that records the names it was asked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def idFromName(self, name: str) -> str:  # noqa: N802 (the binding's own name)
        self.names.append(name)
        return f"id:{name}"

    def get(self, object_id: str) -> Any:
        return SimpleNamespace(id=object_id, notify=lambda *args: args)


def stub_of(
    namespace: Namespace, type_name: str, thing_id: str, *, strict: bool = False, name: str | None = None
) -> Any:
    """`DOWorkflow.stub` of an object called `name` (None: never named) of a `stub_scope = "tenant"` class."""
    host = SimpleNamespace(
        stub_namespace=lambda: namespace,
        noun_policy=NounPolicy(CUSTOMERS, strict),
        stub_scope="tenant",
        object_name=name,
    )
    host.stub_name = lambda t, i: DOWorkflow.stub_name(host, t, i)  # type: ignore[arg-type]
    return DOWorkflow.stub(host, type_name, thing_id)  # type: ignore[arg-type]


def test_a_stub_of_a_noun_a_strict_class_does_not_know_wakes_nothing() -> None:
    """`self.Branch("globex").notify()` in a `strict_nouns` class woke "Branch/globex"."""
    namespace = Namespace()
    with pytest.raises(NotFound) as raised:
        stub_of(namespace, "Branch", "globex", strict=True)
    assert (raised.value.status, raised.value.code) == (404, "unknown_noun") and namespace.names == []
    assert stub_of(namespace, "Customer", "c-1", strict=True).id == "id:Customer/c-1"
    assert stub_of(namespace, "Branch", "globex").id == "id:Branch/globex"  # not strict: any noun


@pytest.mark.parametrize("owner", ["Branch/globex", "acme"])
def test_an_owner_names_its_noun_to_the_policy(owner: str) -> None:
    checked: list[str] = []
    assert object_name(owner, "owner", "invalid_owner", checked.append) == owner
    assert checked == owner.split("/")[:-1]  # a tenant names no noun
    with pytest.raises(NotFound):
        object_name(
            "Branch/globex",
            "owner",
            "invalid_owner",
            NounPolicy(CUSTOMERS, True).check,
        )  # type: ignore[arg-type]


@pytest.mark.parametrize("thing_id", BAD_IDS)
def test_a_stub_of_an_id_no_thing_can_have_wakes_nothing(thing_id: str) -> None:
    namespace = Namespace()
    with pytest.raises(BadRequest) as raised:
        stub_of(namespace, "Customer", thing_id)
    assert (raised.value.status, raised.value.code) == (400, "invalid_id")
    assert namespace.names == []  # "Customer/a/b" was woken
    with pytest.raises(BadRequest) as raised:
        stub_of(namespace, "customer", "c1")
    assert raised.value.code == "invalid_type"
    assert stub_of(namespace, "Customer", "c-1").id == "id:Customer/c-1"


@pytest.mark.parametrize("thing_id", BAD_IDS)
def test_a_call_on_another_objects_thing_checks_its_id(thing_id: str) -> None:
    namespace = Namespace()
    accessor = InstanceAccessor(None, None, "Customer", thing_id, lambda t, i: stub_of(namespace, t, i))  # type: ignore[arg-type]
    with pytest.raises(BadRequest) as raised:
        accessor.notify("hi")
    assert raised.value.code == "invalid_id" and namespace.names == []


@pytest.mark.parametrize(
    "name", ["Customer/a/b", "acme\x00", "Customer/" + "x" * 129, "a b", "Acme", "acme\n"]
)
def test_get_object_refuses_a_name_no_tenant_or_thing_has(name: str) -> None:
    namespace = Namespace()
    with pytest.raises(ValueError, match="An object name"):
        get_object(namespace, name)
    assert namespace.names == []


@pytest.mark.parametrize(
    ("name", "what"), [("acme", "acme"), ("t-1", "t-1"), ("Customer/c-1", "Customer/c-1")]
)
def test_tenants_and_thing_owners_are_object_names(name: str, what: str) -> None:
    assert object_name(name, "owner", "invalid_owner") == what
    assert thing_object_name("Customer", "c.1:x") == "Customer/c.1:x"
