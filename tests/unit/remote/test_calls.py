"""A remote call: arguments bound and checked, options objects unpacked only where marked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dotdo.errors import BadRequest
from dotdo.remote.calls import body_arguments, invoke, options_arguments
from dotdo.remote.fields import invoke_body
from dotdo.remote.marks import rpc


class Accessor:
    @rpc(scope="read", options=("where", "order_by", "limit"))
    def list(self, where: dict[str, Any] | None = None, order_by: str | None = None, limit: int = 10) -> Any:
        return {"where": where, "order_by": order_by, "limit": limit}

    @rpc
    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        return data


def test_options_objects_for_javascript_callers() -> None:
    listing, create = Accessor().list, Accessor().create
    assert options_arguments(listing, [{"where": {"a": 1}, "limit": 2}]) == {"where": {"a": 1}, "limit": 2}
    assert options_arguments(listing, [{"orderBy": "-a"}]) == {"order_by": "-a"}
    assert options_arguments(listing, [{"plan": "pro"}]) == [{"plan": "pro"}]  # a where clause stays one
    assert options_arguments(listing, [{}]) == [{}]
    assert options_arguments(listing, [{"limit": 1}, 2]) == [{"limit": 1}, 2]
    assert options_arguments(create, [{"limit": 1}]) == [{"limit": 1}]  # no options declared


def test_invoke_unpacks_options_and_checks_what_it_binds() -> None:
    accessor = Accessor()
    assert asyncio.run(invoke(accessor.list, [{"where": {"a": 1}, "orderBy": "a"}])) == {
        "where": {"a": 1},
        "order_by": "a",
        "limit": 10,
    }
    assert asyncio.run(invoke(accessor.list, [{"open": True}]))["where"] == {"open": True}
    with pytest.raises(BadRequest) as caught:
        asyncio.run(invoke(accessor.list, [{"limit": "ten"}]))
    assert caught.value.code == "invalid_params"


async def embed(texts: list[str], model: str | None = None) -> dict[str, Any]:
    return {"texts": texts, "model": model}


@pytest.mark.parametrize("extra", ["modle", "Model", "$texts", ""])
def test_a_body_field_the_route_does_not_take_is_refused_as_rpc_refuses_it(extra: str) -> None:
    """`POST /ai/embed {"texts": [...], "modle": ...}` dropped the misspelt field and ran
    with the default model; RPC refused the same keyword argument."""
    body = {"texts": ["a"], extra: "@cf/x"}
    with pytest.raises(BadRequest) as over_http:
        body_arguments(body, {"texts": "texts", "model": "model"}, method=embed)
    with pytest.raises(BadRequest) as over_rpc:
        asyncio.run(invoke(embed, body))
    assert over_http.value.code == over_rpc.value.code == "invalid_params"
    assert repr(extra) in over_http.value.message and repr(extra) in over_rpc.value.message


def send(event_type: str, data: Any = None, at: int | None = None) -> None: ...


def query(sql: str, params: list[Any] | None = None) -> None: ...


def test_body_arguments_maps_fields_and_leaves_nulls_to_defaults() -> None:
    fields = {"type": "event_type", "data": "data", "at": "at"}
    assert body_arguments({"type": "A.b", "data": None, "at": 5}, fields, method=send) == {
        "event_type": "A.b",
        "at": 5,
    }
    assert body_arguments(
        {"sql": "SELECT 1", "params": [1]}, {"params": "params"}, also=["sql"], method=query
    ) == {"params": [1]}
    with pytest.raises(BadRequest) as refused:
        body_arguments({"sql": "SELECT 1", "parms": [1]}, {"params": "params"}, also=["sql"], method=query)
    assert "'parms'" in refused.value.message and "params, sql" in refused.value.message


class Embedder:
    async def ai_embed(self, texts: list[str], model: str | None = None) -> list[str]:
        return texts

    async def send_event(self, event_type: str, delay: float | None = None) -> str:
        return event_type


@pytest.mark.parametrize(
    ("method", "body", "fields", "message"),
    [
        ("ai_embed", {"texts": "abc"}, {"texts": "texts"}, "Body field 'texts' takes an array of strings"),
        ("ai_embed", {"texts": ["a", 1]}, {"texts": "texts"}, "; texts[1] is an integer, not a string"),
        (
            "send_event",
            {"type": "A.b", "delay": "soon"},
            {"type": "event_type", "delay": "delay"},
            "Body field 'delay' takes",
        ),
        ("send_event", {"type": ["A.b"]}, {"type": "event_type"}, "Body field 'type' takes a string"),
        (
            "send_event",
            {"delay": 1},
            {"type": "event_type", "delay": "delay"},
            "Body field 'type' is required",
        ),
    ],
)
def test_a_routes_argument_errors_name_the_body_field(
    method: str, body: dict[str, Any], fields: dict[str, str], message: str
) -> None:
    """An HTTP route's errors named the RPC argument (`Argument 'targets' of fan_out_call`)
    where the client sent a body field."""
    called = getattr(Embedder(), method)
    with pytest.raises(BadRequest) as refused:
        asyncio.run(invoke_body(called, body, fields))
    assert refused.value.code == "invalid_params" and message in refused.value.message
    assert method not in refused.value.message and "Argument" not in refused.value.message
    with pytest.raises(BadRequest) as rpc:  # RPC names its own arguments, as before
        asyncio.run(invoke(called, body_arguments(body, fields, method=called)))
    assert method in rpc.value.message


class Registry:
    def register_noun(self, name: str, plural: str | None = None, indexes: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        return {"name": name, "plural": plural, "indexes": list(indexes)}


def test_a_null_is_absent_only_where_the_default_is_none() -> None:
    """`{"indexes": null}` was left to the default `()`: a re-registration that cleared the
    noun's indexes. A null where the default is None is absent; elsewhere it is passed on
    as None and refused, as RPC refuses None."""
    method = Registry().register_noun
    fields = {"name": "name", "plural": "plural", "indexes": "indexes"}
    body: dict[str, Any] = {"name": "Lead", "plural": None, "indexes": None}
    assert body_arguments(body, fields, method=method) == {"name": "Lead", "indexes": None}
    with pytest.raises(TypeError):  # one rule: the method's signature says what a null is
        body_arguments(body, fields)  # type: ignore[call-arg]
    with pytest.raises(BadRequest) as refused:
        asyncio.run(invoke(method, body_arguments(body, fields, method=method), fields))
    assert refused.value.code == "invalid_params" and "Body field 'indexes'" in refused.value.message
    with pytest.raises(BadRequest) as by_rpc:
        asyncio.run(invoke(method, {"name": "Lead", "indexes": None}))
    assert by_rpc.value.code == "invalid_params"
    answered = asyncio.run(
        invoke(method, body_arguments({"name": "Lead", "plural": None}, fields, method=method))
    )
    assert answered == {"name": "Lead", "plural": None, "indexes": []}


class Routes:
    """Methods as the routes render them: a text the method checks itself, a path parameter."""

    def register_noun(self, name: str, plural: str | None = None, indexes: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        if not name:
            raise BadRequest("Invalid type name ''", code="invalid_noun")
        return {"name": name, "plural": plural, "indexes": list(indexes)}

    async def decide(self, approval_id: str, decision: str, comment: str | None = None) -> dict[str, Any]:
        return {"id": approval_id, "decision": decision, "comment": comment}


def test_a_route_body_is_bound_and_checked_against_one_method() -> None:
    """The one pairing of `body_arguments` and `invoke` every route whose body is named
    arguments uses: path parameters, texts the method checks itself ("" when missing, so
    its own code answers), nulls as RPC's None, unknown fields and wrong types named as the
    body's fields."""
    routes = Routes()
    fields = {"plural": "plural", "indexes": "indexes"}
    made = asyncio.run(
        invoke_body(routes.register_noun, {"name": "Lead", "plural": None}, fields, texts=["name"])
    )
    assert made == {"name": "Lead", "plural": None, "indexes": []}
    with pytest.raises(BadRequest) as unnamed:
        asyncio.run(invoke_body(routes.register_noun, {"indexes": []}, fields, texts=["name"]))
    assert unnamed.value.code == "invalid_noun"
    with pytest.raises(BadRequest) as cleared:  # the default stood in for a null once
        asyncio.run(
            invoke_body(routes.register_noun, {"name": "Lead", "indexes": None}, fields, texts=["name"])
        )
    assert cleared.value.code == "invalid_params" and "Body field 'indexes'" in cleared.value.message
    with pytest.raises(BadRequest) as misspelt:
        asyncio.run(invoke_body(routes.register_noun, {"name": "Lead", "indexs": []}, fields, texts=["name"]))
    assert "'indexs'" in misspelt.value.message and "indexes, name, plural" in misspelt.value.message
    decided = asyncio.run(
        invoke_body(
            routes.decide, {"decision": "approve"}, {"decision": "decision"}, path={"approval_id": "a1"}
        )
    )
    assert decided == {"id": "a1", "decision": "approve", "comment": None}


class Library:
    @rpc
    def borrow(self, member_id: str, book_id: str) -> str:
        return f"{member_id} {book_id}"

    @rpc
    def note(self, text: str, **extra: Any) -> str:
        return text


def test_named_params_with_unknown_names_say_which_beside_the_missing_one() -> None:
    """`{"member": "ann", "book": "dune"}` said only "missing a required argument:
    'member_id'", which did not point at the names the caller got wrong."""
    with pytest.raises(BadRequest) as refused:
        asyncio.run(invoke(Library().borrow, {"member": "ann", "book": "dune"}))
    assert refused.value.code == "invalid_params"
    assert refused.value.message == (
        "Wrong arguments for borrow: missing a required argument: 'member_id'; no parameter is named "
        "'member', 'book' (its parameters: member_id, book_id)"
    )
    with pytest.raises(BadRequest) as refused:
        asyncio.run(invoke(Library().borrow, {"member_id": "ann", "book_id": "dune", "due": 3}))
    assert refused.value.message.endswith("no parameter is named 'due' (its parameters: member_id, book_id)")
    with pytest.raises(BadRequest) as refused:  # every name is a parameter's: nothing added
        asyncio.run(invoke(Library().borrow, {"member_id": "ann"}))
    assert refused.value.message == "Wrong arguments for borrow: missing a required argument: 'book_id'"
    with pytest.raises(BadRequest) as refused:  # **extra takes any name
        asyncio.run(invoke(Library().note, {"txt": "x"}))
    assert "no parameter" not in refused.value.message
