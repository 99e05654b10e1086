"""DOFull's lines name their object, as DOCore's do: a cascade's tiers (`dotdo.full`), an AI
model that failed and an embedding that failed (`dotdo.full.ai`), a fan-out and an approval's
escalation said nothing of which tenant's object they came from."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from dotdo import DOFull
from dotdo.testing.sqlite import Storage
from dotdo.workflows.steps import workflow


class DownAI:
    """The AI binding, every model of it down."""

    async def run(self, model: str, inputs: Any, *options: Any) -> Any:
        raise RuntimeError(f"{model} is down")


class Desk(DOFull):
    searchable: ClassVar[dict[str, tuple[str, ...]]] = {"Ticket": ("title",)}

    @workflow
    async def refund(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self.wait_for_approval("refund", request, timeout=60, escalate_to=["boss"])


def desk() -> Desk:
    ctx = SimpleNamespace(storage=Storage(), id=SimpleNamespace(name="acme"), getWebSockets=lambda *tag: [])
    return Desk(ctx, SimpleNamespace(ENVIRONMENT="development", AI=DownAI()))


def failing(value: Any) -> Any:
    raise ValueError("no rule fits")


def test_a_cascade_and_the_ai_name_the_object(caplog: pytest.LogCaptureFixture) -> None:
    obj = desk()

    async def work() -> None:
        await obj.cascade("triage", {"id": 1}, code=failing, generative="summarize")
        obj.things.create("Ticket", {"title": "the printer is on fire"})
        for _ in range(5):  # the bus hands the event on in a task of its own
            await asyncio.sleep(0)
        await obj.semantic_search.settle()

    with caplog.at_level(logging.INFO, logger="dotdo.full"):
        asyncio.run(work())
    records = [r for r in caplog.records if r.name.startswith("dotdo.full")]
    said = {(r.name, r.getMessage().split(":")[0]) for r in records}
    assert said == {
        ("dotdo.full", "[acme] cascade triage"),  # a tier failed; no tier's answer was accepted
        ("dotdo.full.ai", "[acme] AI model @cf/meta/llama-3.1-8b-instruct failed"),
        ("dotdo.full.ai", "[acme] AI model @cf/baai/bge-small-en-v1.5 failed"),
        ("dotdo.full.ai", "[acme] embedding 1 Ticket thing(s) failed; they stay unindexed"),
    }
    assert {getattr(r, "dotdo_object", None) for r in records} == {"acme"}


def test_a_fan_out_failure_and_an_escalation_name_the_object(caplog: pytest.LogCaptureFixture) -> None:
    obj = desk()

    async def work() -> None:
        await obj.fanout.run(["Customer/c1"], "ping")  # no stubs binding: the call fails
        await obj.runs.start("refund", {"amount": 700}, "r-1")
        await obj.timers.run_due(obj.timers.now() + 61_000)  # the approval times out

    with caplog.at_level(logging.INFO, logger="dotdo.full"):
        asyncio.run(work())
    lines = [r.getMessage() for r in caplog.records if r.name == "dotdo.full"]
    failed, escalated = lines
    assert failed.startswith("[acme] fan-out ping on Customer/c1 failed: LookupError")
    assert escalated.startswith("[acme] approval ") and "(refund) escalated to ['boss'] as " in escalated
