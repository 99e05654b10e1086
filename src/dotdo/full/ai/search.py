"""Semantic search over things: an embedding per thing of the nouns that opt in, kept up
to date on their writes, searched by exact cosine similarity.

A class opts a noun in by naming the properties whose text is embedded:

    class Shop(DOFull):
        searchable = {"Customer": ("name", "notes")}

    hits = await self.Customer().search("loyal buyer from Lyon", limit=5)

Vectors live in the object's SQLite (`SqliteVectors`, float32 BLOBs) or, with
`vectorize_binding` set, in a Cloudflare Vectorize index (`VectorizeVectors`); the call
and its answer are the same. See ADR 0026.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from dotdo.core.logs import Log
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest, NotFound
from dotdo.full.ai.providers import _to_js, _to_py
from dotdo.full.ai.service import AI, MAX_TEXTS
from dotdo.full.ai.vectors import normalized, pack, top_k, unpack
from dotdo.semantic.eventtypes import Event

__all__ = [
    "MAX_SEARCH_LIMIT",
    "Search",
    "SqliteVectors",
    "VectorStore",
    "VectorizeVectors",
    "check_searchable",
    "value_text",
]

logger = logging.getLogger("dotdo.full.ai")

MAX_SEARCH_LIMIT = 100
REINDEX_BATCH = 100
"""Things embedded per provider call when a noun is indexed again (MAX_TEXTS)."""

GetThing = Callable[[str, str], "dict[str, Any] | None"]
"""(type, id) -> the live thing (ThingData), or None when it is gone or deleted."""
GetThings = Callable[["list[tuple[str, str]]"], "list[dict[str, Any] | None]"]
"""`GetThing` of many (type, id) at once, in order (`Things.get_many`: a few statements)."""
ListPage = Callable[[str, int, "str | None"], "tuple[list[dict[str, Any]], str | None]"]
"""(type, limit, cursor) -> a page of the live things of the type in the list's order, and
the cursor after its last thing (ADR 0048; None on the last page)."""


def check_searchable(searchable: Any, owner: str) -> dict[str, tuple[str, ...]]:
    """The `searchable` option checked: a mapping of type names to 1+ property names.
    TypeError naming `owner` (the class) otherwise."""
    if not isinstance(searchable, Mapping):
        raise TypeError(f"{owner}.searchable maps type names to property names")
    checked: dict[str, tuple[str, ...]] = {}
    for noun, fields in searchable.items():
        names = (fields,) if isinstance(fields, str) else tuple(fields)
        if (
            not isinstance(noun, str)
            or not names
            or not all(isinstance(name, str) and name for name in names)
        ):
            raise TypeError(f"{owner}.searchable[{noun!r}] names one or more properties")
        checked[noun] = names
    return checked


class VectorStore(Protocol):
    """Where one object's thing vectors live."""

    async def version(self, type_name: str, thing_id: str) -> int | None:
        """The thing version the stored vector was made from, or None."""
        ...

    async def put(self, type_name: str, thing_id: str, model: str, version: int, vector: list[float]) -> None:
        """Keep the unit `vector` of a thing (replacing any)."""
        ...

    async def remove(self, type_name: str, thing_id: str) -> None:
        """Forget a thing's vector (none is fine)."""
        ...

    async def nearest(
        self, type_name: str, model: str, vector: list[float], limit: int
    ) -> list[tuple[str, float]]:
        """The ids of the `limit` things of `type_name` whose vectors (of `model`) are nearest, best first."""
        ...


class SqliteVectors:
    """Vectors in the object's SQLite (`dotdo_ai_vectors`): float32 little-endian BLOBs,
    compared exactly (every vector of the noun and model, no index).

    A noun's vectors are read once, on its first search, and then kept in memory (4 bytes
    a dimension a thing: 10 MB for 10,000 things of 256 dimensions) and updated by every
    `put` and `remove`: reading and decoding the BLOBs is most of a cold search's time."""

    def __init__(self, sql: Sql, clock: Callable[[], int]) -> None:
        """`sql`: the object's (the `ai` component's table); `clock`: epoch ms."""
        self._sql = sql
        self._clock = clock
        self._loaded: dict[tuple[str, str], dict[str, array[float]]] = {}

    def _forget(self, type_name: str, thing_id: str) -> None:
        for (loaded_type, _), vectors in self._loaded.items():
            if loaded_type == type_name:
                vectors.pop(thing_id, None)

    async def version(self, type_name: str, thing_id: str) -> int | None:
        """See VectorStore."""
        row = self._sql.first(
            "SELECT version FROM dotdo_ai_vectors WHERE type = ? AND id = ?", type_name, thing_id
        )
        return None if row is None else int(row["version"])

    async def put(self, type_name: str, thing_id: str, model: str, version: int, vector: list[float]) -> None:
        """See VectorStore."""
        self._sql.run(
            "INSERT OR REPLACE INTO dotdo_ai_vectors (type, id, model, version, vector, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            type_name,
            thing_id,
            model,
            version,
            pack(vector),
            self._clock(),
        )
        self._forget(type_name, thing_id)
        loaded = self._loaded.get((type_name, model))
        if loaded is not None:
            loaded[thing_id] = array("f", vector)  # float32, as the BLOB holds it

    async def remove(self, type_name: str, thing_id: str) -> None:
        """See VectorStore."""
        self._sql.run("DELETE FROM dotdo_ai_vectors WHERE type = ? AND id = ?", type_name, thing_id)
        self._forget(type_name, thing_id)

    async def nearest(
        self, type_name: str, model: str, vector: list[float], limit: int
    ) -> list[tuple[str, float]]:
        """See VectorStore."""
        loaded = self._loaded.get((type_name, model))
        if loaded is None:
            rows = self._sql.exec(
                "SELECT id, vector FROM dotdo_ai_vectors WHERE type = ? AND model = ?", type_name, model
            )
            loaded = self._loaded[(type_name, model)] = {
                str(row["id"]): unpack(row["vector"]) for row in rows
            }
        return top_k(vector, loaded.items(), limit)


def _vector_id(type_name: str, thing_id: str) -> str:
    # Vectorize ids are at most 64 bytes; a thing's type and id may be longer.
    return hashlib.sha256(f"{type_name}/{thing_id}".encode()).hexdigest()


class VectorizeVectors:
    """Vectors in a Cloudflare Vectorize index (`binding`: the index's binding,
    https://developers.cloudflare.com/vectorize/reference/client-api/): `upsert`,
    `getByIds`, `deleteByIds` and `query` with a metadata filter on type and model (create
    metadata indexes on `type` and `model`). Approximate nearest neighbours, no exact
    scan; the index's dimensions and metric (cosine) are set when it is created."""

    def __init__(self, binding: Any) -> None:
        self._index = binding

    async def version(self, type_name: str, thing_id: str) -> int | None:
        """See VectorStore."""
        found = _to_py(await self._index.getByIds(_to_js([_vector_id(type_name, thing_id)])))
        for item in found or []:
            version = (item.get("metadata") or {}).get("version")
            if isinstance(version, int | float):
                return int(version)
        return None

    async def put(self, type_name: str, thing_id: str, model: str, version: int, vector: list[float]) -> None:
        """See VectorStore."""
        metadata = {"type": type_name, "id": thing_id, "model": model, "version": version}
        await self._index.upsert(
            _to_js([{"id": _vector_id(type_name, thing_id), "values": vector, "metadata": metadata}])
        )

    async def remove(self, type_name: str, thing_id: str) -> None:
        """See VectorStore."""
        await self._index.deleteByIds(_to_js([_vector_id(type_name, thing_id)]))

    async def nearest(
        self, type_name: str, model: str, vector: list[float], limit: int
    ) -> list[tuple[str, float]]:
        """See VectorStore."""
        options = {"topK": limit, "returnMetadata": "all", "filter": {"type": type_name, "model": model}}
        answer = _to_py(await self._index.query(_to_js(vector), _to_js(options)))
        matches = answer.get("matches", []) if isinstance(answer, Mapping) else []
        hits = []
        for match in matches:
            metadata = match.get("metadata") or {}
            if metadata.get("type") == type_name and isinstance(metadata.get("id"), str):
                hits.append((metadata["id"], float(match.get("score", 0.0))))
        return hits


def value_text(value: Any) -> str:
    """The text one property contributes to a thing's embedding ("" for none).

    A string, stripped; a number (int or float, not a bool) as Python writes it; a list
    (`["diabetes", "insulin"]`) its items' texts joined by ", ", in order; a nested object
    its values' texts joined the same way, in key order, keys left out. Empty strings,
    null, booleans and empty lists or objects give nothing. Lists and objects are walked
    to any depth (a stored value nests at most `dotdo.values.MAX_STORED_DEPTH` levels)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        items: Sequence[Any] = list(value.values())
    elif isinstance(value, list | tuple):
        items = value
    else:
        return ""
    return ", ".join(text for text in (value_text(item) for item in items) if text)


class Search:
    """The object's semantic search: `searchable` (type -> embedded properties, see
    `check_searchable`), `ai` for the embeddings, `store` for the vectors, `get_thing` and
    `list_things` to read things through the thing service (`get_things`, when given, reads
    a search's hits together; else each with `get_thing`); `log` takes its lines
    (`dotdo.full.ai`, or the object's `ObjectLog`)."""

    def __init__(
        self,
        searchable: Mapping[str, tuple[str, ...]],
        ai: AI,
        store: VectorStore,
        get_thing: GetThing,
        list_things: ListPage,
        get_things: GetThings | None = None,
        log: Log = logger,
    ) -> None:
        self._log = log
        self.searchable = dict(searchable)
        self._ai = ai
        self._store = store
        self._get = get_thing
        self._get_many = get_things or (lambda keys: [get_thing(*key) for key in keys])
        self._list = list_things
        self._pending: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._flushing: asyncio.Future[None] | None = None

    def text_of(self, type_name: str, thing: Mapping[str, Any]) -> str:
        """The text embedded for a thing: one line per searchable property that holds any
        text, in the order the class lists them ("" when none does). See `value_text`."""
        lines = [value_text(thing.get(name)) for name in self.searchable.get(type_name, ())]
        return "\n".join(line for line in lines if line)

    def _noun(self, type_name: str) -> tuple[str, ...]:
        fields = self.searchable.get(type_name)
        if fields is None:
            known = ", ".join(sorted(self.searchable)) or "none"
            raise NotFound(
                f"{type_name} is not searchable (searchable nouns: {known})", code="noun_not_searchable"
            )
        return fields

    async def on_event(self, event: Event) -> None:
        """Keep the vector of the thing an event of a searchable noun wrote: removed when it
        was deleted (soft or hard), made again when its version changed. The event's data is
        the thing as written (ThingData).

        Embedding is queued, not awaited: one task embeds what is queued, up to MAX_TEXTS
        things a provider call, so a batch write of 500 things costs a few calls rather than
        500 (and as little of the daily budget). `search` waits for the queue first, so a
        search sees every write this object answered before it."""
        type_name = event.noun
        data = event.data
        if type_name not in self.searchable or not isinstance(data, Mapping):
            return
        thing_id = data.get("$id")
        if not isinstance(thing_id, str) or data.get("$type") != type_name:
            return
        if event.type.endswith(".deleted") or data.get("$deleted_at") is not None:
            self._pending.pop((type_name, thing_id), None)
            await self._store.remove(type_name, thing_id)
            return
        version = data.get("$version")
        if isinstance(version, int) and await self._store.version(type_name, thing_id) == version:
            return
        self._pending[(type_name, thing_id)] = data
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.ensure_future(self._flush())

    async def settle(self) -> None:
        """Wait until the queued things are embedded (or failed: see the log)."""
        while self._flushing is not None and not self._flushing.done():
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        while self._pending:
            type_name = next(iter(self._pending))[0]
            keys = [key for key in self._pending if key[0] == type_name][:MAX_TEXTS]
            things = [self._pending.pop(key) for key in keys]
            if not await self._index_batch(things, type_name):
                continue
            for key in keys:  # deleted while its embedding was made: no vector for it
                if self._get(*key) is None and key not in self._pending:
                    await self._store.remove(*key)

    async def _index_batch(self, things: list[Mapping[str, Any]], type_name: str) -> bool:
        """Embed a queued batch, trying twice (a dropped connection is worth one more try);
        False when it failed: reindex_things makes those vectors later."""
        for attempt in (1, 2):
            try:
                await self._index(things, type_name)
                return True
            except Exception:
                if attempt == 2:
                    self._log.exception(
                        "embedding %d %s thing(s) failed; they stay unindexed", len(things), type_name
                    )
        return False

    async def _index(self, things: Sequence[Mapping[str, Any]], type_name: str) -> int:
        texts = [(thing, self.text_of(type_name, thing)) for thing in things]
        for thing, text in texts:
            if not text:
                await self._store.remove(type_name, str(thing["$id"]))
        with_text = [(thing, text) for thing, text in texts if text]
        if not with_text:
            return 0
        answer = await self._ai.embed_with_model([text for _, text in with_text], durable=False)
        for (thing, _), vector in zip(with_text, answer["vectors"], strict=True):
            version = thing.get("$version")
            await self._store.put(
                type_name,
                str(thing["$id"]),
                answer["model"],
                int(version) if isinstance(version, int) else 0,
                normalized(vector),
            )
        return len(with_text)

    async def reindex(self, type_name: str) -> int:
        """Embed every live thing of a searchable noun again (things written before the noun
        opted in, or while the provider was down); how many were embedded. 404
        `noun_not_searchable`. Things created during it are embedded once (by their events,
        and by the walk when it reaches them), and none is skipped for another's deletion."""
        self._noun(type_name)
        # By the list's cursor, not an offset: a thing created or deleted while a batch is
        # embedded (the provider call awaits) would shift every offset after it, skipping or
        # repeating things; a cursor resumes after the last thing embedded, whatever changed.
        done, cursor = 0, None
        while True:
            batch, cursor = self._list(type_name, REINDEX_BATCH, cursor)
            if batch:
                done += await self._index(batch, type_name)
            if cursor is None:
                return done

    async def search(self, type_name: str, text: str, limit: int = 10) -> list[dict[str, Any]]:
        """The live things of `type_name` nearest in meaning to `text`, best first:
        `[{"score": cosine in [-1, 1], "thing": ThingData}]`. 404 `noun_not_searchable`;
        400 `invalid_limit` outside 1-MAX_SEARCH_LIMIT, `invalid_ai_input` for empty text
        or a `text` that is not a string (a list would be embedded as many queries)."""
        self._noun(type_name)
        if not isinstance(text, str):
            raise BadRequest("text is the text to search for, a string", code="invalid_ai_input")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise BadRequest(f"limit is 1 to {MAX_SEARCH_LIMIT}", code="invalid_limit")
        await self.settle()
        answer = await self._ai.embed_with_model(text)
        query = normalized(answer["vectors"][0])
        # A few more than asked: a thing deleted since its vector was kept is skipped.
        found = await self._store.nearest(type_name, answer["model"], query, limit + 5)
        things = self._get_many([(type_name, thing_id) for thing_id, _ in found])  # read together
        hits = [(score, thing) for (_, score), thing in zip(found, things, strict=True) if thing is not None]
        return [{"score": round(score, 6), "thing": thing} for score, thing in hits[:limit]]
