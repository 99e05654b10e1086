"""Encoding a value asks its class, never the instance, whether it has a `to_dict`: an
instance's `__getattr__` may answer any name (a thing's accessor on DOWorkflow turns one
into a Workers RPC call to another object), and encoding must not run it."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.wire.codec import encode


class AnswersAnyName:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.asked.append(name)
        return lambda *args, **kwargs: {"called": name}


class HasToDict:
    def to_dict(self) -> dict[str, Any]:
        return {"n": 1}


def test_an_instance_attribute_is_never_probed() -> None:
    value = AnswersAnyName()
    with pytest.raises(TypeError, match="AnswersAnyName cannot be sent over RPC"):
        encode(value)
    assert value.asked == []


def test_a_class_to_dict_is_still_used() -> None:
    assert encode({"x": HasToDict()}) == {"x": {"n": 1}}
