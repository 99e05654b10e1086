"""Handler patterns naming an undeclared noun are logged when the class is defined."""

from __future__ import annotations

import logging

import pytest

from dotdo import Noun
from dotdo.workflows.handlers import check_handler_nouns

NOUNS = [Noun("Ticket"), Noun("Person", plural="People")]


def test_a_typo_is_a_warning_naming_the_declared_noun(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dotdo.workflows"):
        messages = check_handler_nouns("Shop", {"Tikcet.created": ["welcome", "audit"]}, NOUNS)
    assert [(r.name, r.levelno) for r in caplog.records] == [("dotdo.workflows", logging.WARNING)]
    assert (
        caplog.records[0].getMessage()
        == messages[0]
        == (
            "Shop: handler audit, welcome listens to 'Tikcet.created', but 'Tikcet' is not a declared noun; "
            "did you mean 'Ticket.created'?"
        )
    )


@pytest.mark.parametrize(
    ("pattern", "meant"),
    [("Tickets.*", "Ticket.*"), ("People.created", "Person.created"), ("ticket.updated", "Ticket.updated")],
)
def test_plurals_and_case_are_typos_too(caplog: pytest.LogCaptureFixture, pattern: str, meant: str) -> None:
    with caplog.at_level(logging.WARNING, logger="dotdo.workflows"):
        check_handler_nouns("Shop", {pattern: ["h"]}, NOUNS)
    assert len(caplog.records) == 1 and f"did you mean {meant!r}" in caplog.records[0].getMessage()


def test_declared_nouns_and_wildcards_are_quiet(caplog: pytest.LogCaptureFixture) -> None:
    handlers = {"Ticket.created": ["a"], "Person.*": ["b"], "*.deleted": ["c"], "*.*": ["d"]}
    with caplog.at_level(logging.DEBUG):
        assert check_handler_nouns("Shop", handlers, NOUNS) == []
    assert caplog.records == []


def test_an_application_event_far_from_every_noun_is_only_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dotdo.workflows"):
        check_handler_nouns("Shop", {"Email.queued": ["send_mail"]}, NOUNS)
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "only events sent with send() reach it" in caplog.records[0].getMessage()


def test_a_class_without_declared_nouns_has_nothing_to_compare(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert check_handler_nouns("Shop", {"Tikcet.created": ["welcome"]}, []) == []
    assert caplog.records == []


@pytest.mark.parametrize("pattern", ["Page.sent", "Patient.treated", "Pager.paged"])
def test_an_application_event_that_only_resembles_a_noun_is_no_typo(
    caplog: pytest.LogCaptureFixture, pattern: str
) -> None:
    """`@on.Page.sent` beside a declared `Agent` was warned of: "did you mean 'Agent.sent'?"."""
    with caplog.at_level(logging.INFO, logger="dotdo.workflows"):
        check_handler_nouns("Desk", {pattern: ["h"]}, [Noun("Ticket"), Noun("Agent")])
    assert [r.levelno for r in caplog.records] == [logging.INFO], caplog.text
