"""A client subscribing to a pattern no event of a known verb carries, though it looks meant
for one (`Member.borrow` when `borrow` raises `Member.borrowed`), is told so in the answer,
as a handler with that pattern is logged: such a subscription never received an event, and
was accepted without a word."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from dotdo import DOWorkflow, Verb
from dotdo.testing.sqlite import Storage
from dotdo.workflows.handlers import pattern_verb_hint


class Library(DOWorkflow):
    declared_verbs = (Verb("borrow"),)


def subscribe(obj: Library, method: str, pattern: str) -> Any:
    connection = SimpleNamespace(id="c1")
    call = obj.rpc_socket_call(connection, method, [pattern], lambda *_: None)  # type: ignore[arg-type]
    return asyncio.run(call)


def library() -> Library:
    ctx = SimpleNamespace(storage=Storage(), id=None, getWebSockets=lambda *tag: [])
    return Library(ctx, SimpleNamespace(ENVIRONMENT="development"))


def test_a_subscription_to_a_declared_verbs_base_form_is_answered_with_a_hint() -> None:
    obj = library()
    assert subscribe(obj, "subscribe", "Member.borrow") == {
        "subscriptions": ["Member.borrow"],  # still held: the app may send such an event itself
        "hint": "no event is 'Member.borrow': actions of the verb 'borrow' raise 'Member.borrowed'; "
        "subscribe to 'Member.borrowed'",
    }
    assert subscribe(obj, "subscribe", "Member.borrowed") == {
        "subscriptions": ["Member.borrow", "Member.borrowed"]
    }
    assert subscribe(obj, "subscribe", "Book.create")["hint"] == (
        "no event is 'Book.create': the thing store's 'create' events are 'Book.created'; "
        "subscribe to 'Book.created'"
    )
    assert "hint" not in subscribe(obj, "unsubscribe", "Member.borrow")


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        ("Member.borrowing", "no event is 'Member.borrowing': actions of the verb 'borrow' raise"),
        ("Member.borrowde", "no event of a known verb is 'Member.borrowde'; did you mean 'Member.borrowed'?"),
        ("Member.*", None),
        ("*.borrowed", None),
        ("Card.lost", None),  # an event the app sends itself: any verb
    ],
)
def test_the_hint_is_the_handlers_check(pattern: str, hint: str | None) -> None:
    said = pattern_verb_hint(pattern, Library.declared_verbs)
    assert said == hint if hint is None else (said or "").startswith(hint)


def test_the_python_client_logs_the_hint(caplog: pytest.LogCaptureFixture) -> None:
    from dotdo.client_events import subscribed

    with caplog.at_level(logging.WARNING, logger="dotdo.client"):
        subscribed(
            "Member.borrow", {"subscriptions": ["Member.borrow"], "hint": "no event is 'Member.borrow': x"}
        )
        subscribed("Member.borrowed", {"subscriptions": ["Member.borrowed"]})
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "subscribe('Member.borrow'): no event is 'Member.borrow': x")
    ]
