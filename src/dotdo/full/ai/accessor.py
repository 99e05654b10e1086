"""`self.Customer().search(text, limit=)`: the noun accessor of DOFull, with search."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar

from dotdo.full.ai.search import Search
from dotdo.remote.marks import rpc
from dotdo.semantic.accessors import NounAccessor, Remote
from dotdo.semantic.graph import Relationships
from dotdo.semantic.things import Things

__all__ = ["SearchableNouns"]


class SearchableNouns(NounAccessor):
    """NounAccessor plus `search` over the object's semantic search (`search`)."""

    rpc_operations: ClassVar[Mapping[str, str]] = {**NounAccessor.rpc_operations, "search": "search_things"}
    """NounAccessor's, and `search`, which is `search_things`."""

    def __init__(
        self,
        things: Things,
        relationships: Relationships,
        type_name: str,
        remote: Remote | None,
        search: Search,
    ) -> None:
        """NounAccessor's parameters, and the object's `search`."""
        super().__init__(things, relationships, type_name, remote)
        self._search = search

    @rpc(scope="read")
    async def search(self, text: str, limit: int = 10) -> builtins.list[dict[str, Any]]:
        """The things of this type nearest in meaning to `text`, best first: `[{"score",
        "thing"}]` (cosine similarity in [-1, 1]; at most `limit`, 1-100). 404
        `noun_not_searchable` unless the class lists the noun in `searchable`."""
        return await self._search.search(self.type, text, limit)
