"""Every line the workflow components log about one object names it (`[acme]`, and the
record's `dotdo_object`), and a dead letter's replay hint says where the object is reached:
one isolate runs many tenants' objects, and a line naming none could not be told apart."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from dotdo.core.logs import ObjectLog
from dotdo.semantic.eventtypes import Event
from dotdo.workflows.every import every
from dotdo.workflows.handlers import on
from dotdo.workflows.object_host import ObjectHost
from dotdo.workflows.steps import workflow
from tests.inprocess import App, InProcess, run

HOUR = 3_600_000


class Library(App):
    @on.Member.borrowed
    async def count_loan(self, event: Event) -> None:
        raise RuntimeError("no loans today")

    @every.hour
    async def hourly(self) -> None:
        raise RuntimeError("no report today")

    async def mail(self) -> str:
        raise RuntimeError("no mail today")

    @workflow
    async def notify(self, _: Any) -> str:
        return str(await self.obj.runs.do(self.mail, retries={"limit": 1, "delay": 1}))


def test_every_line_of_a_failing_delivery_schedule_and_step_names_the_object(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dotdo.workflows")
    obj = InProcess(Library)  # retry_limit 3
    run(obj.bus.send("Member.borrowed", {"book": "dune"}))
    run(obj.tick(1_000))
    run(obj.tick(2_000))  # the third attempt: a dead letter
    run(obj.runs.start("notify"))
    run(obj.tick(1_000))  # the step's one retry fails for good, and the run with it
    run(obj.tick(HOUR))  # the schedule fails
    records = [r for r in caplog.records if r.name == "dotdo.workflows"]
    said = {r.getMessage().split(" ")[1] for r in records}
    assert {"delivery", "handler", "step", "workflow", "schedule"} <= said  # each kind was logged
    unnamed = [r.getMessage() for r in records if not r.getMessage().startswith("[acme] ")]
    assert unnamed == []
    assert {getattr(r, "dotdo_object", None) for r in records} == {"acme"}
    (dead,) = obj.bus.dead_letters()
    assert f"replay it: POST /@acme/events/dead/{dead['id']}/replay or await self.replay_dead_letter(" in (
        caplog.text
    )


class Unreached(InProcess):
    label = "acme/Member/ann"

    def request_path(self, path: str) -> str | None:
        return None  # a thing's object: no request reaches it


def test_the_dead_letter_of_an_object_no_request_reaches_names_the_call_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    obj = Unreached(Library)
    run(obj.bus.send("Member.borrowed", {"book": "dune"}))
    run(obj.tick(1_000))
    run(obj.tick(2_000))
    (dead,) = obj.bus.dead_letters()
    assert (
        f"[acme/Member/ann] delivery {dead['id']} of Member.borrowed {dead['event_id']} to handler "
        "count_loan is a dead letter after 3 attempts (last: RuntimeError: no loans today); once the "
        f'handler is fixed, replay it: await self.replay_dead_letter("{dead["id"]}")'
    ) in caplog.text


def host(name: str | None, development: bool, object_id: Any = None) -> ObjectHost:
    obj = SimpleNamespace(
        object_name=name, router=SimpleNamespace(development=development), ctx=SimpleNamespace(id=object_id)
    )
    return ObjectHost(obj, lambda *_: "")  # type: ignore[arg-type]  # what ObjectHost reads of a DOWorkflow


def test_the_object_host_says_where_a_request_reaches_the_object_and_names_it() -> None:
    assert host("acme", True).request_path("/events") == "/@acme/events"
    assert host("acme", False).request_path("/events") == "/events on tenant acme's host"
    assert host("acme/Member/ann", True).request_path("/events") is None  # a thing's object
    unnamed = host(None, True, SimpleNamespace(toString=lambda: "4f2a"))
    assert unnamed.request_path("/events") is None
    assert unnamed.log.label == "4f2a" and host("acme", True).log.label == "acme"
    assert isinstance(unnamed.log, ObjectLog) and unnamed.log.logger.name == "dotdo.workflows"
