"""`on` spelled as other frameworks spell it (`@on("Noun.verb")`, `@on["Noun.verb"]`, the
verb left out) failed as "'On' object is not callable" or "'_Verbs' object is not
callable": each now says how `on` names the event type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dotdo import on
from dotdo.workflows.handlers import On


def handler(self: Any, event: Any) -> None:
    pass


@pytest.mark.parametrize(
    ("spelled", "says"),
    [
        (lambda on: on("Appointment.booked"), "by attributes, not by a call: @on.Appointment.booked"),
        (lambda on: on["Appointment.booked"](handler), "the noun and the verb apart: @on.Appointment.booked"),
        (lambda on: on.Appointment(handler), "names a noun only; name its verb too: @on.Appointment.verb"),
        (lambda on: on("*.created"), "not by a call: on['*']['created']"),
    ],
)
def test_a_misspelled_on_says_how_on_names_an_event_type(spelled: Callable[[On], Any], says: str) -> None:
    for each in (on, On(lambda pattern, function: lambda: None)):  # `on` and `self.on`
        with pytest.raises(TypeError, match=r"^on") as raised:
            spelled(each)
        assert says in str(raised.value)


def test_the_spellings_it_names_work() -> None:
    marked = on.Appointment.booked(handler)
    marked = on["Appointment"]["rescheduled"](marked)
    assert marked.__dotdo_handlers__ == ("Appointment.booked", "Appointment.rescheduled")
