"""DOCore's key-value routes, each a thin face over the state store:

GET /state?prefix=&start=&end=&limit=&reverse=&cursor=   a page of entries (read)
GET /state/:key                                          one value (read)
PUT /state/:key                                          set it (write)
DELETE /state/:key                                       delete it (write)
POST /state/transaction                                  several at once, all or none (write)
"""

from __future__ import annotations

import json

from dotdo.core.http import HttpRequest, HttpResponse, decimal_integer, json_response, json_text_response
from dotdo.core.router import Router
from dotdo.core.state import ListPage, StateStore
from dotdo.errors import BadRequest, NotFound
from dotdo.remote.fields import check_fields
from dotdo.wire.codec import dumps
from dotdo.wire.verbatim import is_own_wire_form, json_string

__all__ = ["StateRoutes", "entry_text"]


def entry_text(key: str, text: str) -> str:
    """`codec.dumps({"key": key, "value": json.loads(text)})` for a value's stored JSON
    `text`: the stored text itself where it is its own wire form (`is_own_wire_form`,
    ADR 0032), so a read or write of a value neither parses nor walks it again."""
    if is_own_wire_form(text):
        return f'{{"key":{json_string(key)},"value":{text}}}'
    return dumps({"key": key, "value": json.loads(text)})


def _parse_bool(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise BadRequest(f"{name} is true or false", code="invalid_query")


def _parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return 100
    limit = decimal_integer(value)
    if limit is None:
        raise BadRequest("limit is an integer", code="invalid_limit")
    return limit


class StateRoutes:
    """The handlers of the routes above, over one object's `state` store."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def routes(self, router: Router) -> None:
        """Register every route in the module's table on `router`, with its scope."""
        router.get("/state", scope="read", query=("prefix", "start", "end", "limit", "reverse", "cursor"))(
            self._list
        )
        router.post("/state/transaction", scope="write", query=())(self._transaction)
        router.get("/state/:key", scope="read", query=())(self._get)
        router.put("/state/:key", scope="write", query=())(self._put)
        router.delete("/state/:key", scope="write", query=(), body=False)(self._delete)

    async def _list(self, request: HttpRequest) -> HttpResponse:
        page: ListPage = self._state.list(
            prefix=request.query("prefix"),
            start=request.query("start"),
            end=request.query("end"),
            limit=_parse_limit(request.query("limit")),
            reverse=_parse_bool(request.query("reverse"), "reverse"),
            cursor=request.query("cursor") or None,
        )
        return json_response(page.to_dict())

    async def _get(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        text = self._state.get_text(key)
        if text is None:
            raise NotFound(f"No state under key {key!r}")
        return json_text_response(entry_text(key, text))

    async def _put(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        text = self._state.put(key, request.json())
        return json_text_response(entry_text(key, text))

    async def _delete(self, request: HttpRequest) -> HttpResponse:
        # A missing key is a 404, as its GET is (docs/api.md, "A missing target"); RPC
        # `delete` answers False for it.
        key = request.params["key"]
        if not self._state.delete(key):
            raise NotFound(f"No state under key {key!r}")
        return json_response({"key": key, "deleted": True})

    async def _transaction(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if isinstance(body, dict):
            check_fields(body, ("operations",))
        operations = body.get("operations") if isinstance(body, dict) else None
        return json_response({"applied": self._state.transaction(operations)})
