"""The router's index: its routes as a tree of their pattern segments, so a request meets
every route its path matches and tries no other (ADR 0033)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dotdo.core.router import Route

__all__ = ["RouteTree"]


@dataclass
class RouteTree:
    """The routes whose fixed segments start with one sequence of pattern segments, as a
    tree: a request walks only the branches its path can take (a literal child by the
    path's segment, a dict lookup; each parameter child whose constraint the segment
    meets), so it meets every route that matches it and none that cannot. Each entry
    keeps the route's registration position for the tie-break (ADR 0011)."""

    literals: dict[str, RouteTree] = field(default_factory=dict)
    params: dict[str, tuple[str, re.Pattern[str] | None, RouteTree]] = field(default_factory=dict)
    """By the segment as written (`:id`, `:noun{[A-Z].*}`): its name, its constraint, the child."""
    ends: list[tuple[int, Route]] = field(default_factory=list)
    """Routes whose pattern ends here, with no `*`."""
    rests: list[tuple[int, Route]] = field(default_factory=list)
    """Routes whose pattern ends here with a `*`: they match any rest of the path."""

    def add(self, position: int, route: Route) -> None:
        """File `route` (registered `position`th) under its fixed segments."""
        node = self
        for index, segment in enumerate(route.segments):
            name = route.names[index]
            if name is None:
                node = node.literals.setdefault(segment, RouteTree())
                continue
            entry = node.params.get(segment)
            if entry is None:
                constraint = route.constraints[index] if route.constraints else None
                entry = node.params[segment] = (name, constraint, RouteTree())
            node = entry[2]
        (node.rests if route.wildcard else node.ends).append((position, route))

    def matches(self, parts: list[str], raw_parts: list[str]) -> list[tuple[int, Route, dict[str, str]]]:
        """(position, route, parameters) of every route under this node matching the decoded
        `parts` (`raw_parts`: the same segments as sent, for a `*`), as `Route.match_parts`
        matches one route; in no particular order."""
        found: list[tuple[int, Route, dict[str, str]]] = []
        self._collect(parts, raw_parts, 0, {}, found)
        return found

    def _collect(
        self,
        parts: list[str],
        raw_parts: list[str],
        depth: int,
        params: dict[str, str],
        found: list[tuple[int, Route, dict[str, str]]],
    ) -> None:
        for position, route in self.rests:
            found.append((position, route, {**params, "*": "/".join(raw_parts[depth:])}))
        if depth == len(parts):
            for position, route in self.ends:
                found.append((position, route, params))
            return
        part = parts[depth]
        child = self.literals.get(part)
        if child is not None:
            child._collect(parts, raw_parts, depth + 1, params, found)
        if not part:
            return  # a parameter never takes an empty segment
        for name, constraint, node in self.params.values():
            if constraint is None or constraint.fullmatch(part):
                node._collect(parts, raw_parts, depth + 1, {**params, name: part}, found)
