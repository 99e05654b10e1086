"""The Cap'n Web session under CPython: the messages a real client sends, and the answers."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

from dotdo import Forbidden, RpcTarget, TooManyRequests, rpc
from dotdo.remote.marks import seal_rpc_surface
from dotdo.wire.capnweb import ABORT_CLOSE_CODE, MAX_MESSAGES, CapnWebSession, SessionIds, batch_messages


class Counter(RpcTarget):
    rpc_properties = frozenset({"value"})
    rpc_read_methods = frozenset({"peek"})

    def __init__(self) -> None:
        self.value = 0

    def bump(self, by: int = 1) -> int:
        self.value += by
        return self.value

    def peek(self) -> int:
        return self.value


class Main:
    @rpc(scope="read")
    def hello(self, name: str) -> str:
        return f"hi {name}"

    @rpc(scope="read")
    def show(self, value: object) -> str:
        return f"hi {value}"

    @rpc(scope="read")
    def counter(self) -> Counter:
        return Counter()

    @rpc
    async def later(self) -> list[Any]:
        await asyncio.sleep(0)
        return [1, [2], 2**60]

    @rpc(scope="read")
    def get(self, thing_id: str) -> dict[str, Any] | None:
        return {"name": "Ada", "address": None} if thing_id == "ada" else None

    def hidden(self) -> str:
        return "no"


seal_rpc_surface(Main)


def run(lines: list[Any], authorize: Any = lambda method, scope: None) -> list[Any]:
    async def go() -> str:
        session = CapnWebSession(Main(), authorize)
        for line in lines:
            await session.receive(line if isinstance(line, str) else json.dumps(line))
        return await session.drain()

    body = asyncio.run(go())
    return [json.loads(line) for line in body.split("\n") if line]


def test_calls_pipelines_and_references() -> None:
    answers = run(
        [
            ["push", ["pipeline", 0, ["hello"], ["World"]]],
            ["push", ["pipeline", 0, ["counter"], []]],
            ["push", ["pipeline", 2, ["bump"], [5]]],
            ["push", ["pipeline", 2, ["value"]]],
            ["push", ["pipeline", 0, ["later"], []]],
            ["pull", 1],
            ["pull", 3],
            ["pull", 4],
            ["pull", 5],
            ["pull", 2],
        ]
    )
    assert answers == [
        ["resolve", 1, "hi World"],
        ["resolve", 3, 5],
        ["resolve", 4, 5],
        ["resolve", 5, [[1, [[2]], ["bigint", str(2**60)]]]],
        ["resolve", 2, ["export", -1]],
    ]


def test_errors_are_rejections_and_private_names_unreachable() -> None:
    answers = run(
        [
            ["push", ["pipeline", 0, ["hidden"], []]],
            ["push", ["pipeline", 0, ["__init__"], []]],
            ["push", ["pipeline", 0, ["hello"], [1, 2, 3]]],
            ["pull", 1],
            ["pull", 2],
            ["pull", 3],
        ]
    )
    assert [a[0] for a in answers] == ["reject", "reject", "reject"]
    assert answers[0][2][4] == {"code": "method_not_found"} and answers[2][2][4] == {"code": "invalid_params"}


def test_authorization_is_asked_per_call() -> None:
    asked: list[tuple[str, str]] = []

    def authorize(method: str, scope: str) -> None:
        asked.append((method, scope))
        if scope != "read":
            raise Forbidden("no", code="token_scope")

    answers = run(
        [
            ["push", ["pipeline", 0, ["hello"], ["x"]]],
            ["push", ["pipeline", 0, ["later"], []]],
            ["pull", 1],
            ["pull", 2],
        ],
        authorize,
    )
    assert asked == [("hello", "read"), ("later", "write")]
    assert answers[0] == ["resolve", 1, "hi x"] and answers[1][2][4] == {"code": "token_scope"}


def test_protocol_errors_abort() -> None:
    for bad in ["not json", '{"a": 1}', '["pull", 99]', '["push", ["export", -1]]', '["resolve", 1, 2]']:
        answers = run([bad, ["pull", 1]] if "push" in bad else [bad])
        assert answers and answers[-1][0] in ("abort", "reject"), bad


def test_map_runs_the_mapper_on_each_element() -> None:
    # what `api.later().map(x => api.show(x))`-style mappers look like on the wire
    answers = run(
        [
            ["push", ["pipeline", 0, ["later"], []]],
            [
                "push",
                [
                    "remap",
                    1,
                    [],
                    [["import", 0]],
                    [["pipeline", -1, ["show"], [["pipeline", 0, []]]], ["pipeline", 1]],
                ],
            ],
            ["pull", 2],
        ]
    )
    assert answers == [["resolve", 2, [["hi 1", "hi [2]", f"hi {2**60}"]]]]
    refused = run([["push", ["remap", 0, [], [["export", -1]], [["pipeline", 0]]]], ["pull", 1]])
    assert refused[-1][0] == "abort"


def converse(lines: list[Any], **options: Any) -> list[Any]:
    """A WebSocket session: every answer as it is sent."""
    sent: list[str] = []

    async def go() -> None:
        session = CapnWebSession(Main(), lambda method, scope: None, send=sent.append, **options)
        for line in lines:
            await session.receive(json.dumps(line))
        for _ in range(20):  # let the answers' tasks run
            await asyncio.sleep(0)

    asyncio.run(go())
    return [json.loads(line) for line in sent]


def test_a_session_rebuilt_after_hibernation_continues_the_numbering() -> None:
    remembered: list[SessionIds] = []
    # before hibernation the client pushed four calls, and we exported two objects
    answers = converse(
        [
            ["push", ["pipeline", 0, ["hello"], ["again"]]],  # the client's 5th push
            ["pull", 5],
            ["push", ["pipeline", 2, ["bump"], []]],  # a result held from before: its object is gone
            ["pull", 6],
            ["push", ["pipeline", -1, ["peek"], []]],  # an export from before: gone too
            ["pull", 7],
            ["pull", 3],  # a pull of a push from before
            ["push", ["pipeline", 0, ["counter"], []]],
            ["pull", 8],
        ],
        resume=SessionIds(next_push=5, next_export=-3),
        remember=remembered.append,
    )
    assert answers[0] == ["resolve", 5, "hi again"]
    lost = {a[1]: a[2][4]["code"] for a in answers if a[0] == "reject"}
    assert lost == {6: "reference_lost", 7: "reference_lost", 3: "reference_lost"}
    assert ["resolve", 8, ["export", -3]] in answers  # never -1 again: that id meant another object
    assert remembered[-1] == SessionIds(next_push=9, next_export=-4)
    # an id never given out is still a protocol error
    assert converse([["pull", 9]], resume=SessionIds(5, -3))[-1][0] == "abort"


def test_session_ids_from_an_attachment() -> None:
    assert SessionIds.from_json([7, -2]) == SessionIds(7, -2)
    for bad in (None, [0, -1], [1, 0], ["1", -1], [True, -1], [1, -1, 3]):
        assert SessionIds.from_json(bad) == SessionIds()


def test_socket_sessions_are_rate_limited_not_capped() -> None:
    allowed = iter([True, False, True])

    def admit() -> None:
        if not next(allowed):
            raise TooManyRequests("slow down", retry_after=2.5)

    answers = converse(
        [
            ["push", ["pipeline", 0, ["hello"], ["a"]]],
            ["push", ["pipeline", 0, ["hello"], ["b"]]],
            ["push", ["pipeline", 0, ["hello"], ["c"]]],
            ["pull", 1],
            ["pull", 2],
            ["pull", 3],
        ],
        admit=admit,
    )
    assert answers[0] == ["resolve", 1, "hi a"] and answers[2] == ["resolve", 3, "hi c"]
    assert answers[1][0] == "reject" and answers[1][2][4] == {"code": "rate_limited", "retry_after": 3}
    calls = MAX_MESSAGES  # two messages a call: twice the cap of a batch
    long_lived = converse(
        [
            line
            for n in range(1, calls + 1)
            for line in (["push", ["pipeline", 0, ["hello"], [str(n)]]], ["pull", n])
        ]
    )
    assert len(long_lived) == calls and long_lived[-1] == ["resolve", calls, f"hi {calls}"]
    batch = run(
        [
            line
            for n in range(1, calls + 1)
            for line in (["push", ["pipeline", 0, ["hello"], [str(n)]]], ["pull", n])
        ]
    )
    assert batch[-1][0] == "abort"


def test_a_reference_with_elements_past_its_call_arguments_aborts() -> None:
    for tag in ("pipeline", "import"):
        assert run([["push", [tag, 0, ["hello"], ["a"], "extra"]], ["pull", 1]]) == [
            ["abort", ["error", "Error", "a reference is an import, then a property path and call arguments"]]
        ]
    assert run([["push", ["pipeline", 0, ["hello"], ["a"]]], ["pull", 1]])[0][:2] == ["resolve", 1]


def test_a_malformed_push_aborts_even_when_never_pulled() -> None:
    assert run([["push", ["pipeline", 0, "not a path", []]]]) == [
        ["abort", ["error", "Error", "a property path and call arguments are arrays"]]
    ]
    answers = converse([["push", ["pipeline", 0, ["hello"], ["a"]]], ["push", ["nonsense"]], ["pull", 1]])
    assert answers[-1][0] == "abort" and [a[0] for a in answers].count("abort") == 1  # the last word


def test_a_failure_of_the_servers_own_is_logged_once(caplog: Any) -> None:
    class Broken:
        @rpc
        def explode(self) -> None:
            raise RuntimeError("secret detail")

    seal_rpc_surface(Broken)

    async def go() -> str:
        session = CapnWebSession(Broken(), lambda method, scope: None)
        for line in (
            ["push", ["pipeline", 0, ["explode"], []]],
            ["push", ["pipeline", 0, ["explode"], []]],
            ["pull", 1],
        ):
            await session.receive(json.dumps(line))
        return await session.drain()

    body = asyncio.run(go())
    assert json.loads(body) == [
        "reject",
        1,
        ["error", "Error", "Internal error", None, {"code": "internal_error"}],
    ]
    logged = [r for r in caplog.records if r.name == "dotdo.rpc"]
    assert len(logged) == 2  # each failed call once, pulled (1) or not (2)
    assert all(r.levelname == "ERROR" and "secret detail" in str(r.exc_info) for r in logged)


def test_refused_calls_nobody_pulls_are_not_logged_as_unhandled(caplog: Any) -> None:
    def refuse() -> None:
        raise TooManyRequests("slow down")

    async def go() -> None:
        session = CapnWebSession(Main(), lambda method, scope: None, send=lambda line: None, admit=refuse)
        await session.receive(json.dumps(["push", ["pipeline", 0, ["hello"], ["a"]]]))
        await session.receive(json.dumps(["push", ["pipeline", 0, "not a path", []]]))
        del session
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(go())
    gc.collect()
    assert "never retrieved" not in caplog.text


def test_counters_that_cannot_be_stored_end_the_session_before_they_move(caplog: Any) -> None:
    remembered: list[SessionIds] = []

    def remember(ids: SessionIds) -> None:
        if ids.next_push > 2:
            raise ValueError("the attachment refused it")
        remembered.append(ids)

    answers = converse(
        [
            ["push", ["pipeline", 0, ["hello"], ["a"]]],
            ["pull", 1],
            ["push", ["pipeline", 0, ["hello"], ["b"]]],
            ["pull", 2],
        ],
        remember=remember,
    )
    assert answers[-1][0] == "abort" and "could not be kept" in answers[-1][1][2]
    assert remembered == [SessionIds(next_push=2, next_export=-1)]  # nothing past what was stored
    assert "counters could not be stored" in caplog.text


def test_a_release_after_a_pull_still_gets_the_answer() -> None:
    # The client may release an id it pulled before the answer is out (it holds no other
    # reference); the pull is still answered, in a batch and on a socket alike.
    released = [
        ["push", ["pipeline", 0, ["later"], []]],
        ["pull", 1],
        ["release", 1, 1],
        ["push", ["pipeline", 0, ["hello"], ["after"]]],
        ["pull", 2],
    ]
    expected = [["resolve", 1, [[1, [[2]], ["bigint", str(2**60)]]]], ["resolve", 2, "hi after"]]
    assert run(released) == expected
    assert sorted(converse(released), key=lambda answer: answer[1]) == expected  # sent as each settles


def test_a_step_on_null_names_the_call_that_answered_null() -> None:
    # `api.get("bob").name`: pipelined on a call that answered null (a missing thing).
    answers = run(
        [
            ["push", ["pipeline", 0, ["get"], ["bob"]]],
            ["push", ["pipeline", 1, ["name"]]],
            ["push", ["pipeline", 1, ["update"], [{}]]],
            ["push", ["pipeline", 0, ["get"], ["ada"]]],
            ["push", ["pipeline", 4, ["address", "city"]]],
            ["pull", 2],
            ["pull", 3],
            ["pull", 5],
        ]
    )
    assert [(a[0], a[2][4]["code"]) for a in answers] == [
        ("reject", "property_not_found"),
        ("reject", "method_not_found"),
        ("reject", "property_not_found"),
    ]
    assert answers[0][2][2] == (
        "No readable property 'name' on null: get('bob') answered null "
        "(get answers null when no thing has that id)"
    )
    assert answers[1][2][2].startswith("No callable method 'update' on null: get('bob') answered null")
    assert answers[2][2][2] == "No readable property 'city' on null: get('ada').address answered null"


def test_a_step_on_null_names_its_call_after_the_call_is_released() -> None:
    # The client may release an id once the pushes on it are sent: their texts lost what
    # they were taken on ("on null: the call answered null").
    answers = run(
        [
            ["push", ["pipeline", 0, ["get"], ["bob"]]],
            ["push", ["pipeline", 1, ["name"]]],
            ["push", ["pipeline", 0, ["get"], ["ada"]]],
            ["push", ["pipeline", 3, ["address"]]],
            ["push", ["pipeline", 4, ["city"]]],
            ["release", 1, 1],
            ["release", 3, 1],
            ["release", 4, 1],
            ["pull", 2],
            ["pull", 5],
        ]
    )
    assert [answer[2][2] for answer in answers] == [
        "No readable property 'name' on null: get('bob') answered null "
        "(get answers null when no thing has that id)",
        "No readable property 'city' on null: get('ada').address answered null",
    ]


def test_a_reference_to_a_released_import_says_it_was_released() -> None:
    answers = run(
        [["push", ["pipeline", 0, ["get"], ["bob"]]], ["release", 1, 1], ["push", ["pipeline", 1, ["name"]]]]
    )
    assert answers == [["abort", ["error", "Error", "reference to import 1, released before the push"]]]


def test_a_reference_to_the_push_itself_or_a_later_one_aborts() -> None:
    # capnweb's rule: an import id names an earlier push or an export. A batch whose push 1
    # refers to push 2 and push 2 to push 1 never answered; a push on itself was an
    # internal error ("Task cannot await on itself").
    forward = [["push", ["pipeline", 2, []]], ["push", ["pipeline", 1, []]], ["pull", 1]]
    itself = [["push", ["pipeline", 1, []]], ["pull", 1]]
    in_arguments = [["push", ["pipeline", 0, ["show"], [["pipeline", 1, []]]]], ["pull", 1]]
    captured = [["push", ["remap", 0, [], [["import", 1]], [["pipeline", -1]]]], ["pull", 1]]
    for lines, words in [
        (forward, "push 1 refers to import 2, a later push"),
        (itself, "push 1 refers to itself"),
        (in_arguments, "push 1 refers to itself"),
        (captured, "push 1 refers to itself"),
    ]:
        for answers in (asyncio.run(asyncio.wait_for(_batch(lines), 5)), converse(lines)):
            assert answers[-1][0] == "abort" and words in answers[-1][1][2], (lines, answers)
            assert [a[0] for a in answers].count("abort") == 1
    # an earlier push is still fine, and a release after it does not take its reference away
    answers = run(
        [
            ["push", ["pipeline", 0, ["counter"], []]],
            ["push", ["pipeline", 1, ["bump"], [2]]],
            ["release", 1, 1],
            ["pull", 2],
        ]
    )
    assert answers == [["resolve", 2, 2]]


async def _batch(lines: list[Any]) -> list[Any]:
    session = CapnWebSession(Main(), lambda method, scope: None)
    for line in lines:
        await session.receive(json.dumps(line))
    return [json.loads(line) for line in (await session.drain()).split("\n") if line]


def test_a_release_or_pull_of_an_id_never_given_out_aborts() -> None:
    for lines in ([["release", 1, 1]], [["release", -1, 1]], [["pull", 1]]):
        assert run(lines)[-1][0] == "abort", lines
    # ids given out are released quietly, the main object's too
    assert run([["push", ["pipeline", 0, ["hello"], ["a"]]], ["release", 1, 1], ["release", 0, 1]]) == []


def test_a_malformed_release_aborts() -> None:
    """A release's id and count are integers (not `true`), the count the times the id was
    introduced (once: a push, an export in an answer), and an id is released once; any of
    them dropped the import before, whatever the count, and a second release was ignored."""
    push = ["push", ["pipeline", 0, ["hello"], ["a"]]]
    for release in (["release", 1, "1"], ["release", 1, 0], ["release", 1, -1], ["release", 1, 2],
                    ["release", 1, 1e308], ["release", True, 1], ["release", 1, True]):  # fmt: skip
        answers = run([push, release, ["pull", 1]])
        assert [answer[0] for answer in answers] == ["abort"], release
    answers = run([push, ["release", 1, 1], ["release", 1, 1]])
    assert answers == [["abort", ["error", "Error", "release of import 1, already released"]]]
    assert run([["pull", True]])[-1][0] == "abort"
    # a malformed pull or release says so ("unsupported message 'release'" before)
    assert run([push, ["release", 1, 1.0]]) == [
        ["abort", ["error", "Error", 'malformed release: ["release", id, count] with integers']]
    ]
    assert run([push, ["pull", "1"]]) == [
        ["abort", ["error", "Error", 'malformed pull: ["pull", id] with integers']]
    ]


def test_streams_are_refused() -> None:
    answers = run([["stream", ["pipeline", 0, ["hello"], ["a"]]], ["pull", 1]])
    assert answers == [["abort", ["error", "Error", "streams are not supported by this server"]]]


def test_a_batch_body_may_end_with_a_newline() -> None:
    assert batch_messages('["pull",1]\n["pull",2]\n') == ['["pull",1]', '["pull",2]']
    assert batch_messages('["pull",1]') == ['["pull",1]']
    assert batch_messages("") == [] and batch_messages("\n") == []
    assert batch_messages('["pull",1]\n\n') == ['["pull",1]', ""]  # a blank line is still no message


def test_an_aborted_socket_session_is_closed_with_a_protocol_error() -> None:
    sent: list[str] = []
    closed: list[tuple[int, str]] = []

    async def go() -> None:
        session = CapnWebSession(
            Main(), lambda method, scope: None, send=sent.append, close=lambda c, r: closed.append((c, r))
        )
        await session.receive('["pull", 7]')
        await session.receive('["push", ["pipeline", 0, ["hello"], ["late"]]]')

    asyncio.run(go())
    assert [json.loads(line)[0] for line in sent] == ["abort"]
    assert closed == [(ABORT_CLOSE_CODE, "pull of unknown import 7")] and ABORT_CLOSE_CODE == 1002
