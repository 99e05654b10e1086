"""A batch holds every answer until its end (`/rpc/pipeline`, a Cap'n Web HTTP batch): past
MAX_BATCH_ANSWER_BYTES of answers, the calls left are refused with 400 `answer_too_large`
and never run. Before, 32 pipelines (or 24 Cap'n Web calls) each listing a page of 4 MiB
ended workerd, every tenant's requests with it. A Cap'n Web WebSocket session holds each
answer until the client releases it, under the same bound."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from dotdo import rpc
from dotdo.remote.marks import seal_rpc_surface
from dotdo.wire.batch_answer import MAX_BATCH_ANSWER_BYTES, answer_bytes
from dotdo.wire.capnweb import CapnWebSession
from dotdo.wire.pipeline import parse_pipelines, run_batch

PAGE = 3_000_000  # bytes an answer: five pass the bound, so the sixth call is refused


class Pages:
    def __init__(self) -> None:
        self.ran = 0

    @rpc(scope="read")
    def page(self, n: int) -> dict[str, Any]:
        self.ran += 1
        return {"items": ["v" * PAGE], "n": n}


seal_rpc_surface(Pages)


def test_a_pipeline_batch_stops_running_calls_past_its_answers_bound() -> None:
    body = [
        {"id": n, "pipeline": {"target": [], "pipeline": [{"type": "method", "name": "page", "args": [n]}]}}
        for n in range(32)
    ]
    requests, _ = parse_pipelines(body)
    pages = Pages()
    answers = asyncio.run(run_batch(requests, lambda target: pages, lambda name, scope: None))
    ran = MAX_BATCH_ANSWER_BYTES // PAGE + 1
    assert pages.ran == ran  # the rest never ran
    assert [answer["result"]["n"] for answer, _ in answers[:ran]] == list(range(ran))
    refused = answers[ran:]
    assert len(refused) == 32 - ran
    assert all(status == 400 and answer["error"]["code"] == "answer_too_large" for answer, status in refused)
    assert [answer["id"] for answer, _ in refused] == list(range(ran, 32))


def test_a_capnweb_batch_stops_running_calls_past_its_answers_bound() -> None:
    pages = Pages()

    async def go() -> str:
        session = CapnWebSession(pages, lambda method, scope: None)
        for n in range(24):
            await session.receive(json.dumps(["push", ["pipeline", 0, ["page"], [n]]]))
        for n in range(24):
            await session.receive(json.dumps(["pull", n + 1]))
        return await session.drain()

    lines = [json.loads(line) for line in asyncio.run(go()).split("\n") if line]
    ran = MAX_BATCH_ANSWER_BYTES // PAGE + 1
    assert pages.ran == ran
    assert [line[0] for line in lines] == ["resolve"] * ran + ["reject"] * (24 - ran)
    assert "answer_too_large" in json.dumps(lines[-1])


def test_a_capnweb_socket_refuses_pushes_while_its_unreleased_answers_pass_the_bound() -> None:
    """Over a WebSocket a client that pulls and never releases kept every answer in the
    object's memory: 24 pages of 3 MB held 72 MB, past the isolate's 128 MB with a few more.
    Released answers no longer count, so a client that releases goes on without end."""
    pages = Pages()
    sent: list[Any] = []

    async def go() -> None:
        session = CapnWebSession(
            pages, lambda method, scope: None, send=lambda line: sent.append(json.loads(line))
        )

        async def call(n: int, release: bool) -> Any:
            await session.receive(json.dumps(["push", ["pipeline", 0, ["page"], [n]]]))
            await session.receive(json.dumps(["pull", n + 1]))
            for _ in range(5):
                await asyncio.sleep(0)
            if release:
                await session.receive(json.dumps(["release", n + 1, 1]))
            return sent[-1]

        ran = MAX_BATCH_ANSWER_BYTES // PAGE + 1
        answers = [await call(n, release=False) for n in range(ran + 2)]
        assert [answer[0] for answer in answers] == ["resolve"] * ran + ["reject"] * 2
        assert "answer_too_large" in json.dumps(answers[-1]) and "release" in json.dumps(answers[-1])
        assert pages.ran == ran  # the refused pushes never ran
        for n in range(ran + 2):  # released: what the session holds is nothing again
            await session.receive(json.dumps(["release", n + 1, 1]))
        later = [await call(n, release=True) for n in range(ran + 2, ran + 40)]
        assert [answer[0] for answer in later] == ["resolve"] * 38
        assert not session.aborted

    asyncio.run(go())


def test_answer_bytes_counts_strings_as_json_writes_them_and_the_rest() -> None:
    assert answer_bytes({"a": ["é", b"xy", 7, None]}) == 3 + 8 + 2 + 8 + 8  # "a", "\u00e9"


def test_escaped_characters_count_as_written() -> None:
    """A control character is six bytes of JSON (`\u0001`): counted as one, a batch of
    `get`s of 1 MiB values of them held 100 MB while the bound saw 17 MB, and ended workerd."""
    for text in ("\x01" * 1000, '"' * 1000, "\\" * 1000, "é" * 1000, "\ud83d\ude00" * 500):
        assert answer_bytes(text) >= len(json.dumps(text)) == len(json.dumps(text, ensure_ascii=True))


BIG = "y" * 500_000  # a literal push: no method, no stored data, nothing authorized


def _batch(lines: list[Any], main: Any = None) -> tuple[list[Any], int]:
    async def go() -> str:
        session = CapnWebSession(main or Pages(), lambda method, scope: None)
        for line in lines:
            await session.receive(json.dumps(line))
        return await session.drain()

    body = asyncio.run(go())
    return [json.loads(line) for line in body.split("\n") if line], len(body)


def test_a_push_repeating_references_is_bounded_as_an_answer() -> None:
    """A push of references to an earlier push repeats its value: 200 references to 1 MB in
    a 2.7 KB batch answered 200 MB and ended workerd; 60 to a 500 KB literal, 30 MB."""
    refs = [["import", 1]] * 60  # 30 MB
    lines, size = _batch([["push", BIG], ["push", [refs]], ["pull", 2]])
    assert lines[0][0] == "reject" and "answer_too_large" in json.dumps(lines[0])
    assert size < 1000
    fits = [["import", 1]] * 30  # 15 MB: under the bound, answered
    lines, size = _batch([["push", BIG], ["push", [fits]], ["pull", 2]])
    assert lines[0][0] == "resolve" and size > 15_000_000
    # nested: each push is held to the bound, so the next level fails with it
    lines, _ = _batch([["push", BIG], ["push", [fits]], ["push", [[["import", 2]] * 2]], ["pull", 3]])
    assert lines[0][0] == "reject" and "answer_too_large" in json.dumps(lines[0])


def test_a_call_taking_repeated_references_is_refused_before_it_runs() -> None:
    pages = Pages()
    refs = [["import", 1]] * 40  # 20 MB of arguments
    lines, _ = _batch([["push", BIG], ["push", ["pipeline", 0, ["page"], [[refs]]]], ["pull", 2]], pages)
    assert lines[0][0] == "reject" and "answer_too_large" in json.dumps(lines[0])
    assert "arguments" in json.dumps(lines[0]) and pages.ran == 0


def test_a_second_pull_of_one_id_is_not_answered_again() -> None:
    """As capnweb's own server: each export resolves once. 25 pulls of one 900 KB answer
    were 22.5 MB, past the bound a batch's calls are held to."""
    lines, size = _batch([["push", BIG], *[["pull", 1]] * 25])
    assert [line[0] for line in lines] == ["resolve"] and size < 600_000


def test_a_batchs_answer_stops_growing_past_the_bound() -> None:
    """Each push within the bound, many of them pulled: the batch's answer still ends."""
    fits = [["import", 1]] * 30  # 15 MB each
    pushes = [["push", [fits]] for _ in range(6)]
    pulls = [["pull", n] for n in range(2, 8)]
    lines, size = _batch([["push", BIG], *pushes, *pulls])
    assert [line[0] for line in lines] == ["resolve", "resolve", "reject", "reject", "reject", "reject"]
    assert size < 2 * MAX_BATCH_ANSWER_BYTES + 1000
    assert "answer_too_large" in json.dumps(lines[-1])


def test_one_socket_push_of_many_calls_stops_running_them_past_the_bound() -> None:
    """Over a socket the bound was checked only once a push had run whole: one push of 250
    `list_things` calls (15 KB) ran 21 s and held about 1 GB before it was refused."""
    pages = Pages()
    sent: list[Any] = []

    async def go() -> None:
        session = CapnWebSession(
            pages, lambda method, scope: None, send=lambda line: sent.append(json.loads(line))
        )
        calls = [["pipeline", 0, ["page"], [n]] for n in range(40)]
        await session.receive(json.dumps(["push", [calls]]))
        await session.receive(json.dumps(["pull", 1]))
        for _ in range(50):
            await asyncio.sleep(0)

    asyncio.run(go())
    assert pages.ran == MAX_BATCH_ANSWER_BYTES // PAGE + 1  # the rest never ran
    [answer] = sent
    assert answer[0] == "reject" and "this push's answers hold" in json.dumps(answer)
