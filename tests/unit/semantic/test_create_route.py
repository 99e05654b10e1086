"""`POST /:Noun` names the type by the path alone, as every other thing route does: the
handler needs the type's name, never the noun's accessor (`noun()`, a hook an application
may override for its Python and RPC callers), and answers the same 201, entity tag and
errors (bench/README.md, issue 14: a create's own Python)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from dotdo.core.http import HttpRequest, HttpResponse
from dotdo.errors import HttpError
from dotdo.semantic.routes import SemanticRoutes
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.storage.test_tiers import Node


class Host:
    """The routes' host: a things service and nothing else; `noun()` fails the test."""

    def __init__(self) -> None:
        self.things = Node(Storage(), Clock(T0), tiered=False).things

    def noun(self, type_name: str, thing_id: str | None = None) -> Any:
        raise AssertionError("a create builds no noun accessor")


def _create(host: Host, noun: str, body: bytes) -> HttpResponse:
    request = HttpRequest("POST", f"http://acme.localhost/{noun}", {}, body, params={"noun": noun})
    response: HttpResponse = asyncio.run(SemanticRoutes(host)._create(request))  # type: ignore[arg-type]
    return response


def test_a_create_answers_from_the_type_name_without_the_nouns_accessor() -> None:
    host = Host()
    response = _create(host, "Customer", b'{"$id": "c-1", "name": "Ada"}')
    assert response.status == 201
    thing = json.loads(response.body)
    assert (thing["$id"], thing["$type"], thing["name"], thing["$version"]) == ("c-1", "Customer", "Ada", 1)
    assert response.headers["etag"] == f'"1.{thing["$created_at"]}"'
    assert host.things.get("Customer", "c-1") == thing


@pytest.mark.parametrize(
    ("noun", "status", "code"),
    [("customer", 400, "invalid_type"), ("Cust omer", 400, "invalid_type"), ("A" * 200, 400, "invalid_type")],
)
def test_a_bad_type_name_is_refused_before_the_body_is_read(noun: str, status: int, code: str) -> None:
    with pytest.raises(HttpError) as caught:
        _create(Host(), noun, b"not json")
    assert (caught.value.status, caught.value.code) == (status, code)
