"""`POST /rpc/pipeline`: a chain of calls run inside the object in one round trip.

    {"id": "p1", "pipeline": {"target": ["Customer", "c-1"],
                              "pipeline": [{"type": "method", "name": "get", "args": []},
                                           {"type": "property", "name": "address"}]}}

Each step's receiver is the previous step's result; the first step's is the
target: `[]` (the object itself), `["Customer"]` (the noun accessor) or
`["Customer", "id"]` (one thing), the same as the steps `Customer` and
`Customer("id")` taken on the object (`remote.targets.resolve_target`). A body
may be an array of such pipelines (a batch); each gets its own `{"id", "result"}`
or `{"id", "error": {"code", "message", "step"}}`. Arguments and results use the
tagged values of `codec`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dotdo.errors import BadRequest, HttpError, PipelineFailure, internal_error
from dotdo.remote.calls import check_fields, invoke, is_call_id
from dotdo.remote.marks import Authorize
from dotdo.remote.targets import resolve_operation, resolve_property, step_text, target_text
from dotdo.wire.batch_answer import BatchAnswer
from dotdo.wire.codec import encode_result

__all__ = ["MAX_PIPELINES", "MAX_STEPS", "PipelineFailure", "Step", "parse_pipelines", "run_pipeline"]

MAX_STEPS = 16
"""Most steps in one pipeline (400 `pipeline_too_long` past it)."""
MAX_PIPELINES = 32
"""Most pipelines in one batch."""
logger = logging.getLogger("dotdo.rpc")

RootResolver = Callable[[list[Any]], Any]


@dataclass(frozen=True)
class Step:
    """One step: call the method `name` with `args` (tagged JSON, a list or an options
    object), or read the property `name` (`kind` "method" or "property")."""

    kind: str  # "method" | "property"
    name: Any
    args: Any = None


@dataclass(frozen=True)
class PipelineRequest:
    """One pipeline of a request: the caller's `id` (echoed), where it starts (`target`:
    `[]`, `[Noun]` or `[Noun, id]`) and its `steps` (1 to MAX_STEPS)."""

    id: Any
    target: list[Any]
    steps: tuple[Step, ...]


_REQUEST_FIELDS = frozenset({"id", "pipeline"})
_SPEC_FIELDS = frozenset({"target", "pipeline"})
_STEP_FIELDS = {"method": frozenset({"type", "name", "args"}), "property": frozenset({"type", "name"})}
"""The fields of each envelope; any other is a 400 `invalid_pipeline`, as `POST /rpc`
refuses a field besides `method` and `params`: a misspelt `args` is never dropped."""


def _parse_one(item: Any) -> PipelineRequest:
    if not isinstance(item, dict) or not isinstance(item.get("pipeline"), dict):
        raise BadRequest(
            'A pipeline is {"id", "pipeline": {"target": [...], "pipeline": [steps]}}',
            code="invalid_pipeline",
        )
    check_fields(item, _REQUEST_FIELDS, what="a pipeline request", code="invalid_pipeline")
    spec = item["pipeline"]
    check_fields(spec, _SPEC_FIELDS, what="a pipeline", code="invalid_pipeline")
    target = spec.get("target", [])
    raw_steps = spec.get("pipeline", [])
    if not isinstance(target, list) or len(target) > 2:
        raise BadRequest("target is [], [Noun] or [Noun, id]", code="invalid_pipeline")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise BadRequest("pipeline is a non-empty array of steps", code="invalid_pipeline")
    if len(raw_steps) > MAX_STEPS:
        raise BadRequest(f"a pipeline has at most {MAX_STEPS} steps", code="pipeline_too_long")
    steps = []
    for raw in raw_steps:
        if not isinstance(raw, dict) or raw.get("type") not in ("method", "property", "get"):
            raise BadRequest(
                'a step is {"type": "method", "name", "args"} or {"type": "property", "name"}',
                code="invalid_pipeline",
            )
        kind = "method" if raw["type"] == "method" else "property"
        check_fields(raw, _STEP_FIELDS[kind], what=f"a {kind} step", code="invalid_pipeline")
        steps.append(Step(kind, raw.get("name"), raw.get("args", [])))
    request_id = item.get("id")
    if not is_call_id(request_id):  # refused before anything runs: its answer carries it back
        raise BadRequest("A pipeline's id is a string or an integer", code="invalid_pipeline")
    return PipelineRequest(request_id, target, tuple(steps))


def parse_pipelines(body: Any) -> tuple[list[PipelineRequest], bool]:
    """The pipelines of a body (its tags already decoded, as `HttpRequest.json` does),
    and whether it was a batch."""
    if isinstance(body, list):
        if not body:
            raise BadRequest("a batch holds at least one pipeline", code="invalid_pipeline")
        if len(body) > MAX_PIPELINES:
            raise BadRequest(f"a batch holds at most {MAX_PIPELINES} pipelines", code="batch_too_large")
        return [_parse_one(item) for item in body], True
    return [_parse_one(body)], False


async def run_pipeline(
    request: PipelineRequest,
    root: RootResolver,
    authorize: Authorize,
    *,
    development: bool = False,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
) -> Any:
    """The encoded result of the last step; PipelineFailure names the step that failed. A
    failure of the server's own is logged (`log`: `dotdo.rpc`, or its object's `ObjectLog`)
    and answered 500 `internal_error`, named only with `development` (ENVIRONMENT=development:
    `dotdo.errors.internal_error`)."""
    try:
        receiver = root(request.target)
    except HttpError as error:
        raise PipelineFailure(error, None) from error
    is_root = not request.target
    taken = target_text(request.target)  # the steps so far, as a caller writes them
    for index, step in enumerate(request.steps):
        try:
            receiver = await _take(receiver, step, is_root and index == 0, authorize, taken)
        except HttpError as error:
            raise PipelineFailure(error, index) from error
        except Exception as error:  # the application's own failure: no detail leaks outside development
            log.exception("pipeline step %d (%r) failed", index, step.name)
            raise PipelineFailure(HttpError(internal_error(error, named=development)), index) from error
        if step.kind == "method":
            taken = step_text(taken, step.name, [] if step.args is None else step.args)
        else:
            taken = step_text(taken, step.name)
    try:
        return encode_result(receiver)
    except BadRequest as error:
        raise PipelineFailure(error, len(request.steps) - 1) from error


async def _take(receiver: Any, step: Step, is_root: bool, authorize: Authorize, taken: str) -> Any:
    if step.kind == "property":
        return resolve_property(receiver, step.name, is_root, taken)
    method, scope, operation = resolve_operation(receiver, step.name, is_root, taken)
    if scope is not None:
        authorize(operation, scope)
    return await invoke(method, step.args)


async def run_batch(
    requests: list[PipelineRequest],
    root: RootResolver,
    authorize: Authorize,
    *,
    development: bool = False,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
) -> list[tuple[dict[str, Any], int]]:
    """Each pipeline's answer and its HTTP status, in order; one failing leaves the others.
    Past MAX_BATCH_ANSWER_BYTES of answers, the pipelines left are not run: each answers 400
    `answer_too_large`. `development` and `log` as `run_pipeline`'s."""
    answers = []
    held = BatchAnswer()
    for request in requests:
        answer: dict[str, Any] = {} if request.id is None else {"id": encode_result(request.id)}
        status = 200
        try:
            try:
                held.check()
            except HttpError as error:
                raise PipelineFailure(error, None) from error
            answer["result"] = await run_pipeline(request, root, authorize, development=development, log=log)
            held.add(answer["result"])
        except PipelineFailure as failure:
            answer["error"] = failure.to_dict()
            status = failure.error.status
        answers.append((answer, status))
    return answers
