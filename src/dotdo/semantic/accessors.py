"""Noun accessors: `self.Customer()` for the type, `self.Customer("id")` for one thing.

Their methods are the thing operations of every surface: remote callers reach the
very same methods (pipelines, Cap'n Web, the Python client), and the flat RPC
methods and HTTP routes of DOSemantic call them, so an operation answers the same
value everywhere (docs/api.md, "One operation, one answer").
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, overload

from dotdo.errors import NotFound
from dotdo.remote.marks import rpc
from dotdo.semantic.graph import Hop, Ref, Relationships
from dotdo.semantic.names import validate_type_name
from dotdo.semantic.query import OrderBy, ThingQuery
from dotdo.semantic.things import Things, validate_id
from dotdo.wire.codec import UNCARRIED_ANSWER, uncarried_answer

__all__ = ["QUERY_OPTIONS", "InstanceAccessor", "NounAccessor", "NounFactory"]

Where = Mapping[str, Any] | None


Remote = Callable[[str, str], Any]
"""(type, id) -> a Workers RPC stub of the object that owns that thing."""

QUERY_OPTIONS = ("where", "order_by", "limit", "offset", "select", "include_deleted", "with_total", "cursor")
"""What a remote caller may pass to a query as one options object, as JavaScript
clients write it: `list({"where": ..., "limit": 20})`."""


class NounAccessor:
    """Operations on every thing of one type (`type_name`, checked: 400 `invalid_type`);
    remote callers (pipelines, Cap'n Web) may call the `@rpc` ones.

    `things` and `relationships` are the object's services; `remote` (type, id) -> the
    stub of the object owning a thing, for `InstanceAccessor`'s cross-object calls.
    """

    rpc_call: ClassVar[str] = "_remote_call"
    """What a remote caller calling the accessor itself runs: `api.Customer("c-1")`."""

    rpc_operations: ClassVar[Mapping[str, str]] = {
        "create": "create_thing",
        "create_many": "create_things",
        "upsert": "upsert_thing",
        "list": "list_things",
        "page": "page_things",
        "count": "count_things",
        "find_first": "find_first_thing",
    }
    """Each `@rpc` method's one name, the flat RPC method it is (docs/api.md, "One
    operation, one answer"): what a token's `methods` caveat lists to grant it, on every
    surface (`remote.targets.resolve_operation`)."""

    def __init__(
        self, things: Things, relationships: Relationships, type_name: str, remote: Remote | None = None
    ) -> None:
        self.type = validate_type_name(type_name)
        self._things = things
        self._relationships = relationships
        self._remote = remote

    def __repr__(self) -> str:
        return f"NounAccessor({self.type!r})"

    def __call__(self, thing_id: str) -> InstanceAccessor:
        return InstanceAccessor(self._things, self._relationships, self.type, thing_id, self._remote)

    def _remote_call(self, thing_id: str | None = None) -> NounAccessor | InstanceAccessor:
        """`Customer("c-1")` from a remote caller: one thing, its id checked (400 `invalid_id`)
        before any step runs; `Customer()` is the accessor itself, as `self.Customer()` is."""
        return self if thing_id is None else self(validate_id(thing_id))

    @rpc
    def create(self, data: Mapping[str, Any] | None = None, /, **properties: Any) -> dict[str, Any]:
        """Create a thing from `data` and/or keyword properties; `$id` may be given. The new
        thing (ThingData); 409 `thing_exists` when its `$id` is taken, 400 `invalid_data`
        (or `unknown_field`) for properties that cannot be stored, 413 `thing_too_large`
        past 1 MiB of JSON."""
        return self._things.create(self.type, {**(data or {}), **properties})

    @rpc
    def create_many(self, items: Sequence[Mapping[str, Any]]) -> builtins.list[dict[str, Any]]:
        """Create up to 500 things in one transaction, all or none: the new things in
        order. 400 `batch_too_large` past 500; any one's error as for `create`."""
        return self._things.create_many(self.type, items)

    @rpc
    def upsert(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Create the thing `data["$id"]` names, or merge `data` into it (RFC 7386). 400
        `invalid_data` without `$id`; 409 `type_mismatch` when the id is another type's,
        `thing_deleted` when it is soft-deleted."""
        return self._things.upsert(self.type, data)

    @rpc(scope="read", options=QUERY_OPTIONS)
    def list(
        self,
        where: Where = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        cursor: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """The matching things, a list (`page` adds `total`, `has_more` and `cursor`), after
        `cursor` when given (a page's `cursor` of this query)."""
        page = self.page(
            where, order_by, limit, offset, select, include_deleted, with_total=False, cursor=cursor
        )
        items: builtins.list[dict[str, Any]] = page["items"]
        return items

    @rpc(scope="read", options=QUERY_OPTIONS)
    def page(
        self,
        where: Where = None,
        order_by: OrderBy = None,
        limit: int | None = None,
        offset: int | None = None,
        select: str | Sequence[str] | None = None,
        include_deleted: bool = False,
        with_total: bool = False,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """`{"items": [...], "total": n, "has_more": bool, "cursor": str | None}`, as `GET
        /:Noun` answers: `total` None unless the first page reaches the end (it counts
        itself) or `with_total=True` counts every match (`?total=exact`). `cursor` (opaque
        text, None on the last page) passed back with the same `where`, `order_by` and
        `include_deleted` gives the page after this one.
        400 `invalid_where` (and the other query codes) for a query that cannot run,
        `invalid_cursor` for a cursor of another list, `invalid_query` for a cursor with an
        `offset`."""
        query = ThingQuery.build(where, order_by, limit, offset, select, include_deleted, with_total, cursor)
        return self._things.list(self.type, query)

    @rpc(scope="read", options=QUERY_OPTIONS)
    def count(self, where: Where = None, include_deleted: bool = False) -> int:
        """How many things match, an integer."""
        return self._things.count(self.type, ThingQuery.build(where, include_deleted=include_deleted))

    @rpc(scope="read", options=QUERY_OPTIONS)
    def find_first(
        self, where: Where = None, order_by: OrderBy = None, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """The first match in `order_by` order, or None when nothing matches."""
        return self._things.find_first(
            self.type, ThingQuery.build(where, order_by, include_deleted=include_deleted)
        )


class InstanceAccessor:
    """Operations on one thing, named by type and id; remote callers (pipelines, Cap'n
    Web) may call the `@rpc` ones.

    With a `remote` (the workflow layer gives one), any other public name is a
    method of the object that owns the thing, called over Workers RPC:
    `await self.Customer("cust-1").notify("hi")`.

    `type_name` is checked (400 `invalid_type`); `thing_id` when an operation uses
    it (400 `invalid_id`). `things` and `relationships` are the object's services.
    """

    def __init__(
        self,
        things: Things,
        relationships: Relationships,
        type_name: str,
        thing_id: str,
        remote: Remote | None = None,
    ) -> None:
        self.type = validate_type_name(type_name)
        self.id = thing_id
        self._things = things
        self._relationships = relationships
        self._remote = remote

    rpc_operations: ClassVar[Mapping[str, str]] = {
        "get": "get_thing",
        "update": "update_thing",
        "replace": "replace_thing",
        "delete": "delete_thing",
        "soft_delete": "delete_thing",
        "restore": "restore_thing",
        "relate": "relate",
        "unrelate": "unrelate",
        "related": "related",
        "related_page": "related_page",
    }
    """Each `@rpc` method's one name, the flat RPC method it is (as `NounAccessor`'s)."""

    def __getattr__(self, name: str) -> Any:
        remote = self.__dict__.get("_remote")
        if remote is None or name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        method = getattr(remote(self.type, self.id), name)
        if not callable(method):
            return method

        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = method(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result
            except Exception as error:
                # The runtime's refusal of a method the object's class does not offer reads
                # as a bare JsException, and the SDK's of an answer it cannot convert as an
                # AttributeError of its own: say what the call was, and what to change.
                if uncarried_answer(error):
                    raise TypeError(
                        f"self.{self.type}({self.id!r}).{name}(...): {UNCARRIED_ANSWER}"
                    ) from error
                if "does not implement the method" not in str(error):
                    raise
                raise AttributeError(self._no_remote_method(name)) from error

        return call

    def _no_remote_method(self, name: str) -> str:
        message = (
            f"self.{self.type}({self.id!r}).{name}(...) calls the object that owns that thing "
            f"(Workers RPC), and its class has no @rpc method {name!r}"
        )
        if name in NounAccessor.rpc_operations:
            message += f"; {name}() is the noun's: self.{self.type}().{name}(...)"
        return message

    def __repr__(self) -> str:
        return f"InstanceAccessor({self.type!r}, {self.id!r})"

    @property
    def ref(self) -> Ref:
        """This thing as an edge's end; 400 `invalid_id` for an id no thing can have."""
        return Ref(self.type, validate_id(self.id))

    @rpc(scope="read")
    def get(self, include_deleted: bool = False) -> dict[str, Any] | None:
        """The thing, or None when there is none (a read reports absence as a value;
        only the HTTP route answers it 404 `thing_not_found`)."""
        return self._things.get(self.type, self.id, include_deleted)

    @rpc
    def update(self, patch: Mapping[str, Any], expected_version: int | None = None) -> dict[str, Any]:
        """Merge `patch` into the thing (RFC 7386: null removes a property); the thing as
        written. 404 `thing_not_found`; 409 `version_conflict` when `expected_version` (or
        the patch's `$version`) is not the stored one."""
        return self._things.update(self.type, self.id, patch, expected_version)

    @rpc
    def replace(self, data: Mapping[str, Any], expected_version: int | None = None) -> dict[str, Any]:
        """Replace all of the thing's properties with `data`; errors as for `update`, and 400
        `id_mismatch` when `data["$id"]` names another thing."""
        return self._things.replace(self.type, self.id, data, expected_version)

    @rpc
    def delete(self, hard: bool = False, expected_version: int | None = None) -> dict[str, Any]:
        """Soft delete (the default, as `DELETE /:Noun/:id`): the thing with `$deleted_at`,
        restorable, idempotent. `hard=True` removes it for good (soft-deleted ones too) and
        answers `{"$id", "$type", "deleted": True}`. Either way a thing that is not there
        is 404 `thing_not_found`, as for every other write; an `expected_version` other
        than the stored one is 409 `version_conflict` and nothing is deleted."""
        if not hard:
            return self._things.soft_delete(self.type, self.id, expected_version)
        if not self._things.delete(self.type, self.id, expected_version):
            raise NotFound(f"No {self.type} with id {self.id!r}", code="thing_not_found")
        return {"$id": self.id, "$type": self.type, "deleted": True}

    @rpc
    def soft_delete(self, expected_version: int | None = None) -> dict[str, Any]:
        """`delete()`: the thing with `$deleted_at`."""
        return self._things.soft_delete(self.type, self.id, expected_version)

    @rpc
    def restore(self, expected_version: int | None = None) -> dict[str, Any]:
        """Bring back a soft-deleted thing (one not deleted comes back as it is); 404
        `thing_not_found`, 409 `version_conflict`."""
        return self._things.restore(self.type, self.id, expected_version)

    @rpc
    def relate(self, verb: str, target: Any, data: Any = None) -> bool:
        """Add the edge this -verb-> target (a thing, a `{"$type", "$id"}` or `"Type/id"`);
        False when it was there already. 400 `invalid_ref` / `invalid_verb` /
        `invalid_data`, 413 `value_too_large` past 1 MiB of `data`."""
        return self._relationships.relate(self.ref, verb, target, data)

    @rpc
    def unrelate(self, verb: str, target: Any) -> bool:
        """Remove the edge this -verb-> target; False when there was none."""
        return self._relationships.unrelate(self.ref, verb, target)

    @rpc(scope="read")
    def related(
        self, verb: str, direction: str = "out", type_name: str | None = None, limit: int = 100
    ) -> builtins.list[Ref]:
        """The things one `verb` edge away: targets (`direction="out"`) or sources (`"in"`),
        of `type_name` only when given, oldest edge first, at most `limit` (1-1000, else 400
        `invalid_limit`): the first page (`related_page` for the next)."""
        return self._relationships.related(self.ref, verb, direction, type_name, limit)

    @rpc(scope="read")
    def related_page(
        self,
        verb: str,
        direction: str = "out",
        type_name: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        with_total: bool = False,
    ) -> dict[str, Any]:
        """`related` a page at a time: `{"items": [Ref], "total", "has_more", "cursor"}`; pass
        `cursor` back for the next page (None on the last). `total` counts every edge with
        `with_total=True`, else is None unless this first page holds them all. `related`'s
        errors, and 400 `invalid_cursor`."""
        return self._relationships.page(self.ref, verb, direction, type_name, limit, cursor, with_total)

    def traverse(self, hops: Sequence[Hop | Mapping[str, Any]], limit: int = 100) -> builtins.list[Ref]:
        """Follow 1-5 `hops` (each a Hop or its JSON form, `Hop.from_json`) breadth-first from
        this thing; each hop's frontier is capped at `limit` things. 400 `invalid_traversal`."""
        return self._relationships.traverse(self.ref, hops, limit)


class NounFactory:
    """What `self.Customer` is: call it with no id for the type, with an id for one thing.
    The parameters (`things`, `relationships`, `type_name`, `remote`) are `NounAccessor`'s;
    `accessor` builds the type's accessor from them (a layer above gives a subclass with
    more operations: DOFull's `search`)."""

    def __init__(
        self,
        things: Things,
        relationships: Relationships,
        type_name: str,
        remote: Remote | None = None,
        accessor: Callable[[Things, Relationships, str, Remote | None], NounAccessor] = NounAccessor,
    ) -> None:
        self._accessor = accessor(things, relationships, type_name, remote)

    @overload
    def __call__(self) -> NounAccessor: ...
    @overload
    def __call__(self, thing_id: str) -> InstanceAccessor: ...
    def __call__(self, thing_id: str | None = None) -> NounAccessor | InstanceAccessor:
        return self._accessor if thing_id is None else self._accessor(thing_id)
