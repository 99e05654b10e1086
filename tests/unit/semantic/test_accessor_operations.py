"""A noun accessor's operations are the object's flat RPC methods by name (ADR 0016, one name
per operation): a token's `methods` caveat grants a path call by the flat method it is."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.full.ai.accessor import SearchableNouns
from dotdo.full.durable import DOFull
from dotdo.remote.marks import rpc_methods, rpc_scope
from dotdo.remote.targets import resolve_operation
from dotdo.semantic.accessors import InstanceAccessor, NounAccessor

ACCESSORS = (NounAccessor, InstanceAccessor, SearchableNouns)


@pytest.mark.parametrize("accessor", ACCESSORS)
def test_every_accessor_operation_is_a_flat_method_of_the_object_with_its_scope(accessor: type) -> None:
    operations: dict[str, str] = dict(accessor.rpc_operations)  # type: ignore[attr-defined]
    assert set(operations) == set(rpc_methods(accessor))
    for method, flat in operations.items():
        assert rpc_scope(DOFull, flat) == rpc_scope(accessor, method), (method, flat)


def _spelled(name: str, camel: bool) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest) if camel else name


@given(st.sampled_from(ACCESSORS), st.data(), st.booleans())
def test_a_path_call_is_authorized_as_its_flat_method_in_either_spelling(
    accessor: type, data: st.DataObject, camel: bool
) -> None:
    operations: dict[str, str] = dict(accessor.rpc_operations)  # type: ignore[attr-defined]
    method = data.draw(st.sampled_from(sorted(operations)))
    target: Any = object.__new__(accessor)  # resolving a name reads only the class
    _, scope, operation = resolve_operation(target, _spelled(method, camel), is_root=False)
    assert (operation, scope) == (operations[method], rpc_scope(accessor, method))


def test_a_method_of_the_object_is_authorized_by_its_python_name() -> None:
    root: Any = object.__new__(DOFull)
    assert resolve_operation(root, "findFirstThing", is_root=True)[2] == "find_first_thing"
    assert resolve_operation(root, "get", is_root=True)[2] == "get"
