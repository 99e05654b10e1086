"""Whose object a thing's name reaches (ADR 0054): under `stub_scope = "tenant"` (the
default) a tenant's code reaches its own tenant's thing objects, `"acme/Customer/c1"`, so
two tenants' `self.Customer("c1")` are two objects; `"namespace"` keeps the one shared
`"Customer/c1"`. One grammar of object names says which names exist."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.errors import BadRequest, Forbidden
from dotdo.full.rooms import relay_owner
from dotdo.remote.names import is_object_name, object_tenant
from dotdo.semantic.object_names import object_name, within_tenant
from dotdo.wire.tokens import mint, verify
from dotdo.worker import get_object
from dotdo.workflows.durable import DOWorkflow
from dotdo.workflows.stubs import stub_tenant

SECRET = "s" * 32


class Namespace:
    """A Durable Object namespace binding that records the names it was asked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def idFromName(self, name: str) -> str:  # noqa: N802 (the binding's own name)
        self.names.append(name)
        return name

    def get(self, object_id: str) -> Any:
        return SimpleNamespace(name=object_id)


def no_check(_: str) -> None:
    return None


def stub_name(scope: str, caller: str | None, type_name: str = "Customer", thing_id: str = "c1") -> str:
    host = SimpleNamespace(
        stub_scope=scope, object_name=caller, noun_policy=SimpleNamespace(check=lambda t: t)
    )
    return DOWorkflow.stub_name(host, type_name, thing_id)  # type: ignore[arg-type]


def test_two_tenants_reach_two_objects_by_one_things_name() -> None:
    """The breaker's case: `self.Customer("c1").notify()` from `acme` and from `globex`
    reached one object, "Customer/c1", shared by both tenants."""
    assert stub_name("tenant", "acme") == "acme/Customer/c1"
    assert stub_name("tenant", "globex") == "globex/Customer/c1"


def test_a_tenants_thing_object_reaches_its_tenants_things() -> None:
    assert stub_name("tenant", "acme/Order/o-1") == "acme/Customer/c1"
    assert stub_name("tenant", "acme/Customer/c1") == "acme/Customer/c1"  # itself


@pytest.mark.parametrize("caller", [None, "Order/o-1"])
def test_an_object_with_no_tenant_reaches_the_namespaces_things(caller: str | None) -> None:
    assert stub_name("tenant", caller) == "Customer/c1"


@pytest.mark.parametrize("caller", [None, "acme", "acme/Order/o-1", "Order/o-1"])
def test_the_namespace_scope_keeps_one_object_for_every_tenant(caller: str | None) -> None:
    assert stub_name("namespace", caller) == "Customer/c1"


def test_a_stub_is_woken_under_its_tenants_name() -> None:
    namespace = Namespace()
    host = SimpleNamespace(
        stub_scope="tenant",
        object_name="acme",
        noun_policy=SimpleNamespace(check=lambda t: t),
        stub_namespace=lambda: namespace,
    )
    host.stub_name = lambda t, i: DOWorkflow.stub_name(host, t, i)  # type: ignore[arg-type]
    assert DOWorkflow.stub(host, "Customer", "c1").name == "acme/Customer/c1"  # type: ignore[arg-type]
    assert namespace.names == ["acme/Customer/c1"]


@pytest.mark.parametrize("scope", ["tenants", "", None, "Tenant"])
def test_a_class_with_an_unknown_stub_scope_is_refused_when_created(scope: Any) -> None:
    with pytest.raises(ValueError, match="stub_scope is 'tenant' or 'namespace'"):
        type("Shop", (DOWorkflow,), {"stub_scope": scope})


@pytest.mark.parametrize(
    ("name", "tenant"),
    [
        ("acme", "acme"),
        ("acme/Customer/c1", "acme"),
        ("t-1/Order/o.1:x", "t-1"),
        ("Customer/c1", None),
        (None, None),
        ("Acme/Customer/c1", None),  # no object name
    ],
)
def test_the_tenant_an_object_belongs_to(name: str | None, tenant: str | None) -> None:
    assert object_tenant(name) == tenant
    assert stub_tenant("tenant", name) == tenant and stub_tenant("namespace", name) is None


@pytest.mark.parametrize(
    "name",
    [
        "acme/Customer/c1/x",
        "acme/customer/c1",
        "acme//c1",
        "acme/Customer/",
        "Acme/Customer/c1",
        "acme/c1",
        "-a/C/c",
    ],
)
def test_a_tenants_thing_name_is_checked_like_every_other(name: str) -> None:
    assert not is_object_name(name)
    with pytest.raises(BadRequest) as raised:
        object_name(name, "owner", "invalid_owner")
    assert (raised.value.status, raised.value.code) == (400, "invalid_owner")
    namespace = Namespace()
    with pytest.raises(ValueError, match="An object name"):
        get_object(namespace, name)
    assert namespace.names == []


def test_a_tenants_thing_is_an_object_name_everywhere() -> None:
    assert object_name("acme/Customer/c1", "owner", "invalid_owner") == "acme/Customer/c1"
    namespace = Namespace()
    get_object(namespace, "acme/Customer/c1")
    assert namespace.names == ["acme/Customer/c1"]
    token = mint(SECRET, target="acme/Customer/c1", scope="read")
    assert verify(token, SECRET).target == "acme/Customer/c1"
    with pytest.raises(ValueError, match="tenant/Type/id"):
        mint(SECRET, target="acme/customer/c1")


_TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_THING = re.compile(r"[A-Z][A-Za-z0-9]{0,63}/[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


@settings(max_examples=300, derandomize=True)
@given(
    st.one_of(
        st.text(max_size=12),
        st.from_regex(_TENANT, fullmatch=True),
        st.from_regex(_THING, fullmatch=True),
        st.builds(
            lambda a, b: f"{a}/{b}",
            st.from_regex(_TENANT, fullmatch=True),
            st.from_regex(_THING, fullmatch=True),
        ),
        st.builds(lambda a, b: f"{a}/{b}", st.from_regex(_TENANT, fullmatch=True), st.text(max_size=6)),
        st.builds(lambda a, b: f"{a}/{b}", st.from_regex(_THING, fullmatch=True), st.text(max_size=3)),
    )
)
def test_an_object_name_is_one_of_three_forms_and_nothing_else(name: str) -> None:
    head, _, rest = name.partition("/")
    valid = bool(
        _TENANT.fullmatch(name)
        or _THING.fullmatch(name)
        or (_TENANT.fullmatch(head) and _THING.fullmatch(rest))
    )
    assert is_object_name(name) == valid
    try:
        assert object_name(name, "owner", "invalid_owner") == name
        accepted = True
    except BadRequest:
        accepted = False
    assert accepted == valid


def test_a_room_owner_is_taken_within_the_callers_tenant() -> None:
    assert relay_owner(None, "acme", "acme", no_check) is None
    assert relay_owner("acme", "acme", "acme", no_check) is None
    assert relay_owner("Customer/c1", "acme", "acme", no_check) == "acme/Customer/c1"
    assert relay_owner("acme/Customer/c1", "acme", "acme", no_check) == "acme/Customer/c1"
    assert relay_owner("acme", "acme/Customer/c1", "acme", no_check) == "acme"
    assert relay_owner("Customer/c1", "acme/Customer/c1", "acme", no_check) is None  # itself
    assert relay_owner("globex", "Customer/c1", None, no_check) == "globex"  # no tenant: as given


@pytest.mark.parametrize("owner", ["globex", "globex/Customer/c1"])
def test_another_tenants_room_is_out_of_reach(owner: str) -> None:
    """`broadcast_to_room(room, data, owner="globex")` from acme's admin pushed to globex's sockets."""
    with pytest.raises(Forbidden) as raised:
        relay_owner(owner, "acme", "acme", no_check)
    assert (raised.value.status, raised.value.code) == (403, "foreign_object")
    assert "'globex'" in raised.value.message and "'acme'" in raised.value.message
    with pytest.raises(Forbidden):
        within_tenant(owner, "acme", "owner")
