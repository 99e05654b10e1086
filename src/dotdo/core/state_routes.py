"""DOCore's key-value routes, each a thin face over the state store:

GET /state?prefix=&start=&end=&limit=&reverse=&cursor=   a page of entries (read)
GET /state/:key                                          one value (read)
PUT /state/:key                                          set it (write)
DELETE /state/:key                                       delete it (write)
POST /state/transaction                                  several at once, all or none (write)
"""

from __future__ import annotations

from dotdo.core.http import HttpRequest, HttpResponse, decimal_integer, json_response
from dotdo.core.router import Router
from dotdo.core.state import ListPage, StateStore
from dotdo.errors import BadRequest, NotFound
from dotdo.remote.calls import check_fields

__all__ = ["StateRoutes"]

_MISSING = object()


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
        router.get("/state", scope="read")(self._list)
        router.post("/state/transaction", scope="write")(self._transaction)
        router.get("/state/:key", scope="read")(self._get)
        router.put("/state/:key", scope="write")(self._put)
        router.delete("/state/:key", scope="write")(self._delete)

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
        value = self._state.get(key, _MISSING)
        if value is _MISSING:
            raise NotFound(f"No state under key {key!r}")
        return json_response({"key": key, "value": value})

    async def _put(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        value = request.json()
        self._state.set(key, value)
        return json_response({"key": key, "value": value})

    async def _delete(self, request: HttpRequest) -> HttpResponse:
        key = request.params["key"]
        return json_response({"key": key, "deleted": self._state.delete(key)})

    async def _transaction(self, request: HttpRequest) -> HttpResponse:
        body = request.json()
        if isinstance(body, dict):
            check_fields(body, ("operations",))
        operations = body.get("operations") if isinstance(body, dict) else None
        return json_response({"applied": self._state.transaction(operations)})
