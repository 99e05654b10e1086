"""The cascade: a task tried by cheaper means first (code, one AI call, an AI loop with the
object's own tools, a person), stopping at the first answer the caller's check accepts.

`Cascade` reaches the object through narrow seams: the run engine (each machine tier's
attempt is a durable step, its AI calls part of that step), an AI with `generate` (the
`self.ai` of DOFull's AI part), the approval wait (`wait_for_approval` of its
human-in-the-loop part) and the object's `@rpc` methods as tools. See ADR 0027.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from dotdo.core.logs import Log
from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.errors import BadRequest, HttpError
from dotdo.remote.calls import invoke
from dotdo.remote.marks import is_rpc_method
from dotdo.values import CASCADE_STEP_DEPTH
from dotdo.workflows.failures import storable_text
from dotdo.workflows.host import encode_value
from dotdo.workflows.runs import RunEngine
from dotdo.workflows.steps import CURRENT_RUN

__all__ = [
    "MAX_AGENT_STEPS",
    "TIERS",
    "Attempt",
    "Cascade",
    "CascadeResult",
    "Generator",
]

logger = logging.getLogger("dotdo.full")

TIERS = ("code", "generative", "agentic", "human")
"""The tiers, in the order they are tried."""
MAX_AGENT_STEPS = 20
"""The most model turns an agentic tier may take (each one AI call, billed)."""
DEFAULT_AGENT_STEPS = 5
_TOOL_RESULT_CHARS = 4000  # what the model sees of one tool's answer: a transcript stays a prompt

Accept = Callable[[Any], Any]
"""The check: takes an answer; True accepts it, False or a string (the reason) does not."""


class Generator(Protocol):
    """What the cascade needs of an AI: `generate` as DOFull's `self.ai` has it."""

    async def generate(
        self,
        prompt: str,
        *,
        schema: Mapping[str, Any] | None = None,
        system: str | None = None,
        model: str | None = None,
    ) -> Any:
        """The model's answer to `prompt`; with `schema`, the JSON value it describes."""
        ...


@dataclass(frozen=True)
class Attempt:
    """One tier's try: its `answer` (None when it raised or was skipped), whether the check
    `accepted` it, and otherwise the `reason` ("rejected: ...", "error: Type: message",
    "skipped: ...")."""

    tier: str
    accepted: bool
    answer: Any = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """`{"tier", "accepted", "answer", "reason"}`."""
        return {"tier": self.tier, "accepted": self.accepted, "answer": self.answer, "reason": self.reason}


@dataclass(frozen=True)
class CascadeResult:
    """What `cascade` returns: the accepted `answer` and the `tier` that gave it (both None
    when no tier's answer was accepted), and every `attempt` in order, each saying why it
    was not taken."""

    task: str
    answer: Any = None
    tier: str | None = None
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Did a tier's answer pass the check?"""
        return self.tier is not None

    def to_dict(self) -> dict[str, Any]:
        """`{"task", "ok", "tier", "answer", "attempts": [...]}`."""
        return {
            "task": self.task,
            "ok": self.ok,
            "tier": self.tier,
            "answer": self.answer,
            "attempts": [attempt.to_dict() for attempt in self.attempts],
        }


_ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tool": {"type": "string"},
        "args": {"type": "array"},
        "answer": {},
    },
    "anyOf": [{"required": ["tool"]}, {"required": ["answer"]}],
}
"""What an agentic turn answers: a tool call `{"tool", "args"}` or the final `{"answer"}`."""


def _error_text(error: BaseException) -> str:
    """`Type: message`, or `Type (no message)` when it has none or its `__str__` raises
    (never a dangling colon); storable as a failure's text is (ADR 0042: no lone surrogate,
    at most `ERROR_TEXT_CHARS`), since a tier's reason is recorded with its step."""
    try:
        message = str(error)
    except Exception:  # the error's own __str__ failed: it is named by its type
        message = ""
    name = type(error).__name__
    return storable_text(f"{name}: {message}" if message else f"{name} (no message)")


def _verdict(accept: Accept, answer: Any, tier: str) -> tuple[bool, str | None]:
    """(accepted, reason) of `accept` on `tier`'s answer; every rejection says why: the
    check's own reason, what the check raised or returned, or, under the default check,
    what the tier gave."""
    try:
        verdict = accept(answer)
    except Exception as error:  # a check that raises rejects, and says why
        return False, f"rejected: the check raised {_error_text(error)}"
    if verdict is True:
        return True, None
    if isinstance(verdict, str) and verdict:
        return False, f"rejected: {verdict}"
    if accept is default_accept:
        given = "None" if answer is None else "an empty string"
        if tier == "human":
            return False, f"rejected: the approval gave {given} (no value, and no comment)"
        return False, f"rejected: the {tier} tier returned {given}"
    return False, f"rejected: the check returned {verdict!r} (True accepts, a string says why not)"


def _unrecordable(answer: Any) -> str | None:
    """Why `answer` cannot be an attempt's answer, or None: it is recorded (a step's result,
    the approval's payload, the run's result) and answered to remote callers, so it is
    stored JSON (`values.stored_json`: integers within 64 bits, finite floats, at most 32
    levels deep) of at most `MAX_VALUE_BYTES`."""
    try:
        encode_value(answer, "the answer", MAX_VALUE_BYTES)
    except HttpError as error:
        return f"the answer cannot be recorded: {error.message}"
    return None


def default_accept(answer: Any) -> bool:
    """The check when none is given: any answer but None and the empty string."""
    return answer is not None and answer != ""


class Cascade:
    """The cascade of one object. `runs` is its run engine; `ai` its generator (None: the
    AI tiers are skipped); `approve(name, payload, **options)` its approval wait (None:
    the human tier is skipped); `tool(name)` one of its `@rpc` methods by name (None for
    any other name); `log` takes its lines (`dotdo.full`, or the object's `ObjectLog`)."""

    def __init__(
        self,
        runs: RunEngine,
        ai: Generator | None,
        approve: Callable[..., Awaitable[Any]] | None,
        tool: Callable[[str], Callable[..., Any] | None],
        log: Log = logger,
    ) -> None:
        self._log = log
        self._runs = runs
        self._ai = ai
        self._approve = approve
        self._tool = tool

    async def run(
        self,
        task: str,
        input: Any,
        *,
        code: Callable[[Any], Any] | None = None,
        generative: str | Mapping[str, Any] | None = None,
        agentic: Mapping[str, Any] | None = None,
        human: bool | Mapping[str, Any] | None = None,
        accept: Accept = default_accept,
    ) -> CascadeResult:
        """Try the tiers given, in the order of `TIERS`, until `accept` takes an answer.

        - `code`: `code(input)` (sync or async).
        - `generative`: instructions (a string) or `{"prompt", "schema", "system", "model"}`:
          one `generate` call on the task and the input.
        - `agentic`: `{"tools": [names of @rpc methods], "max_steps": 5, "prompt",
          "system", "model"}`: a loop of `generate` calls in which the model calls those
          methods (`{"tool", "args"}`) until it gives `{"answer"}`, at most `max_steps`
          turns (1-20).
        - `human`: True or `{"approvers", "timeout", "escalate_to"}`: an approval named
          `cascade:<task>` with the task, the input and the earlier attempts; an approved
          decision's `value` (or else its `comment`) is the answer.

        Inside a `@workflow` run each machine tier's attempt is a durable step (its AI
        calls and tool calls inside it, never repeated on replay) and the human tier waits
        durably; a tier that raises, or answers what cannot be recorded (not JSON, an
        integer past 64 bits, past `MAX_VALUE_BYTES`), is an attempt with the error as its
        reason, and the next tier is tried. ValueError
        for options that are not what is listed above (before any tier runs)."""
        if not isinstance(task, str) or not task:
            raise ValueError("a cascade's task is a non-empty string")
        self._check(code, generative, agentic, human)
        attempts: list[Attempt] = []
        tiers: list[tuple[str, Callable[..., Awaitable[dict[str, Any]]], Any]] = []
        if code is not None:
            tiers.append(("code", self._code_tier, code))
        if generative is not None:
            tiers.append(("generative", self._generative_tier, generative))
        if agentic is not None:
            tiers.append(("agentic", self._agentic_tier, agentic))
        for name, action, spec in tiers:
            record = await self._attempt(name, action, task, input, spec, accept)
            attempt = Attempt(name, bool(record["accepted"]), record.get("answer"), record.get("reason"))
            attempts.append(attempt)
            if attempt.accepted:
                return CascadeResult(task, attempt.answer, name, tuple(attempts))
        if human is not None and human is not False:
            attempt = await self._human_tier(task, input, human, accept, attempts)
            attempts.append(attempt)
            if attempt.accepted:
                return CascadeResult(task, attempt.answer, "human", tuple(attempts))
        self._log.info("cascade %s: no tier's answer was accepted", task)
        return CascadeResult(task, None, None, tuple(attempts))

    def _check(self, code: Any, generative: Any, agentic: Any, human: Any) -> None:
        if code is not None and not callable(code):
            raise ValueError("code is a function of the input")
        if generative is not None and not isinstance(generative, str | Mapping):
            raise ValueError('generative is instructions or {"prompt", "schema", "system", "model"}')
        if isinstance(generative, Mapping) and set(generative) - {"prompt", "schema", "system", "model"}:
            raise ValueError(f"generative takes prompt, schema, system and model, not {sorted(generative)}")
        if isinstance(generative, Mapping) and generative.get("schema") is not None:
            from dotdo.full.ai.schema import compile_schema

            try:  # a bad schema (a pattern with no linear matcher too) is refused before any tier
                compile_schema(generative["schema"])
            except BadRequest as error:
                raise ValueError(f"generative schema: {error.message}") from None
        if agentic is not None:
            if not isinstance(agentic, Mapping) or set(agentic) - {
                "tools",
                "max_steps",
                "prompt",
                "system",
                "model",
            }:
                raise ValueError('agentic is {"tools", "max_steps", "prompt", "system", "model"}')
            tools = agentic.get("tools") or []
            if not isinstance(tools, Sequence) or isinstance(tools, str):
                raise ValueError("agentic tools are a list of method names")
            for name in tools:
                if not isinstance(name, str) or self._tool(name) is None:
                    raise ValueError(f"agentic tool {name!r} is not an @rpc method of this object")
            steps = agentic.get("max_steps", DEFAULT_AGENT_STEPS)
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_AGENT_STEPS:
                raise ValueError(f"agentic max_steps is 1 to {MAX_AGENT_STEPS}")
        if human is not None and not isinstance(human, bool | Mapping):
            raise ValueError('human is True or {"approvers", "timeout", "escalate_to"}')

    async def _attempt(
        self,
        tier: str,
        action: Callable[..., Awaitable[dict[str, Any]]],
        task: str,
        input: Any,
        spec: Any,
        accept: Accept,
    ) -> dict[str, Any]:
        async def attempt(task: str, input: Any) -> dict[str, Any]:
            with self._runs.detached():  # the tier's own AI and tool calls are this step's
                if tier in ("generative", "agentic") and self._ai is None:  # inside the step: replays agree
                    return {
                        "accepted": False,
                        "answer": None,
                        "reason": "skipped: this object has no AI (self.ai)",
                    }
                try:
                    answer = await action(task, input, spec)
                except Exception as error:
                    text = _error_text(error)
                    self._log.warning("cascade %s: tier %s failed: %s", task, action.__name__, text)
                    return {"accepted": False, "answer": None, "reason": f"error: {text}"}
            unrecordable = _unrecordable(answer)
            if unrecordable is not None:  # the tier's failure, never the run's (a step records it)
                self._log.warning("cascade %s: tier %s answered %s", task, action.__name__, unrecordable)
                return {"accepted": False, "answer": None, "reason": f"error: {unrecordable}"}
            accepted, reason = _verdict(accept, answer, tier)
            return {"accepted": accepted, "answer": answer, "reason": reason}

        attempt.__qualname__ = f"Cascade.{action.__name__}"  # the step's recorded name: its tier
        if CURRENT_RUN.get() is None:  # outside a run: nothing to record
            return await attempt(task, input)
        record: dict[str, Any] = await self._runs.do(attempt, task, input, depth=CASCADE_STEP_DEPTH)
        return record

    # -- the tiers -------------------------------------------------------------

    async def _code_tier(self, task: str, input: Any, code: Callable[[Any], Any]) -> Any:
        answer = code(input)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer

    def _generator(self) -> Generator:
        if self._ai is None:
            raise LookupError("this object has no AI (self.ai)")
        return self._ai

    async def _generative_tier(self, task: str, input: Any, spec: str | Mapping[str, Any]) -> Any:
        options: dict[str, Any] = {"prompt": spec} if isinstance(spec, str) else dict(spec)
        prompt = _task_prompt(options.get("prompt"), task, input)
        return await self._generator().generate(
            prompt, schema=options.get("schema"), system=options.get("system"), model=options.get("model")
        )

    async def _agentic_tier(self, task: str, input: Any, spec: Mapping[str, Any]) -> Any:
        ai = self._generator()
        tools = list(spec.get("tools") or [])
        steps = int(spec.get("max_steps", DEFAULT_AGENT_STEPS))
        listing = "\n".join(f"- {name}: {_tool_doc(self._tool(name))}" for name in tools) or "(none)"
        transcript: list[str] = []
        for _ in range(steps):
            prompt = (
                f"{_task_prompt(spec.get('prompt'), task, input)}\n\nTools you may call:\n{listing}\n\n"
                'Answer with JSON: {"tool": name, "args": [...]} to call a tool, or {"answer": ...} '
                "when you have the answer."
            )
            if transcript:
                prompt += "\n\nSo far:\n" + "\n".join(transcript)
            action = await ai.generate(
                prompt, schema=_ACTION_SCHEMA, system=spec.get("system"), model=spec.get("model")
            )
            if isinstance(action, Mapping) and "answer" in action:
                return action["answer"]
            name = action.get("tool") if isinstance(action, Mapping) else None
            args = action.get("args") or [] if isinstance(action, Mapping) else []
            transcript.append(
                f"called {json.dumps(name)} with {json.dumps(args)}: {await self._use(name, args, tools)}"
            )
        raise TimeoutError(f"no answer in {steps} step{'' if steps == 1 else 's'} (max_steps)")

    async def _use(self, name: Any, args: Any, tools: list[str]) -> str:
        """A tool's answer as the model reads it (an error too: the model may mend its call)."""
        method = self._tool(name) if isinstance(name, str) and name in tools else None
        if method is None:
            return f"error: {name!r} is not one of the tools"
        try:
            result = await invoke(method, args if isinstance(args, list) else [args])
        except Exception as error:
            return f"error: {_error_text(error)}"
        return json.dumps(result, default=repr)[:_TOOL_RESULT_CHARS]

    async def _human_tier(
        self, task: str, input: Any, spec: bool | Mapping[str, Any], accept: Accept, attempts: list[Attempt]
    ) -> Attempt:
        if self._approve is None:
            return Attempt("human", False, reason="skipped: this object has no approvals (wait_for_approval)")
        options = {} if spec is True else dict(spec)  # type: ignore[arg-type]
        payload = {"task": task, "input": input, "attempts": [attempt.to_dict() for attempt in attempts]}
        try:
            decision = await self._approve(f"cascade:{task}", payload, **options)
        except Exception as error:
            return Attempt("human", False, reason=f"error: {_error_text(error)}")
        answer, approved = _decision_answer(decision)
        if not approved:
            return Attempt("human", False, answer, reason=f"rejected: {_rejection(decision)}")
        accepted, reason = _verdict(accept, answer, "human")
        return Attempt("human", accepted, answer, reason)


def _decision_answer(decision: Any) -> tuple[Any, bool]:
    """(answer, approved) of an approval's decision: a mapping's `value` (else, when it
    gave none, its `comment`) and whether its `decision`/`status` is an approval; a bare
    value is approved as is."""
    if isinstance(decision, Mapping):
        verdict = decision.get("decision", decision.get("status"))
        approved = verdict in ("approve", "approved", True, None)
        value = decision.get("value")
        return (decision.get("comment") if value is None else value), approved
    if isinstance(decision, bool):
        return decision, decision
    return decision, True


def _rejection(decision: Any) -> str:
    """Why a rejected decision was not taken: who rejected it, and their comment."""
    if not isinstance(decision, Mapping):
        return "the approver rejected it"
    by, comment = decision.get("by"), decision.get("comment")
    who = f"the approver ({by})" if by else "the approver"
    return f"{who} rejected it" + (f": {comment}" if comment else "")


def _task_prompt(instructions: Any, task: str, input: Any) -> str:
    head = f"{instructions}\n\n" if isinstance(instructions, str) and instructions else ""
    return f"{head}Task: {task}\nInput: {json.dumps(input, default=repr)}"


def _tool_doc(method: Callable[..., Any] | None) -> str:
    if method is None:
        return ""
    signature = str(inspect.signature(method))
    doc = (inspect.getdoc(method) or "").split("\n\n")[0].replace("\n", " ")
    return f"{signature} {doc}".strip()


def rpc_tool(obj: Any) -> Callable[[str], Callable[..., Any] | None]:
    """`tool(name)` for an object: its `@rpc` method `name`, bound, or None."""

    def tool(name: str) -> Callable[..., Any] | None:
        if not isinstance(name, str) or name.startswith("_"):
            return None
        if not is_rpc_method(type(obj), name):
            return None
        method = getattr(obj, name, None)
        return method if callable(method) else None

    return tool
