"""The one reachability rule: nouns on the object, the same on pipelines and Cap'n Web."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import pytest

from dotdo import BadRequest, HttpError, rpc
from dotdo.remote.marks import seal_rpc_surface
from dotdo.remote.names import TYPE_NAME
from dotdo.remote.targets import resolve_operation, resolve_property, resolve_target
from dotdo.semantic.names import validate_type_name
from dotdo.wire.capnweb import CapnWebSession
from dotdo.wire.pipeline import PipelineFailure, parse_pipelines, run_pipeline


class Accessor:
    """Stands in for a noun accessor: `@rpc` methods, and callable with an id."""

    rpc_call: ClassVar[str] = "_open"

    def __init__(self, thing_id: str | None = None) -> None:
        self.thing_id = thing_id

    @rpc(scope="read")
    def count(self) -> int:
        return 2

    @rpc(scope="read")
    def get(self) -> dict[str, Any]:
        return {"$id": self.thing_id}

    def helper(self) -> str:
        return "not marked"

    def _open(self, thing_id: str | None = None) -> Accessor:
        if thing_id == "bad*id":
            raise BadRequest("bad id", code="invalid_id")
        return self if thing_id is None else Accessor(thing_id)

    def _secret(self) -> str:
        return "never"


class Main:
    @rpc(scope="read")
    def count_things(self, type_name: str) -> int:
        return 2

    @rpc(scope="read")
    def ticket(self) -> str:
        return "the method"

    def rpc_noun(self, name: str) -> Accessor | None:
        return Accessor() if name[:1].isupper() else None


seal_rpc_surface(Main)


class NoNouns:
    @rpc(scope="read")
    def ticket(self) -> str:
        return "the method"


seal_rpc_surface(NoNouns)


class Library:
    @rpc
    def return_(self, book: str) -> str:  # PEP 8's name for a method named by a keyword
        return f"returned {book}"

    @rpc
    def import_(self) -> str:
        return "imported"


seal_rpc_surface(Library)


def test_a_method_named_by_a_keyword_is_called_by_the_keyword() -> None:
    """No `def return` can be written, and `"return"` was `method_not_found`: an app's
    `return_` could not be reached by the name its clients use."""
    method, scope, operation = resolve_operation(Library(), "return", is_root=True)
    assert method("b1") == "returned b1" and scope == "write" and operation == "return_"
    assert resolve_operation(Library(), "import", is_root=True)[0]() == "imported"
    assert resolve_operation(Library(), "return_", is_root=True)[0]("b2") == "returned b2"
    assert code_of(lambda: resolve_operation(Main(), "return", is_root=True)) == "method_not_found"


class Flags:
    @rpc
    def None_(self) -> str:  # noqa: N802 - PEP 8's name for a method named by the keyword None
        return "none"

    def rpc_noun(self, name: str) -> Accessor | None:
        return Accessor() if TYPE_NAME.fullmatch(name) else None  # as DOSemantic's


seal_rpc_surface(Flags)


def test_a_capitalised_keyword_finds_its_method_not_a_noun() -> None:
    """`None` was taken for a noun accessor (`invalid_params: ... of None(id)`), and an app's
    `None_` was never found, where `return` finds `return_`: no noun is named `None`, `True`
    or `False`, as no Python class or attribute can be."""
    method, _, operation = resolve_operation(Flags(), "None", is_root=True)
    assert method() == "none" and operation == "None_"
    assert code_of(lambda: resolve_operation(Flags(), "True", is_root=True)) == "method_not_found"
    assert resolve_operation(Flags(), "Nonesuch", is_root=True)[2] == "Nonesuch"  # a noun
    for name in ("None", "True", "False"):
        assert code_of(lambda name=name: validate_type_name(name)) == "invalid_type"
    assert validate_type_name("Truelove") == "Truelove"


def code_of(call: Any) -> str:
    with pytest.raises(HttpError) as caught:
        call()
    return caught.value.code


def test_a_noun_is_a_property_of_the_object_and_callable_with_an_id() -> None:
    main = Main()
    assert isinstance(resolve_property(main, "Ticket", is_root=True), Accessor)
    method, scope, _ = resolve_operation(main, "Ticket", is_root=True)
    assert scope is None  # naming a thing needs no capability; its methods do
    assert method("t1").thing_id == "t1" and isinstance(method(), Accessor)
    assert resolve_operation(main, "countThings", is_root=True)[1] == "read"
    # a noun wins over the camelCase fallback (`Ticket` -> `ticket`) ...
    assert resolve_operation(main, "Ticket", is_root=True)[0] != main.ticket
    # ... which still finds the method on an object without nouns
    assert resolve_operation(NoNouns(), "Ticket", is_root=True)[0]() == "the method"


def test_what_is_not_reachable_is_refused_with_the_same_codes() -> None:
    main, accessor = Main(), Accessor()
    assert code_of(lambda: resolve_property(main, "ticket", is_root=True)) == "property_not_found"
    assert code_of(lambda: resolve_property(main, "count_things", is_root=True)) == "property_not_found"
    assert code_of(lambda: resolve_property(NoNouns(), "Ticket", is_root=True)) == "property_not_found"
    assert code_of(lambda: resolve_property(main, "Ticket")) == "property_not_found"  # only on the object
    for name in ("rpc_noun", "_secret", "__init__", "nope"):
        assert code_of(lambda name=name: resolve_operation(main, name, is_root=True)) == "method_not_found"
    for name in ("_secret", "_open", "rpc_call", "helper", "__init__", "nope"):
        refused = code_of(lambda name=name: resolve_operation(accessor, name, is_root=False))
        assert refused == "method_not_found"
    assert code_of(lambda: resolve_property(accessor, "count")) == "property_not_found"


def test_a_pipeline_target_is_the_same_steps() -> None:
    main = Main()
    assert resolve_target(main, []) is main
    assert isinstance(resolve_target(main, ["Ticket"]), Accessor)
    assert resolve_target(main, ["Ticket", ""]).thing_id is None
    assert resolve_target(main, ["Ticket", "t1"]).thing_id == "t1"
    assert code_of(lambda: resolve_target(main, ["ticket"])) == "property_not_found"
    assert code_of(lambda: resolve_target(NoNouns(), ["Ticket"])) == "property_not_found"
    assert code_of(lambda: resolve_target(main, ["Ticket", "bad*id"])) == "invalid_id"
    for bad in ([1], ["Ticket", 2], ["A", "b", "c"], "Ticket"):
        assert code_of(lambda bad=bad: resolve_target(main, bad)) == "invalid_pipeline"


def pipe(target: list[Any], *steps: dict[str, Any], asked: list[str] | None = None) -> Any:
    main = Main()
    requests, _ = parse_pipelines({"pipeline": {"target": target, "pipeline": list(steps)}})

    def authorize(method: str, scope: str) -> None:
        if asked is not None:
            asked.append(method)

    async def go() -> Any:
        try:
            return await run_pipeline(requests[0], lambda t: resolve_target(main, t), authorize)
        except PipelineFailure as failure:
            return failure.to_dict()

    return asyncio.run(go())


def test_pipeline_steps_reach_nouns_as_properties_and_calls() -> None:
    count = {"type": "method", "name": "count", "args": []}
    get = {"type": "method", "name": "get", "args": []}
    asked: list[str] = []
    assert pipe([], {"type": "property", "name": "Ticket"}, count, asked=asked) == 2
    assert pipe([], {"type": "method", "name": "Ticket", "args": ["t1"]}, get, asked=asked) == {"$id": "t1"}
    assert pipe(["Ticket", "t1"], get, asked=asked) == {"$id": "t1"}
    assert asked == ["count", "get", "get"]  # the noun itself is never asked about
    assert pipe([], {"type": "property", "name": "ticket"}, count)["code"] == "property_not_found"
    refused = pipe([], {"type": "method", "name": "Ticket", "args": [7]}, get)
    assert refused["code"] == "invalid_params" and refused["step"] == 0


def capnweb(lines: list[Any], asked: list[str]) -> list[Any]:
    async def go() -> str:
        session = CapnWebSession(Main(), lambda method, scope: asked.append(method))
        for line in lines:
            await session.receive(json.dumps(line))
        return await session.drain()

    return [json.loads(line) for line in asyncio.run(go()).split("\n") if line]


def test_capnweb_reaches_nouns_as_a_javascript_client_writes_them() -> None:
    asked: list[str] = []
    answers = capnweb(
        [
            ["push", ["pipeline", 0, ["Ticket", "count"], []]],  # api.Ticket.count()
            ["push", ["pipeline", 0, ["Ticket"], ["t1"]]],  # api.Ticket("t1") ...
            ["push", ["pipeline", 2, ["get"], []]],  # ... .get()
            ["push", ["pipeline", 0, ["Ticket"]]],  # const T = await api.Ticket
            ["push", ["pipeline", 4, [], ["t2"]]],  # T("t2") ...
            ["push", ["pipeline", 5, ["get"], []]],  # ... .get()
            ["push", ["pipeline", 0, ["ticket", "count"], []]],
            ["push", ["pipeline", 0, [], ["t1"]]],  # the object itself is not callable
            ["push", ["pipeline", 0, ["Ticket", "_secret"], []]],
            ["pull", 1],
            ["pull", 3],
            ["pull", 6],
            ["pull", 7],
            ["pull", 8],
            ["pull", 9],
        ],
        asked,
    )
    assert answers[:3] == [["resolve", 1, 2], ["resolve", 3, {"$id": "t1"}], ["resolve", 6, {"$id": "t2"}]]
    assert [answer[2][4]["code"] for answer in answers[3:]] == [
        "property_not_found",
        "method_not_found",
        "method_not_found",
    ]
    assert asked == ["count", "get", "get"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"id": 1, "pipeline": {"pipeline": [{"type": "method", "name": "count"}]}, "ids": 2},
            "'ids' in a pipeline request",
        ),
        (
            {"pipeline": {"pipeline": [{"type": "method", "name": "count"}], "targets": []}},
            "'targets' in a pipeline",
        ),
        (
            {"pipeline": {"pipeline": [{"type": "method", "name": "count", "arg": [1]}]}},
            "'arg' in a method step",
        ),
        (
            {"pipeline": {"pipeline": [{"type": "property", "name": "Ticket", "args": []}]}},
            "'args' in a property step",
        ),
        ([{"pipeline": {"pipeline": [{"type": "get", "name": "Ticket", "x": 1}]}}], "'x' in a property step"),
    ],
)
def test_every_envelope_of_a_pipeline_refuses_a_field_it_does_not_take(body: Any, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_pipelines(body)
    assert refused.value.code == "invalid_pipeline" and f"Unknown field {message}" in refused.value.message


def test_an_unknown_method_suggests_the_closest_callable_one_on_every_surface() -> None:
    """`{"method": "borow"}` said only "No callable method 'borow'", while an unknown noun
    says "did you mean"; every surface resolves the name here, so each says it."""
    with pytest.raises(HttpError) as caught:
        resolve_operation(Main(), "countThing", is_root=True)  # a JavaScript caller's spelling
    assert caught.value.message.endswith("marked @rpc); did you mean 'count_things'?")
    assert caught.value.details == {"suggestion": "count_things"}
    with pytest.raises(HttpError) as caught:
        resolve_operation(Library(), "retrun", is_root=True)
    assert caught.value.details == {"suggestion": "return_"}
    with pytest.raises(HttpError) as caught:  # a noun accessor's methods, taken on a reference
        resolve_operation(Accessor(), "cuont", is_root=False)
    assert caught.value.details == {"suggestion": "count"}
    for far in ("nope", "helper", "_secret"):  # nothing close, or close only to what is not callable
        with pytest.raises(HttpError) as caught:
            resolve_operation(Accessor(), far, is_root=False)
        assert "did you mean" not in caught.value.message and caught.value.details == {}
    refused = pipe([], {"type": "method", "name": "tickt", "args": []})
    assert refused["code"] == "method_not_found" and refused["message"].endswith("did you mean 'ticket'?")
    answers = capnweb([["push", ["pipeline", 0, ["tickt"], []]], ["pull", 1]], [])
    assert answers[0][2][2].endswith("did you mean 'ticket'?")
