"""A remote call: arguments bound and checked, options objects unpacked only where marked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dotdo.errors import BadRequest
from dotdo.remote.calls import invoke, options_arguments
from dotdo.remote.marks import rpc


class Accessor:
    @rpc(scope="read", options=("where", "order_by", "limit"))
    def list(self, where: dict[str, Any] | None = None, order_by: str | None = None, limit: int = 10) -> Any:
        return {"where": where, "order_by": order_by, "limit": limit}

    @rpc
    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        return data


def test_options_objects_for_javascript_callers() -> None:
    listing, create = Accessor().list, Accessor().create
    assert options_arguments(listing, [{"where": {"a": 1}, "limit": 2}]) == {"where": {"a": 1}, "limit": 2}
    assert options_arguments(listing, [{"orderBy": "-a"}]) == {"order_by": "-a"}
    assert options_arguments(listing, [{"plan": "pro"}]) == [{"plan": "pro"}]  # a where clause stays one
    assert options_arguments(listing, [{}]) == [{}]
    assert options_arguments(listing, [{"limit": 1}, 2]) == [{"limit": 1}, 2]
    assert options_arguments(create, [{"limit": 1}]) == [{"limit": 1}]  # no options declared


def test_invoke_unpacks_options_and_checks_what_it_binds() -> None:
    accessor = Accessor()
    assert asyncio.run(invoke(accessor.list, [{"where": {"a": 1}, "orderBy": "a"}])) == {
        "where": {"a": 1},
        "order_by": "a",
        "limit": 10,
    }
    assert asyncio.run(invoke(accessor.list, [{"open": True}]))["where"] == {"open": True}
    with pytest.raises(BadRequest) as caught:
        asyncio.run(invoke(accessor.list, [{"limit": "ten"}]))
    assert caught.value.code == "invalid_params"
