"""DOStorage's lines name their object, as DOCore's do: a replay of the write-ahead log and
an archive pass (`dotdo.storage`) said nothing of which tenant's object they came from."""

from __future__ import annotations

import asyncio
import logging
import sys
import types
from types import SimpleNamespace
from typing import Any

import pytest

from dotdo import DOStorage
from dotdo.storage.archive import ArchiveOptions
from dotdo.storage.options import TierOptions
from dotdo.testing.sqlite import Storage


class Shop(DOStorage):
    archive_binding = "ARCHIVE"
    storage_options = TierOptions(segment_events=10)
    archive_options = ArchiveOptions(segment_events=10)


class Bytes:
    """The `Uint8Array` R2Bucket hands the binding."""

    def __init__(self, size: int) -> None:
        self.data = b""

    def assign(self, body: bytes) -> None:
        self.data = bytes(body)


class Bucket:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(self, key: str, body: Bytes) -> None:
        self.objects[key] = body.data


def shop(storage: Storage) -> Shop:
    ctx = SimpleNamespace(storage=storage, id=SimpleNamespace(name="acme"), getWebSockets=lambda *tag: [])
    return Shop(ctx, SimpleNamespace(ENVIRONMENT="development", ARCHIVE=Bucket()))


def test_a_replay_and_an_archive_pass_name_the_object(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    js: Any = types.ModuleType("js")
    js.Uint8Array = SimpleNamespace(new=Bytes)
    monkeypatch.setitem(sys.modules, "js", js)
    storage = Storage()
    obj = shop(storage)

    async def writes() -> None:
        for number in range(12):
            obj.things.create("Customer", {"name": f"c{number}"})
        await obj.tiers.durable()

    asyncio.run(writes())
    with caplog.at_level(logging.DEBUG, logger="dotdo.storage"):
        again = shop(storage)  # evicted before a checkpoint: the log is replayed
        again.tiers.flush()
        assert again.archive is not None
        asyncio.run(again.archive.run(before=2**52))
    records = [r for r in caplog.records if r.name == "dotdo.storage"]
    assert [r.getMessage() for r in records] == [
        "[acme] replayed 12 log rows: 12 things to checkpoint",
        "[acme] archived 10 events in 1 segments",
    ]
    assert {getattr(r, "dotdo_object", None) for r in records} == {"acme"}
