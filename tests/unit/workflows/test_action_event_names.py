"""An action's event is named by its verb's past tense, and a handler is written with the
English past (`@on.Document.formatted`): the two meet. `format` raised `Document.formated`,
`panic` `Document.paniced` and `unzip` `Document.unziped`, which no handler spelt in English
ever heard."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from dotdo import BadRequest, DOWorkflow, on
from dotdo.semantic.eventtypes import Event
from dotdo.testing.sqlite import Storage


class Documents(DOWorkflow):
    heard: list[str]

    @on.Document.formatted
    @on.Archive.unzipped
    @on.Server.panicked
    def english(self, event: Event) -> None:
        self.heard.append(event.type)

    @on.Document.formated
    @on.Archive.unziped
    @on.Server.paniced
    def misspelt(self, event: Event) -> None:
        self.heard.append("misspelt " + event.type)


def documents() -> Documents:
    ctx = SimpleNamespace(storage=Storage(), id=None, getWebSockets=lambda *tag: [])
    obj = Documents(ctx, SimpleNamespace(ENVIRONMENT="development"))
    obj.heard = []
    return obj


def act(obj: Documents, subject: str, verb: str) -> dict[str, Any]:
    """`record_action` as a request runs it: answered once its event's handlers have run."""

    async def work() -> dict[str, Any]:
        return obj.record_action(subject, verb)

    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(obj.bus.as_caller(work), 5.0)

    return asyncio.run(bounded())


@pytest.mark.parametrize(
    ("subject", "verb", "event_type"),
    [
        ("Document/d1", "format", "Document.formatted"),
        ("Archive/a1", "unzip", "Archive.unzipped"),
        ("Server/s1", "panic", "Server.panicked"),
    ],
)
def test_an_actions_event_reaches_the_handler_written_with_the_english_past(
    subject: str, verb: str, event_type: str
) -> None:
    obj = documents()
    recorded = act(obj, subject, verb)
    assert recorded["event"]["type"] == event_type
    assert obj.heard == [event_type]
    assert obj.verbs.get(verb).past == event_type.partition(".")[2]


def test_the_english_past_of_an_action_verb_is_refused_as_the_verb_naming_its_base() -> None:
    """`formatted` read as a base would have raised `Document.formatteded`."""
    obj = documents()
    with pytest.raises(BadRequest, match=r"'formatted' is a past tense \(of 'format'\)"):
        act(obj, "Document/d1", "formatted")
    assert obj.heard == []
