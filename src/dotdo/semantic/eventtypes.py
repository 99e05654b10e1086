"""Event types (`Noun.verb`), event patterns with `*`, and the event value."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from dotdo.errors import BadRequest
from dotdo.remote.names import TYPE_NAME, VERB
from dotdo.semantic.names import checked_name, reserved_verb_base
from dotdo.values import LONE_SURROGATE

__all__ = [
    "MAX_EVENT_REF_CHARS",
    "Event",
    "check_sent_event_type",
    "pattern_matches",
    "validate_event_ref",
    "validate_event_type",
    "validate_pattern",
]

_NOUN = TYPE_NAME.pattern
_VERB = VERB.pattern
_TYPE = re.compile(rf"({_NOUN})\.({_VERB})")
_PATTERN = re.compile(rf"({_NOUN}|\*)\.({_VERB}|\*)")

MAX_EVENT_REF_CHARS = 256
"""The most characters of a sent event's `subject` or `object`: a thing's id (128) or its
`Type/id` reference (64 + 1 + 128) with room to spare. Unbounded, a subject of megabytes
made the event's log row pass SQLite's 2 MB string (an internal error, not a 400)."""


@dataclass(frozen=True)
class Event:
    """One event: `id` a ULID, `type` `Noun.verb`, `data` JSON, `timestamp` epoch
    milliseconds, `subject` / `object` the ids of the things it is about (or None)."""

    id: str
    type: str
    data: Any
    timestamp: int
    subject: str | None = None
    object: str | None = None

    @property
    def noun(self) -> str:
        """The part of `type` before the dot: `Customer` of `Customer.created`."""
        return self.type.partition(".")[0]

    @property
    def verb(self) -> str:
        """The part of `type` after the dot: `created` of `Customer.created`."""
        return self.type.partition(".")[2]

    def to_dict(self) -> dict[str, Any]:
        """`{"id", "type", "data", "timestamp", "subject", "object"}`, as events are answered and pushed."""
        return {
            "id": self.id,
            "type": self.type,
            "data": self.data,
            "timestamp": self.timestamp,
            "subject": self.subject,
            "object": self.object,
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Event:
        """The Event of a `to_dict` shape (as the event log answers an event)."""
        return cls(
            str(item["id"]),
            str(item["type"]),
            item["data"],
            int(item["timestamp"]),
            item["subject"],
            item["object"],
        )


def validate_event_type(event_type: Any) -> str:
    """`event_type` itself when it is `Noun.verb` (each part at most 64 characters);
    else 400 `invalid_event_type`."""
    return checked_name(
        event_type, _TYPE, "event type", "use Noun.verb, e.g. 'Customer.signedUp'", "invalid_event_type"
    )


def check_sent_event_type(event_type: Any, reserved_nouns: Collection[str]) -> str:
    """`event_type` itself when a caller may send it (`send_event`, `POST /events`, every
    RPC surface): `Noun.verb` (else 400 `invalid_event_type`) of a noun not in
    `reserved_nouns` and with a verb that is no form of RESERVED_VERBS (`created`,
    `updated`, `deleting`, ...); else 400 `reserved_event_type`. A reserved noun's events
    are the framework's (DOFull's `Approval.*`: a decision that resumes a waiting run), and
    `<Noun>.created` and the like are the thing store's, each meaning a thing was written
    (handlers act on it, as-of reads rebuild it from them), as ADR 0044 rules for an
    action's and an edge's verb. The object's own `emit` is not checked."""
    noun, _, verb = validate_event_type(event_type).partition(".")
    if noun in reserved_nouns:
        raise BadRequest(
            f"{noun} events are raised by the framework only, never sent", code="reserved_event_type"
        )
    base = reserved_verb_base(verb)
    if base is not None:
        raise BadRequest(
            f"{event_type!r} names the thing store's own events ({base!r} in any form: a {noun} "
            "was written), never sent: write the thing, or send an event with another verb",
            code="reserved_event_type",
        )
    return str(event_type)


def validate_event_ref(value: Any, role: str) -> str | None:
    """`value` itself when it is None or a string of at most `MAX_EVENT_REF_CHARS`
    characters with no lone surrogate: a sent event's `subject` or `object` (`role`), the
    id or `Type/id` reference of a thing the event is about. Else 400 `invalid_subject` or
    `invalid_object`."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_EVENT_REF_CHARS or LONE_SURROGATE.search(value):
        if isinstance(value, str):
            shown = repr(value) if len(value) <= 64 else f"a string of {len(value)} characters"
        else:
            shown = type(value).__name__
        raise BadRequest(
            f"An event's {role} is a string of at most {MAX_EVENT_REF_CHARS} characters (a thing's id "
            f"or Type/id reference) with no lone surrogate, not {shown}",
            code=f"invalid_{role}",
        )
    return value


def validate_pattern(pattern: Any) -> str:
    """`Noun.verb` with `*` for either part, as stored (`*` alone becomes `*.*`); else 400
    `invalid_event_pattern`."""
    if pattern == "*":
        return "*.*"
    return checked_name(
        pattern,
        _PATTERN,
        "event pattern",
        "use Noun.verb with * for either part, e.g. 'Customer.*'",
        "invalid_event_pattern",
    )


def pattern_matches(pattern: str, event_type: str) -> bool:
    """Does a checked `pattern` (`Customer.*`, `*.created`, `*.*`) match `event_type`?"""
    noun, _, verb = pattern.partition(".")
    event_noun, _, event_verb = event_type.partition(".")
    return noun in ("*", event_noun) and verb in ("*", event_verb)
