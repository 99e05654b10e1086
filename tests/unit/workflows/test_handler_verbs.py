"""Handler patterns whose verb no event of a known verb carries, though it looks meant for one,
are logged when the class is defined: a declared verb's other forms (`Ticket.escalate`), the
thing store's (`Ticket.create`), and a letter's typo of a past (`Ticket.creatd`). Events the
app sends itself keep free-form verbs, and are not logged."""

from __future__ import annotations

import logging

import pytest

from dotdo import DOWorkflow, Noun, Verb, on
from dotdo.workflows.handlers import check_handler_verbs, pattern_verb_hint

VERBS = (Verb("assign"), Verb("escalate"), Verb("pay", past="paid"))


def warned(caplog: pytest.LogCaptureFixture, pattern: str) -> list[str]:
    with caplog.at_level(logging.DEBUG, logger="dotdo.workflows"):
        messages = check_handler_verbs("Desk", {pattern: ["notify"]}, VERBS)
    assert [r.getMessage() for r in caplog.records] == messages
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    return messages


@pytest.mark.parametrize("pattern", ["Ticket.escalate", "Ticket.escalating", "Ticket.escalates"])
def test_another_form_of_a_declared_verb_names_its_past(
    caplog: pytest.LogCaptureFixture, pattern: str
) -> None:
    assert warned(caplog, pattern) == [
        f"Desk: handler notify listens to {pattern!r}, but actions of the verb 'escalate' raise "
        "'Ticket.escalated': listen to 'Ticket.escalated'"
    ]


@pytest.mark.parametrize(
    ("pattern", "meant"), [("Ticket.create", "Ticket.created"), ("*.deletes", "*.deleted")]
)
def test_another_form_of_a_thing_store_verb_names_its_event(
    caplog: pytest.LogCaptureFixture, pattern: str, meant: str
) -> None:
    (message,) = warned(caplog, pattern)
    assert f"but the thing store's {meant.split('.')[1][:-1]!r} events are {meant!r}" in message


@pytest.mark.parametrize(
    ("pattern", "meant"),
    [
        ("Ticket.creatd", "Ticket.created"),
        ("Ticket.udpated", "Ticket.updated"),
        ("*.escalatd", "*.escalated"),
    ],
)
def test_a_typo_of_a_known_past_is_named(caplog: pytest.LogCaptureFixture, pattern: str, meant: str) -> None:
    assert warned(caplog, pattern) == [
        f"Desk: handler notify listens to {pattern!r}, which names no event of a known verb; "
        f"did you mean {meant!r}?"
    ]


@pytest.mark.parametrize(
    ("verb", "pattern", "meant"),
    [
        (Verb("cancel"), "Patient.cancelled", "Patient.canceled"),
        (Verb("cancel", past="cancelled"), "Patient.canceled", "Patient.cancelled"),
        (Verb("travel"), "*.travelled", "*.traveled"),
        (Verb("enrol"), "Patient.enroled", "Patient.enrolled"),
    ],
)
def test_the_other_spelling_of_a_declared_past_is_named(
    caplog: pytest.LogCaptureFixture, verb: Verb, pattern: str, meant: str
) -> None:
    """`cancelled` reads as a past of its own, so it was taken for an event the app sends, and
    a handler on it never ran: dotdo spells `cancel`'s past as American English does."""
    with caplog.at_level(logging.DEBUG, logger="dotdo.workflows"):
        (message,) = check_handler_verbs("Clinic", {pattern: ["after"]}, (verb,))
    base, spelled = verb.forms().base, pattern.split(".")[1]
    assert message == (
        f"Clinic: handler after listens to {pattern!r}, but actions of the verb {base!r} raise {meant!r}, "
        f"spelled so (Verb({base!r}, past={spelled!r}) would raise {pattern!r}): listen to {meant!r}"
    )
    assert pattern_verb_hint(pattern, (verb,)) is not None


@pytest.mark.parametrize(
    "pattern",
    [
        "Ticket.escalated",
        "Ticket.created",
        "Ticket.paid",
        "Ticket.*",
        "*.*",
        "Page.sent",  # the app's own events, sent with send_event: free-form verbs
        "Email.queued",
        "Ticket.reopened",
        "Patient.treated",  # one letter from `created`, but a past tense of its own
        "Stock.depleted",  # ... from `deleted`
        "Box.crated",
        "Ticket.said",  # one letter from the short `paid`
        "Ticket.ping",
    ],
)
def test_known_pasts_and_the_apps_own_events_are_quiet(
    caplog: pytest.LogCaptureFixture, pattern: str
) -> None:
    assert warned(caplog, pattern) == []


def test_the_class_is_checked_once_when_defined(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dotdo.workflows"):

        class Desk(DOWorkflow):
            declared_nouns = (Noun("Ticket"), Noun("Page"))
            declared_verbs = (Verb("escalate"),)

            @on.Ticket.escalate
            def notify(self, event: object) -> None: ...

            @on.Ticket.escalated
            def page(self, event: object) -> None: ...

            @on.Page.sent
            def paged(self, event: object) -> None: ...

    assert [r.getMessage().rpartition("<locals>.")[2] for r in caplog.records] == [
        "Desk: handler notify listens to 'Ticket.escalate', but actions of the verb 'escalate' raise "
        "'Ticket.escalated': listen to 'Ticket.escalated'"
    ]
