"""What a durable step records as its action's name, and how a replay compares it."""

from __future__ import annotations

import functools

import pytest

from dotdo import DotdoError, StepMismatch
from dotdo.workflows.steps import check_step, step_name


class Shop:
    async def charge(self, amount: int) -> int:
        return amount

    @classmethod
    def build(cls) -> Shop:
        return cls()

    @staticmethod
    def tax(amount: int) -> int:
        return amount // 10


class Checkout(Shop):
    pass


class Refund:
    def __call__(self, amount: int) -> int:
        return -amount


def load_profile(customer_id: str) -> str:
    return customer_id


def test_a_method_is_named_by_its_defining_class() -> None:
    assert step_name(Shop().charge) == "Shop.charge"
    assert step_name(Checkout().charge) == "Shop.charge"  # inherited: the same function
    assert step_name(Shop.build) == "Shop.build"
    assert step_name(Shop.tax) == "Shop.tax"


def test_functions_partials_callables_and_lambdas() -> None:
    assert step_name(load_profile) == "load_profile"
    assert step_name(functools.partial(load_profile, "c-1")) == "load_profile"
    assert step_name(functools.partial(functools.partial(Shop().charge), 5)) == "Shop.charge"
    assert step_name(Refund()) == "Refund"
    assert step_name(len) == "len"
    assert step_name(lambda: 1) == ("test_functions_partials_callables_and_lambdas.<locals>.<lambda>")


def test_a_record_naming_the_same_action_or_no_action_is_accepted() -> None:
    check_step("step-1", "Shop.charge", "Shop.charge")
    check_step("step-1", None, "Shop.charge")  # recorded before steps had names


def test_a_record_naming_another_action_is_a_mismatch() -> None:
    with pytest.raises(StepMismatch) as caught:
        check_step("step-2", "Shop.load_profile", "Shop.charge_card")
    error = caught.value
    assert str(error) == "step_mismatch: step 'step-2' recorded 'Shop.load_profile', now 'Shop.charge_card'"
    assert (error.code, error.step_id, error.recorded, error.current) == (
        "step_mismatch",
        "step-2",
        "Shop.load_profile",
        "Shop.charge_card",
    )
    assert isinstance(error, DotdoError)
