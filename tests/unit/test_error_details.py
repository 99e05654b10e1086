"""An error's extra fields (`details`) reach every surface beside its code and message."""

from __future__ import annotations

from dotdo.errors import HttpError, NotFound, PipelineFailure
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
