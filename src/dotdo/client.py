"""A Python client for a dotdo object: RPC, pipelines, the REST nouns and event subscriptions.

    async with Client("https://acme.api.example.com", token=token) as client:
        await client.call("get", "greeting")
        summary = await client.pipeline().get_user("alice").get_orders().summarize()
        ada = await client.Customer.create({"name": "Ada"})
        await client.Customer(ada["$id"]).update({"plan": "pro"}, expected_version=ada["$version"])
        async for event in client.subscribe("Customer.*"):
            ...

Runs anywhere httpx and websockets do (`pip install dotdo[client]`); never inside a
Worker. Server errors are raised as `RpcError` with the server's `code`. A host
under `.localhost` (`acme.localhost:8787`) is reached on 127.0.0.1 with its name in
the Host header, as the local runtime expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
import websockets

from dotdo.wire.codec import decode, encode

__all__ = ["Client", "NounResource", "Pipeline", "RpcError", "ThingResource"]

_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")


class RpcError(Exception):
    """An error answered by the server: its stable `code`, message, HTTP status, failing step."""

    def __init__(self, code: str, message: str, status: int | None = None, step: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.step = step


def _raise_for(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise RpcError(
            str(error.get("code")), str(error.get("message")), response.status_code, error.get("step")
        )
    raise RpcError("http_error", f"HTTP {response.status_code}", response.status_code)


class Client:
    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self._host = parts.netloc
        connect_netloc = parts.netloc
        hostname = parts.hostname or ""
        if hostname.endswith(".localhost"):
            connect_netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        self._base = urlunsplit((parts.scheme, connect_netloc, parts.path, "", ""))
        self._token = token
        headers = {"host": self._host}
        if token:
            headers["x-capability"] = token
        self._http = httpx.AsyncClient(base_url=self._base, headers=headers, timeout=timeout)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- RPC ---------------------------------------------------------------

    async def call(self, method: str, *params: Any) -> Any:
        """Call an `@rpc` method of the object (`POST /rpc`)."""
        response = await self._http.post("/rpc", json={"method": method, "params": encode(list(params))})
        return decode(_raise_for(response)["result"])

    def pipeline(self, *target: str) -> Pipeline:
        """A chain of calls sent in one request when awaited; start at the object, or at
        a noun (`pipeline("Customer")`, `pipeline("Customer", id)`)."""
        return Pipeline(self, list(target), [])

    async def _run(self, target: list[str], steps: list[dict[str, Any]]) -> Any:
        body = {"pipeline": {"target": target, "pipeline": steps}}
        response = await self._http.post("/rpc/pipeline", json=body)
        return decode(_raise_for(response)["result"])

    # -- REST nouns -------------------------------------------------------------

    def __getattr__(self, name: str) -> NounResource:
        if _TYPE_NAME.fullmatch(name):
            return NounResource(self, name)
        raise AttributeError(name)

    def noun(self, type_name: str) -> NounResource:
        return NounResource(self, type_name)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return _raise_for(await self._http.request(method, path, **kwargs))

    # -- events ---------------------------------------------------------------

    async def subscribe(self, *patterns: str) -> AsyncIterator[dict[str, Any]]:
        """Events matching any of `patterns` (`Customer.*`, `*.created`), as they are sent."""
        scheme = "wss" if self._base.startswith("https") else "ws"
        query = f"?{urlencode({'token': self._token})}" if self._token else ""
        url = f"{scheme}://{self._host}/ws/rpc{query}"
        connect_to = urlsplit(self._base)
        options: dict[str, Any] = {}
        if connect_to.netloc != self._host:  # a .localhost tenant: the socket goes to loopback
            options = {"host": connect_to.hostname, "port": connect_to.port}
        async with websockets.connect(url, **options) as socket:
            for index, pattern in enumerate(patterns):
                await socket.send(json.dumps({"id": index, "method": "subscribe", "params": [pattern]}))
                answer = json.loads(await socket.recv())
                if "error" in answer:
                    raise RpcError(answer["error"]["code"], answer["error"]["message"])
            async for message in socket:
                payload = json.loads(message)
                if payload.get("method") == "event":
                    yield decode(payload["params"])


class Pipeline:
    """`client.pipeline().get_user("alice").get_orders()["total"]`, awaited as one request."""

    def __init__(self, client: Client, target: list[str], steps: list[dict[str, Any]]) -> None:
        self._client = client
        self._target = target
        self._steps = steps

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any) -> Pipeline:
            step = {"type": "method", "name": name, "args": encode(list(args))}
            return Pipeline(self._client, self._target, [*self._steps, step])

        return call

    def __getitem__(self, name: str | int) -> Pipeline:
        return Pipeline(self._client, self._target, [*self._steps, {"type": "property", "name": name}])

    def __await__(self) -> Any:
        return self._client._run(self._target, self._steps).__await__()


class NounResource:
    """The REST routes of one noun: `client.Customer`."""

    def __init__(self, client: Client, type_name: str) -> None:
        self._client = client
        self.type = type_name

    def __call__(self, thing_id: str) -> ThingResource:
        return ThingResource(self._client, self.type, thing_id)

    async def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._client._request("POST", _path(self.type), json=dict(data))
        return result

    async def create_many(self, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        result = await self._client._request("POST", _path(self.type), json=[dict(i) for i in items])
        items_out: list[dict[str, Any]] = result["items"]
        return items_out

    async def list(
        self,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        select: Sequence[str] | None = None,
        include_deleted: bool = False,
    ) -> dict[str, Any]:
        """`{"items", "total", "has_more"}`."""
        params: dict[str, str] = {}
        if where is not None:
            params["where"] = json.dumps(where)
        if order_by:
            params["order_by"] = order_by
        if limit is not None:
            params["limit"] = str(limit)
        if offset is not None:
            params["offset"] = str(offset)
        if select:
            params["select"] = ",".join(select)
        if include_deleted:
            params["include_deleted"] = "true"
        result: dict[str, Any] = await self._client._request("GET", _path(self.type), params=params)
        return result


class ThingResource:
    """The REST routes of one thing: `client.Customer("id")`."""

    def __init__(self, client: Client, type_name: str, thing_id: str) -> None:
        self._client = client
        self._path = _path(type_name, thing_id)

    async def get(self, include_deleted: bool = False) -> dict[str, Any]:
        params = {"include_deleted": "true"} if include_deleted else {}
        result: dict[str, Any] = await self._client._request("GET", self._path, params=params)
        return result

    async def update(self, patch: Mapping[str, Any], expected_version: int | None = None) -> dict[str, Any]:
        headers = {"if-match": f'"{expected_version}"'} if expected_version is not None else {}
        result: dict[str, Any] = await self._client._request(
            "PATCH", self._path, json=dict(patch), headers=headers
        )
        return result

    async def replace(self, data: Mapping[str, Any], expected_version: int | None = None) -> dict[str, Any]:
        headers = {"if-match": f'"{expected_version}"'} if expected_version is not None else {}
        result: dict[str, Any] = await self._client._request(
            "PUT", self._path, json=dict(data), headers=headers
        )
        return result

    async def delete(self, hard: bool = False) -> dict[str, Any]:
        params = {"hard": "true"} if hard else {}
        result: dict[str, Any] = await self._client._request("DELETE", self._path, params=params)
        return result

    async def restore(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._client._request("POST", f"{self._path}/restore")
        return result

    async def related(self, verb: str, direction: str = "out") -> list[dict[str, Any]]:
        result = await self._client._request(
            "GET", f"{self._path}{_path(verb)}", params={"direction": direction}
        )
        items: list[dict[str, Any]] = result["items"]
        return items


def _path(*segments: str) -> str:
    """A route path from parameter values, each percent-encoded whole (a `/` in a value
    stays inside its segment instead of addressing another route)."""
    return "".join("/" + quote(segment, safe="") for segment in segments)
