"""A pipeline's id is a string or an integer, as a `/ws/rpc` message's: any other value was
taken, run, and then could not be written back (`{"$date": 5}`, NaN, bytes: a 500 after
the pipeline's writes were applied); an integer past 2**53 goes back as `$bigint`."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from dotdo import rpc
from dotdo.errors import BadRequest
from dotdo.remote.marks import seal_rpc_surface
from dotdo.wire.pipeline import parse_pipelines, run_batch
from dotdo.wire.wsrpc import parse_message


def _pipeline(request_id: Any) -> dict[str, Any]:
    return {"id": request_id, "pipeline": {"target": [], "pipeline": [{"type": "method", "name": "nope"}]}}


@pytest.mark.parametrize(
    "request_id", [datetime(1970, 1, 1, tzinfo=UTC), math.nan, b"\x01", True, 1.5, {"a": 1}, [1]]
)
def test_an_id_that_is_no_string_nor_integer_is_refused_before_anything_runs(request_id: Any) -> None:
    for body in (_pipeline(request_id), [_pipeline("ok"), _pipeline(request_id)]):
        with pytest.raises(BadRequest) as refused:
            parse_pipelines(body)
        assert refused.value.code == "invalid_pipeline"
    if request_id is True:  # the socket's rule is the same one
        with pytest.raises(BadRequest):
            parse_message('{"id": true, "method": "get"}')


def test_an_integer_id_past_2_to_the_53_is_answered_as_a_bigint() -> None:
    requests, _ = parse_pipelines(_pipeline(2**64))
    answers = asyncio.run(run_batch(requests, lambda target: object(), lambda name, scope: None))
    assert answers[0][0]["id"] == {"$bigint": str(2**64)}


class Things:
    @rpc(scope="read")
    def get(self, thing_id: str) -> dict[str, Any] | None:
        return {"name": "Ada", "address": None} if thing_id == "ada" else None


seal_rpc_surface(Things)


def _error(steps: list[dict[str, Any]]) -> dict[str, Any]:
    requests, _ = parse_pipelines({"pipeline": {"target": [], "pipeline": steps}})
    answers = asyncio.run(run_batch(requests, lambda target: Things(), lambda name, scope: None))
    return answers[0][0]["error"]  # type: ignore[no-any-return]


def test_a_step_on_null_names_the_call_that_answered_null() -> None:
    # The user's case: the getting-started pipeline on a missing thing answered
    # "No readable property 'name' on null", which did not say where the null came from.
    get = {"type": "method", "name": "get", "args": ["bob"]}
    error = _error([get, {"type": "property", "name": "name"}])
    assert error["code"] == "property_not_found" and error["step"] == 1
    assert error["message"] == (
        "No readable property 'name' on null: get('bob') answered null "
        "(get answers null when no thing has that id)"
    )
    error = _error([get, {"type": "method", "name": "update", "args": [{"n": 1}]}])
    assert error["code"] == "method_not_found"
    assert error["message"].startswith("No callable method 'update' on null: get('bob') answered null")
    found = {"type": "method", "name": "get", "args": ["ada"]}
    error = _error([found, {"type": "property", "name": "address"}, {"type": "property", "name": "city"}])
    assert error["message"] == "No readable property 'city' on null: get('ada').address answered null"
