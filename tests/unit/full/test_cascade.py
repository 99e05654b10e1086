"""The cascade in-process: tiers tried in order until the check accepts, each attempt's
reason recorded, the agentic loop calling the object's own @rpc methods within its step
bound, the human tier through an approval, and inside a workflow each machine tier a
durable step whose AI calls are never repeated on replay."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from dotdo.full.cascade import Cascade, rpc_tool
from dotdo.remote.marks import rpc
from dotdo.workflows.failures import ERROR_TEXT_CHARS
from dotdo.workflows.steps import CURRENT_RUN, workflow
from tests.inprocess import App, InProcess, run

LEASE = 60_000


class ScriptedAI:
    """An AI whose answers are scripted; like DOFull's AI, inside a run each call is a
    durable step of its own (`runs.do`), so a cascade must keep those inside its step."""

    def __init__(self, answers: list[Any], obj: InProcess | None = None) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.obj = obj

    async def generate(
        self,
        prompt: str,
        *,
        schema: Mapping[str, Any] | None = None,
        system: str | None = None,
        model: str | None = None,
    ) -> Any:
        if self.obj is not None and CURRENT_RUN.get() is not None:
            return await self.obj.runs.do(self._answer, prompt)
        return await self._answer(prompt)

    async def _answer(self, prompt: str) -> Any:
        self.prompts.append(prompt)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Desk:
    """The object whose @rpc methods are the agentic tier's tools."""

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    @rpc
    def lookup(self, order_id: str) -> dict[str, Any]:
        """The order's status."""
        self.looked_up.append(order_id)
        return {"order": order_id, "status": "shipped"}

    def private_helper(self) -> None:
        """Not @rpc: never a tool."""


def cascade(ai: ScriptedAI | None = None, approve: Any = None, desk: Desk | None = None) -> Cascade:
    obj = InProcess(App)
    return Cascade(obj.runs, ai, approve, rpc_tool(desk or Desk()))


def test_the_first_accepted_tier_answers() -> None:
    ai = ScriptedAI(["never asked"])
    result = run(
        cascade(ai).run("classify", {"text": "hi"}, code=lambda _: "greeting", generative="Classify it")
    )
    assert (result.ok, result.tier, result.answer) == (True, "code", "greeting")
    assert [a.tier for a in result.attempts] == ["code"] and ai.prompts == []


def test_each_earlier_tier_says_why_it_did_not_answer() -> None:
    def code(_: Any) -> str:
        raise KeyError("no rule")

    ai = ScriptedAI(["maybe", "refund"])
    result = run(
        cascade(ai).run(
            "route",
            {"ticket": 7},
            code=code,
            generative={"prompt": "Pick a queue", "system": "terse"},
            agentic={"tools": ["lookup"], "max_steps": 1},
            accept=lambda answer: answer == "refund" or f"{answer!r} is not a queue",
        )
    )
    assert (result.tier == "agentic" and result.answer is None) or result.tier is None
    reasons = [(a.tier, a.reason) for a in result.attempts]
    assert reasons[0] == ("code", "error: KeyError: 'no rule'")
    assert reasons[1] == ("generative", "rejected: 'maybe' is not a queue")
    assert reasons[2] == (
        "agentic",
        "error: TimeoutError: no answer in 1 step (max_steps)",
    )  # "refund" is no action
    assert 'Task: route\nInput: {"ticket": 7}' in ai.prompts[0] and ai.prompts[0].startswith("Pick a queue")


def test_the_agentic_tier_calls_the_objects_rpc_methods() -> None:
    desk = Desk()
    ai = ScriptedAI([{"tool": "lookup", "args": ["o-1"]}, {"tool": "private_helper"}, {"answer": "shipped"}])
    result = run(cascade(ai, desk=desk).run("status", "o-1", agentic={"tools": ["lookup"], "max_steps": 3}))
    assert (result.tier, result.answer) == ("agentic", "shipped")
    assert desk.looked_up == ["o-1"]
    assert '"status": "shipped"' in ai.prompts[1]  # the tool's answer went back to the model
    assert "'private_helper' is not one of the tools" in ai.prompts[2]


def test_the_agentic_tier_is_bounded_in_steps() -> None:
    ai = ScriptedAI([{"tool": "lookup", "args": ["o"]}] * 2)
    result = run(cascade(ai).run("status", "o", agentic={"tools": ["lookup"], "max_steps": 2}))
    assert (
        not result.ok and result.attempts[0].reason == "error: TimeoutError: no answer in 2 steps (max_steps)"
    )
    assert ai.answers == []  # two turns, no third


def test_the_human_tier_gets_the_earlier_attempts() -> None:
    asked: list[tuple[str, Any, dict[str, Any]]] = []

    async def approve(name: str, payload: Any, **options: Any) -> dict[str, Any]:
        asked.append((name, payload, options))
        return {"decision": "approve", "value": 42, "comment": "checked"}

    result = run(cascade(approve=approve).run("count", [1], code=lambda _: None, human={"timeout": 3600}))
    assert (result.tier, result.answer) == ("human", 42)
    name, payload, options = asked[0]
    assert name == "cascade:count" and options == {"timeout": 3600}
    assert payload["attempts"] == [
        {"tier": "code", "accepted": False, "answer": None, "reason": "rejected: the code tier returned None"}
    ]

    async def reject(name: str, payload: Any, **options: Any) -> dict[str, Any]:
        return {"decision": "reject", "comment": "no"}

    refused = run(cascade(approve=reject).run("count", [1], human=True))
    assert not refused.ok and refused.attempts[0].reason == "rejected: the approver rejected it: no"
    skipped = run(cascade().run("count", [1], human=True, generative="x"))
    assert [a.reason for a in skipped.attempts] == [
        "skipped: this object has no AI (self.ai)",
        "skipped: this object has no approvals (wait_for_approval)",
    ]


def test_every_reason_says_why() -> None:
    """Each way a tier is not taken names its cause: under the default check what the tier
    gave, under the caller's what the check returned or raised, and errors without a
    message their type alone."""

    def silent(_: Any) -> Any:
        raise ValueError()

    def picky(answer: Any) -> Any:
        if answer == "raise":
            raise RuntimeError()
        return None if answer == "none" else answer == "yes"

    reasons = [
        run(cascade().run("t", 1, code=lambda _: None)).attempts[0].reason,
        run(cascade().run("t", 1, code=lambda _: "")).attempts[0].reason,
        run(cascade(ScriptedAI([None])).run("t", 1, generative="x")).attempts[0].reason,
        run(cascade().run("t", 1, code=silent)).attempts[0].reason,
        run(cascade().run("t", 1, code=lambda _: "no", accept=picky)).attempts[0].reason,
        run(cascade().run("t", 1, code=lambda _: "none", accept=picky)).attempts[0].reason,
        run(cascade().run("t", 1, code=lambda _: "raise", accept=picky)).attempts[0].reason,
    ]
    assert reasons == [
        "rejected: the code tier returned None",
        "rejected: the code tier returned an empty string",
        "rejected: the generative tier returned None",
        "error: ValueError (no message)",
        "rejected: the check returned False (True accepts, a string says why not)",
        "rejected: the check returned None (True accepts, a string says why not)",
        "rejected: the check raised RuntimeError (no message)",
    ]
    assert all(reason and reason != "rejected" and not reason.endswith(": ") for reason in reasons)


def test_a_tier_failing_with_odd_text_is_rejected_with_storable_text() -> None:
    """An error whose __str__ raises is named by its type; a message with a lone surrogate or
    of megabytes is stored as a failure's text is (ADR 0042), so the step records it."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise ValueError("no text")

    def raising(error: Exception) -> Any:
        def code(_: Any) -> Any:
            raise error

        return code

    unprintable = run(cascade().run("t", 1, code=raising(Unprintable()))).attempts[0].reason
    assert unprintable == "error: Unprintable (no message)"
    surrogate = run(cascade().run("t", 1, code=raising(RuntimeError("a \ud800")))).attempts[0].reason
    assert surrogate == "error: RuntimeError: a \ufffd"
    huge = run(cascade().run("t", 1, code=raising(RuntimeError("x" * 3_000_000)))).attempts[0].reason
    assert huge is not None and huge.endswith("more characters)")
    assert len(huge) <= len("error: ") + ERROR_TEXT_CHARS


def test_the_human_tier_takes_the_value_else_the_comment() -> None:
    """A decision as `wait_for_approval` returns it carries `value` always (None when the
    decision gave none): the comment is the answer then."""

    def decided(**decision: Any) -> Any:
        async def approve(name: str, payload: Any, **options: Any) -> dict[str, Any]:
            return {"id": "a", "decision": "approve", "by": "ann", "at": 1, **decision}

        return approve

    valued = run(cascade(approve=decided(value={"queue": "tech"}, comment="x")).run("t", 1, human=True))
    assert (valued.tier, valued.answer) == ("human", {"queue": "tech"})
    commented = run(cascade(approve=decided(value=None, comment="tech")).run("t", 1, human=True))
    assert (commented.tier, commented.answer) == ("human", "tech")
    empty = run(cascade(approve=decided(value=None, comment=None)).run("t", 1, human=True))
    assert not empty.ok
    assert empty.attempts[0].reason == "rejected: the approval gave None (no value, and no comment)"


@pytest.mark.parametrize(
    "options",
    [
        {"code": "not callable"},
        {"generative": 3},
        {"generative": {"prompt": "x", "temperature": 1}},
        {"agentic": {"tools": ["private_helper"]}},
        {"agentic": {"tools": ["lookup"], "max_steps": 0}},
        {"agentic": {"tools": "lookup"}},
        {"human": "yes"},
    ],
)
def test_options_are_checked_before_any_tier(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        run(cascade(ScriptedAI([])).run("t", None, **options))


class Flow(App):
    """A workflow that cascades, then runs a step that fails once (so the run replays)."""

    ai: ScriptedAI

    @workflow
    async def triage(self, ticket: dict[str, Any]) -> dict[str, Any]:
        desk = Cascade(self.obj.runs, Flow.ai, None, rpc_tool(Desk()))
        result = await desk.run(
            "triage", ticket, code=lambda t: None, generative="Pick a queue", accept=lambda a: a == "billing"
        )
        await self.obj.runs.do(self.flaky, retries={"limit": 1, "delay": 1})
        return result.to_dict()

    async def flaky(self) -> str:
        self.log.append("flaky")
        if self.log.count("flaky") == 1:
            raise RuntimeError("not yet")
        return "done"


def test_in_a_workflow_each_tier_is_a_step_and_its_ai_call_is_not_repeated() -> None:
    obj = InProcess(Flow)
    Flow.ai = ScriptedAI(["billing"], obj)
    first = run(obj.runs.start("triage", {"id": 1}, "t1"))
    assert first["status"] == "waiting"  # the step after the cascade waits for its retry
    run(obj.tick(LEASE))
    status = obj.runs.status("t1")
    assert status["status"] == "completed", status  # no step_mismatch from the AI's own step
    assert status["result"]["tier"] == "generative" and status["result"]["answer"] == "billing"
    assert len(Flow.ai.prompts) == 1  # the replay took the recorded attempt
    names = [row["name"] for row in obj.rows("SELECT name FROM action_log ORDER BY step_id")]
    assert names == ["Cascade._code_tier", "Cascade._generative_tier", "Flow.flaky"]


class Answers(App):
    """A workflow whose code, generative and agentic tiers answer what `answers` scripts."""

    answers: list[Any]

    @workflow
    async def ask(self, _: Any) -> dict[str, Any]:
        code_answer, generated, agent_answer = Answers.answers
        desk = Cascade(
            self.obj.runs, ScriptedAI([generated, {"answer": agent_answer}], self.obj), None, rpc_tool(Desk())
        )
        result = await desk.run(
            "ask", None, code=lambda _: code_answer, generative="Answer", agentic={"tools": ["lookup"]}
        )
        return result.to_dict()


@pytest.mark.parametrize("bad", [2**70, -(2**63) - 1, float("inf"), {1: "key"}, b"bytes", {"a": "x" * 2**20}])
def test_an_answer_that_cannot_be_recorded_is_that_tiers_failed_attempt(bad: Any) -> None:
    obj = InProcess(Answers)
    Answers.answers = [bad, bad, 42]  # code and generative cannot be recorded; agentic can
    status = run(obj.runs.start("ask", None, "a1"))
    assert status["status"] == "completed", status  # not failed with StepFailed
    result = status["result"]
    assert (result["tier"], result["answer"]) == ("agentic", 42)
    for attempt in result["attempts"][:2]:
        assert attempt["accepted"] is False and attempt["answer"] is None
        assert attempt["reason"].startswith("error: the answer cannot be recorded: "), attempt
    Answers.answers = [None, None, bad]  # the agentic tier's answer, as a model gave 2**70
    status = run(obj.runs.start("ask", None, "a2"))
    assert status["status"] == "completed" and status["result"]["tier"] is None, status
    assert status["result"]["attempts"][2]["reason"].startswith("error: the answer cannot be recorded: ")
    outside = run(cascade(ScriptedAI([bad])).run("ask", None, code=lambda _: bad, generative="Answer"))
    assert outside.tier is None and all("cannot be recorded" in str(a.reason) for a in outside.attempts)
