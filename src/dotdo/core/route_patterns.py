"""Route patterns as the router reads them: `/items/:id{[0-9]+}/*` split into its segments,
whether it ends in a wildcard, each segment's regex constraint, and how specific it is
(ADR 0011). Cached per process: every object of a class registers the same patterns on
every wake, and what a pattern means depends on the pattern alone."""

from __future__ import annotations

import functools
import re

__all__ = ["parse_pattern", "pattern_shape"]

_PARAM = re.compile(r"^:([A-Za-z_][A-Za-z0-9_]*)(?:\{([^/]+)\})?$")
# Another framework's parameter in a literal segment: FastAPI's and Starlette's `{name}` or
# `{name:convertor}`, Flask's and Django's `<name>` or `<convertor:name>`. Taken as text, it would
# match only a path holding those very characters (`/agents/%7Bagent_id%7D`), never the
# paths it was meant for, with nothing said.
_FOREIGN_PARAM = re.compile(
    r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}|<(?:[A-Za-z_][A-Za-z0-9_]*:)?([A-Za-z_][A-Za-z0-9_]*)>"
)
# A segment's rank in a route's specificity: a literal beats a constrained parameter,
# which beats a plain one; a trailing wildcard ranks below them all.
_LITERAL, _CONSTRAINED, _PLAIN, _WILDCARD = 3, 2, 1, 0


@functools.lru_cache(maxsize=1024)
def _param_name(segment: str) -> str | None:
    param = _PARAM.match(segment)
    return param.group(1) if param else None


@functools.lru_cache(maxsize=1024)
def _rank(segment: str) -> int:
    param = _PARAM.match(segment)
    if param is None:
        return _LITERAL
    return _CONSTRAINED if param.group(2) else _PLAIN


@functools.lru_cache(maxsize=1024)
def pattern_shape(
    segments: tuple[str, ...], wildcard: bool
) -> tuple[tuple[int, ...], tuple[str | None, ...]]:
    """A pattern's `specificity` (each segment's rank, then 0 for a trailing wildcard or 1)
    and each segment's parameter name (None for a literal), as `Route` keeps them: one
    tuple of each a pattern per process."""
    ranks = (*(_rank(segment) for segment in segments), _WILDCARD if wildcard else 1)
    return ranks, tuple(_param_name(segment) for segment in segments)


def _split(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


@functools.lru_cache(maxsize=1024)
def parse_pattern(pattern: str) -> tuple[tuple[str, ...], bool, tuple[re.Pattern[str] | None, ...]]:
    """A pattern's segments, whether it ends in a wildcard and each segment's regex constraint.

    ValueError when malformed, or when a literal segment holds another framework's parameter
    (`{id}`, `<id>`: dotdo's is `:id`). Cached: every object of a class registers the same patterns
    on every wake, and the answer depends on the pattern alone."""
    if not pattern.startswith("/"):
        raise ValueError(f"Route patterns start with '/': {pattern!r}")
    segments = _split(pattern)
    wildcard = bool(segments) and segments[-1] == "*"
    if wildcard:
        segments = segments[:-1]
    for segment in segments:
        if segment == "*" or (segment.startswith(":") and not _PARAM.match(segment)):
            raise ValueError(f"Invalid route pattern {pattern!r}: bad segment {segment!r}")
        if not segment.startswith(":") and (foreign := _FOREIGN_PARAM.search(segment)):
            name = foreign.group(1) or foreign.group(2)
            raise ValueError(
                f"Invalid route pattern {pattern!r}: {segment!r} would match only that text; "
                f"route parameters are written ':{name}' (one whole segment, "
                f"':{name}{{regex}}' to constrain it)"
            )
    constraints: list[re.Pattern[str] | None] = []
    for segment in segments:
        param = _PARAM.match(segment)
        try:
            constraints.append(re.compile(param.group(2)) if param and param.group(2) else None)
        except re.error as exc:
            raise ValueError(f"Invalid route pattern {pattern!r}: {exc}") from exc
    return tuple(segments), wildcard, tuple(constraints)
