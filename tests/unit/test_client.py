"""The Python client builds paths whose parameters each stay one segment."""

from __future__ import annotations

import asyncio
import json

import httpx

from dotdo.client import Client


def sent_paths(calls) -> list[str]:  # type: ignore[no-untyped-def]
    """The raw paths the client sends for `calls(client)`, answered by a fake server."""
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode("ascii").partition("?")[0])
        return httpx.Response(200, content=json.dumps({"items": []}).encode())

    async def run() -> None:
        client = Client("http://acme.localhost:8787")
        await client.aclose()
        client._http = httpx.AsyncClient(
            base_url="http://127.0.0.1:8787", transport=httpx.MockTransport(answer)
        )
        await calls(client)
        await client.aclose()

    asyncio.run(run())
    return paths


def test_thing_ids_and_verbs_are_percent_encoded_whole() -> None:
    async def calls(client: Client) -> None:
        await client.Customer("a/b").get()
        await client.Customer("a?b#c").delete()
        await client.Customer("café").related("owns/x")
        await client.noun("Cust/omer").list()

    assert sent_paths(calls) == [
        "/Customer/a%2Fb",
        "/Customer/a%3Fb%23c",
        "/Customer/caf%C3%A9/owns%2Fx",
        "/Cust%2Fomer",
    ]
