"""`self.Customer("c1").name(...)` calls the object that owns the thing (Workers RPC): a
method its class does not offer was the runtime's bare "The RPC receiver does not implement
the method" JsException; a noun's method called on one thing (`upsert`) said nothing of
where it is."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.semantic.accessors import InstanceAccessor
from tests.inprocess import run


class Stub:
    """A thing object's stub: `notify` answers (awaitable, as Workers RPC's are), any other
    method is refused as the runtime refuses it."""

    def __getattr__(self, name: str) -> Any:
        async def method(*args: Any) -> Any:
            if name == "notify":
                return ["notified", *args]
            if name == "profile":  # the SDK converting an answer holding a `constructor` key
                raise AttributeError("'int' object has no attribute 'name'")
            raise RuntimeError(f"TypeError: The RPC receiver does not implement the method {name!r}.")

        return method


def accessor() -> InstanceAccessor:
    return InstanceAccessor(None, None, "PartsOrder", "po-1", lambda type_name, thing_id: Stub())  # type: ignore[arg-type]


def test_a_method_the_object_offers_is_called_as_before() -> None:
    assert run(accessor().notify("ready")) == ["notified", "ready"]


def test_a_nouns_method_on_one_thing_says_where_it_is() -> None:
    with pytest.raises(AttributeError) as raised:
        run(accessor().upsert({"$id": "po-1"}))
    assert str(raised.value) == (
        "self.PartsOrder('po-1').upsert(...) calls the object that owns that thing (Workers RPC), "
        "and its class has no @rpc method 'upsert'; upsert() is the noun's: self.PartsOrder().upsert(...)"
    )


def test_another_missing_method_names_the_call() -> None:
    with pytest.raises(AttributeError, match=r"self.PartsOrder\('po-1'\).notfy\(...\) calls the object"):
        run(accessor().notfy())


def test_an_answer_the_sdk_cannot_convert_says_which_key() -> None:
    """An answer holding a `constructor` key failed in the SDK's conversion as "'int' object
    has no attribute 'name'"."""
    with pytest.raises(TypeError) as raised:
        run(accessor().profile())
    assert str(raised.value) == (
        "self.PartsOrder('po-1').profile(...): the answer holds an object key 'constructor', which "
        "Workers RPC's Python conversion cannot carry between objects: rename it"
    )
