"""`GET /:Noun/:id/:verb` reads a page's ends together: a few statements for a page of
hundreds (one a hundred ids: Cloudflare binds at most 100 parameters a statement), never
one an end, on each thing store an object runs (direct, cached, tiered), and answers what
reading each end alone answers: the thing, in edge order, or the reference of an end that
is deleted, of another type, or not held here."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import Any

import pytest

from dotdo.core.http import HttpRequest
from dotdo.semantic.graph import Ref, Relationships
from dotdo.semantic.routes import SemanticRoutes
from dotdo.semantic.store import SqliteThingStore
from dotdo.semantic.thing_cache import CachedThingStore
from dotdo.semantic.things import Things
from tests.inprocess import T0
from tests.storage import Clock, Storage
from tests.unit.storage.test_tiers import Node, _Events

ENDS = 250


class Host:
    """The routes' host: the things and edges of one object."""

    def __init__(self, node: Node, cached: bool) -> None:
        self.things = node.things
        if cached:  # DOSemantic's store: an LRU over the table
            store = CachedThingStore(SqliteThingStore(node.sql), capacity=64)
            self.things = Things(store, _Events(node.events), node.clock)
        self.relationships = Relationships(node.sql, node.clock)


def _objects(store: str) -> tuple[Storage, Host]:
    storage = Storage()
    storage.sql.db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)  # as Cloudflare's SQLite
    clock = Clock(T0)
    node = Node(storage, clock, tiered=store == "tiered")
    host = Host(node, cached=store == "cached")
    host.things.create("Item", {"$id": "hub"})
    for n in range(ENDS):
        clock.advance(1)
        if n % 5 != 4:  # every fifth end is a thing of another object: a reference only
            host.things.create("Item", {"$id": f"i{n:03d}", "n": n})
        host.relationships.relate("Item/hub", "has", f"Item/i{n:03d}")
    host.things.soft_delete("Item", "i000")
    host.things.create("Other", {"$id": "o1"})
    host.relationships.relate("Item/hub", "has", "Item/o1")  # the id is another type's thing
    if store == "tiered":  # every thing in `things`, none in memory: each end is a read
        node.tiers.flush()
        host = Host(node.restart(), cached=False)
    return storage, host


def _page(host: Host, limit: int) -> dict[str, Any]:
    url = f"http://acme.localhost/Item/hub/has?limit={limit}"
    request = HttpRequest("GET", url, params={"noun": "Item", "id": "hub", "verb": "has"})
    response = asyncio.run(SemanticRoutes(host)._related(request))  # type: ignore[arg-type]
    assert response.status == 200
    answer: dict[str, Any] = json.loads(response.body)
    return answer


@pytest.mark.parametrize("store", ["direct", "cached", "tiered"])
def test_a_page_of_edges_reads_its_ends_in_a_few_statements(store: str) -> None:
    storage, host = _objects(store)
    before = len(storage.sql.statements)
    page = _page(host, 1000)
    statements = len(storage.sql.statements) - before
    # the path's thing, the page, then its 251 ends a hundred at a time (was 251 reads)
    assert statements <= 2 + 3, storage.sql.statements[before:]

    refs = host.relationships.page("Item/hub", "has", limit=1000)["items"]
    alone = [host.things.get(ref.type, ref.id) or ref.to_dict() for ref in refs]
    assert page["items"] == alone  # each end as reading it alone answers it, in edge order
    assert len(page["items"]) == ENDS + 1
    assert page["items"][0] == {"$type": "Item", "$id": "i000"}  # soft-deleted: its reference
    assert page["items"][4] == {"$type": "Item", "$id": "i004"}  # not held here
    assert page["items"][1]["n"] == 1
    assert page["items"][-1] == Ref("Item", "o1").to_dict()  # `o1` is an Other


def test_ends_read_together_are_the_ends_read_one_by_one_on_every_page() -> None:
    _, host = _objects("cached")
    refs = host.relationships.page("Item/hub", "has", limit=1000)["items"]
    expected = [host.things.get(ref.type, ref.id) or ref.to_dict() for ref in refs]
    assert _page(host, 7)["items"] == expected[:7]
    assert _page(host, 1000)["items"] == expected  # the cache now holds some: the same answer


@pytest.mark.parametrize("store", ["direct", "cached", "tiered"])
def test_a_page_of_large_ends_is_cut_by_their_bytes_and_its_cursor_walks_on(store: str) -> None:
    """A page read every end it answered at once: a thousand edges to 1 MB things were a
    gigabyte. Its ends are measured first and the page ends before the one past 4 MiB."""
    storage = Storage()
    clock = Clock(T0)
    node = Node(storage, clock, tiered=store == "tiered")
    host = Host(node, cached=store == "cached")
    host.things.create("Item", {"$id": "hub"})
    ids = [f"b{n:02d}" for n in range(15)]
    for n, thing_id in enumerate(ids):
        clock.advance(1)
        if n != 3:  # one end this object does not hold: its reference, a few bytes
            host.things.create("Item", {"$id": thing_id, "pad": "v" * 600_000})
        host.relationships.relate("Item/hub", "has", f"Item/{thing_id}")
    walked: list[list[str]] = []
    cursor = None
    while True:
        url = "http://acme.localhost/Item/hub/has?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        request = HttpRequest("GET", url, params={"noun": "Item", "id": "hub", "verb": "has"})
        response = asyncio.run(SemanticRoutes(host)._related(request))  # type: ignore[arg-type]
        page = json.loads(response.body)
        walked.append([item["$id"] for item in page["items"]])
        assert page["has_more"] is (page["cursor"] is not None)
        if not page["has_more"]:
            break
        cursor = page["cursor"]
    assert [i for page in walked for i in page] == ids  # each once, in edge order
    assert [len(page) for page in walked] == [7, 6, 2]  # six things of 600 KB, and the reference


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_body_that_names_no_end_says_what_the_edge_route_takes(method: str) -> None:
    """`POST /Ticket/t1/escalate {"reason": "x"}` (read as "do the verb") was refused as
    "Invalid type name None": the body was taken for a thing with no `$type`."""
    from dotdo.errors import BadRequest

    _, host = _objects("direct")
    url = "http://acme.localhost/Item/hub/escalate"
    request = HttpRequest(
        method, url, body=b'{"reason": "x"}', params={"noun": "Item", "id": "hub", "verb": "escalate"}
    )
    routes = SemanticRoutes(host)  # type: ignore[arg-type]
    with pytest.raises(BadRequest) as refused:
        asyncio.run(routes._relate(request) if method == "POST" else routes._unrelate(request))
    assert refused.value.code == "invalid_ref"
    assert "adds or removes an edge" in refused.value.message and "'reason'" in refused.value.message
