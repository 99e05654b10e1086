"""An error's extra fields (`details`) reach every surface beside its code and message."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from dotdo.errors import BadRequest, HttpError, NotFound, PipelineFailure
from dotdo.wire.capnweb_parts import reject as _reject
from dotdo.wire.wsrpc import error_message


def test_details_reach_every_surface_and_never_replace_code_or_message() -> None:
    error = HttpError("boom", code="x", details={"suggestion": "y", "code": "ignored", "message": "ignored"})
    assert error.to_dict() == {"error": {"code": "x", "message": "boom", "suggestion": "y"}}
    body = {"code": "x", "message": "boom", "suggestion": "y"}
    assert PipelineFailure(error, 2).to_dict() == {**body, "step": 2}
    assert error_message(7, error) == {"id": 7, "error": {"code": "x", "message": "boom", "suggestion": "y"}}
    assert HttpError("plain").to_dict() == {"error": {"code": "internal_error", "message": "plain"}}
    assert _reject(3, NotFound("gone", code="y", details={"suggestion": "z"})) == (
        '["reject",3,["error","Error","gone",null,{"suggestion":"z","code":"y"}]]'
    )


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"code": 123}, "its code is 123, not a str"),
        ({"details": {"o": object()}}, "its details are not plain JSON: object is no JSON value"),
        ({"details": {"n": [math.nan]}}, "its details are not plain JSON: nan is no JSON number"),
        ({"details": {"big": 2**60}}, "its details are not plain JSON: an integer past +-(2**53 - 1)"),
        ({"details": {"at": {1: "x"}}}, "its details are not plain JSON: the key 1 is no str"),
        ({"details": {"b": b"x"}}, "its details are not plain JSON: bytes is no JSON value"),
        ({"details": {"deep": _nested(70)}}, "its details are not plain JSON: nested past 64 levels"),
    ],
)
def test_an_error_no_surface_can_send_is_refused_where_it_is_built(fields: dict[str, Any], said: str) -> None:
    """An HTTP handler raising one was answered 400 `unserializable_result` "object cannot be
    sent over RPC" (the server's own mistake, said to the client as theirs) or sent `code` as
    an int; a socket hook's error frame failed to go out, and the client got nothing."""
    with pytest.raises(TypeError, match=re.escape(f"BadRequest('odd') cannot be sent: {said}")):
        BadRequest("odd", **fields)


def test_an_errors_message_is_a_str() -> None:
    said = "BadRequest(ValueError('x')) cannot be sent: its message is a ValueError, not a str"
    with pytest.raises(TypeError, match=re.escape(said)):
        BadRequest(ValueError("x"))  # type: ignore[arg-type]


def test_plain_json_details_are_taken() -> None:
    details = {"s": "x", "n": [1, -(2**53 - 1), 2.5, None, True], "o": {"k": ("a", "b")}, "d": _nested(63)}
    assert BadRequest("fine", details=details).to_dict()["error"]["o"] == {"k": ("a", "b")}
