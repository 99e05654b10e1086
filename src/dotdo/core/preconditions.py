"""Conditional requests (RFC 9110 §13): entity tags, `If-Match` and `If-None-Match`.

Parses the two headers and evaluates them against the entity tag a resource has
now. The caller decides what "now" is and makes its write in the same
transaction as the check, so nothing can change between the two.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dotdo.core.http import HttpRequest
from dotdo.errors import BadRequest

__all__ = ["EntityTag", "Preconditions", "TagList", "Verdict", "parse_tag_list"]

# RFC 9110 §8.8.3: entity-tag = [ %s"W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
# A comma is an etagc, so a list is scanned tag by tag, never split on commas.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_OWS = " \t"


@dataclass(frozen=True)
class EntityTag:
    """An entity tag (RFC 9110 §8.8.3): `opaque` is the text between the quotes."""

    opaque: str
    weak: bool = False

    def __str__(self) -> str:
        return f'{"W/" if self.weak else ""}"{self.opaque}"'

    def strong_match(self, other: EntityTag) -> bool:
        """RFC 9110 §8.8.3.2 strong comparison: neither is weak and the opaque tags are equal."""
        return not self.weak and not other.weak and self.opaque == other.opaque

    def weak_match(self, other: EntityTag) -> bool:
        """RFC 9110 §8.8.3.2 weak comparison: the opaque tags are equal, weak or not."""
        return self.opaque == other.opaque


@dataclass(frozen=True)
class TagList:
    """A parsed `If-Match` / `If-None-Match` value: `*` (`any`) or one or more entity tags."""

    tags: tuple[EntityTag, ...] = ()
    any: bool = False


def parse_tag_list(value: str, header: str = "If-Match") -> TagList:
    """Parse `"*"` or a comma-separated list of entity tags (RFC 9110 §13.1.1, §13.1.2).

    Empty list elements are skipped (§5.6.1); `W/` is case-sensitive. Raises
    `BadRequest` (400 `invalid_precondition`) for anything else: no tags at all,
    an unquoted tag, `*` mixed with tags, text between tags.
    """
    text = value.strip(_OWS)
    if text == "*":
        return TagList(any=True)
    tags = _scan_tags(text)
    if not tags:
        raise BadRequest(
            f'{header} is "*" or a list of entity tags, e.g. "3.1767225600000" or '
            'W/"3.1767225600000", "4.1767225600000"',
            code="invalid_precondition",
        )
    return TagList(tuple(tags))


def _scan_tags(text: str) -> list[EntityTag] | None:
    """The entity tags of a `#entity-tag` list, or None where the text is not one."""
    tags: list[EntityTag] = []
    position = 0
    while position < len(text):
        if text[position] in "," + _OWS:
            position += 1
            continue
        match = _ENTITY_TAG.match(text, position)
        if match is None:
            return None
        tags.append(EntityTag(match.group(2), weak=match.group(1) is not None))
        position = match.end()
        while position < len(text) and text[position] in _OWS:
            position += 1
        if position < len(text) and text[position] != ",":
            return None
    return tags


class Verdict(enum.Enum):
    """What a request's preconditions say about performing it (RFC 9110 §13.2.2)."""

    PROCEED = "proceed"
    NOT_MODIFIED = "not_modified"
    """A GET or HEAD whose `If-None-Match` matched: answer 304 with the current ETag."""
    FAILED = "failed"
    """Answer 412 and perform nothing."""


@dataclass(frozen=True)
class Preconditions:
    """The entity-tag preconditions of one request; `None` where the header is absent.

    Date preconditions (`If-Unmodified-Since`, `If-Modified-Since`) are not
    evaluated: RFC 9110 §13.2.2 lets a server that has entity tags rely on them.
    """

    if_match: TagList | None = None
    if_none_match: TagList | None = None

    @classmethod
    def from_headers(cls, if_match: str | None, if_none_match: str | None) -> Preconditions:
        """From the raw header values (`None` when absent); 400 `invalid_precondition` if malformed."""
        return cls(
            None if if_match is None else parse_tag_list(if_match, "If-Match"),
            None if if_none_match is None else parse_tag_list(if_none_match, "If-None-Match"),
        )

    @classmethod
    def from_request(cls, request: HttpRequest) -> Preconditions:
        """The request's `If-Match` and `If-None-Match` headers, parsed."""
        return cls.from_headers(request.header("if-match"), request.header("if-none-match"))

    def __bool__(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def failing_header(self, current: EntityTag | None) -> str | None:
        """The header whose condition is false for `current` (`None`: no current
        representation), checked in RFC 9110 §13.2.2 order; `None` when all hold.

        `If-Match` (§13.1.1) is false when there is no current representation, or,
        for a list, when no listed tag matches `current` by strong comparison, so
        a weak tag never satisfies it. `If-None-Match` (§13.1.2) is false when
        there is one and the value is `*` or a listed tag matches by weak comparison.
        """
        if self.if_match is not None and (
            current is None
            or not (self.if_match.any or any(tag.strong_match(current) for tag in self.if_match.tags))
        ):
            return "If-Match"
        if (
            self.if_none_match is not None
            and current is not None
            and (self.if_none_match.any or any(tag.weak_match(current) for tag in self.if_none_match.tags))
        ):
            return "If-None-Match"
        return None

    def evaluate(self, current: EntityTag | None, *, safe: bool = False) -> Verdict:
        """PROCEED, or FAILED (412); a false `If-None-Match` on a `safe` method (GET,
        HEAD) is NOT_MODIFIED (304) instead (RFC 9110 §13.1.2)."""
        header = self.failing_header(current)
        if header is None:
            return Verdict.PROCEED
        if header == "If-None-Match" and safe:
            return Verdict.NOT_MODIFIED
        return Verdict.FAILED
