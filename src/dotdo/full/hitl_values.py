"""Human in the loop's values: the arguments of `wait_for_approval` and `wait_for_event`
checked, the field match of a wait for an event, and an approval as it is answered."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dotdo.core.state import MAX_VALUE_BYTES
from dotdo.semantic.eventtypes import validate_pattern
from dotdo.types import Row
from dotdo.workflows.host import encode_value
from dotdo.workflows.timing import MAX_DELAY_SECONDS

__all__ = [
    "DECIDED",
    "DECISIONS",
    "MAX_COMMENT_LENGTH",
    "MAX_LIST",
    "STATUSES",
    "ApprovalRequest",
    "EventWait",
    "decision_value",
    "fields_match",
    "overdue",
    "public",
    "read_view",
]

DECISIONS = {"approve": "approved", "reject": "rejected"}
"""A decision as sent, and the approval's status after it."""
DECIDED = {"approved": "approve", "rejected": "reject", "expired": "expired"}
"""An approval's status after a decision or a timeout, and the step's `decision`."""
STATUSES = ("pending", "approved", "rejected", "expired")
"""An approval's statuses."""
MAX_NAME_LENGTH = 200
MAX_COMMENT_LENGTH = 4000
MAX_APPROVERS = 100
MAX_LIST = 1000


def _timeout_ms(timeout: float | timedelta | None) -> int | None:
    if timeout is None:
        return None
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= MAX_DELAY_SECONDS
    ):
        raise ValueError(f"timeout is a number of seconds above 0 and at most {MAX_DELAY_SECONDS}")
    return max(1, int(seconds * 1000))


def _people(value: Sequence[str] | None, what: str) -> builtins.list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{what} is a list of token subjects, e.g. ['alice']")
    people = builtins.list(value)
    if not 1 <= len(people) <= MAX_APPROVERS or not all(isinstance(p, str) and p for p in people):
        raise ValueError(f"{what} is 1 to {MAX_APPROVERS} non-empty token subjects")
    return people


@dataclass(frozen=True)
class ApprovalRequest:
    """A checked `wait_for_approval` call: `payload` as stored JSON text, `timeout_ms`
    None for no timeout; `escalate_to` needs a timeout (the escalation happens then)."""

    name: str
    payload: str
    approvers: tuple[str, ...] | None
    timeout_ms: int | None
    escalate_to: tuple[str, ...] | None

    @classmethod
    def of(
        cls,
        name: str,
        payload: Any,
        approvers: Sequence[str] | None,
        timeout: float | timedelta | None,
        escalate_to: Sequence[str] | None,
    ) -> ApprovalRequest:
        """Check the call's arguments: ValueError / TypeError for a name that is not 1 to
        200 characters, approvers that are not a list of subjects, a timeout that is not
        positive seconds, or `escalate_to` without a timeout; BadRequest `invalid_data`
        for a payload that is not JSON (or past MAX_VALUE_BYTES: 413 `value_too_large`)."""
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"an approval's name is 1 to {MAX_NAME_LENGTH} characters")
        people = _people(approvers, "approvers")
        escalation = _people(escalate_to, "escalate_to")
        timeout_ms = _timeout_ms(timeout)
        if escalation is not None and timeout_ms is None:
            raise ValueError("escalate_to needs a timeout: the approval escalates when it runs out")
        return cls(
            name,
            encode_value(payload, "an approval's payload", MAX_VALUE_BYTES),
            None if people is None else tuple(people),
            timeout_ms,
            None if escalation is None else tuple(escalation),
        )


@dataclass(frozen=True)
class EventWait:
    """A checked `wait_for_event` call: `pattern` as stored, `match` as JSON text or None."""

    pattern: str
    match: str | None
    timeout_ms: int | None

    @classmethod
    def of(
        cls, event_type: str, match: Mapping[str, Any] | None, timeout: float | timedelta | None
    ) -> EventWait:
        """Check the call's arguments: 400 `invalid_event_pattern` for a bad pattern,
        TypeError for a `match` that is not a mapping of field paths to JSON values,
        ValueError for a timeout that is not positive seconds."""
        pattern = validate_pattern(event_type)
        if match is not None and (
            not isinstance(match, Mapping) or not all(isinstance(key, str) and key for key in match)
        ):
            raise TypeError("match maps field paths of the event's data ('order.id') to values")
        encoded = None if match is None else encode_value(dict(match), "match", MAX_VALUE_BYTES)
        return cls(pattern, encoded, _timeout_ms(timeout))


def fields_match(match: Mapping[str, Any] | None, data: Any) -> bool:
    """Does `data` (an event's data) hold every value of `match`? A key is a path of
    fields joined by dots (`order.id` is `data["order"]["id"]`); values compare as JSON
    does (1 equals 1.0, True is no number). An empty or None match matches everything."""
    for path, expected in (match or {}).items():
        value: Any = data
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return False
            value = value[part]
        if isinstance(value, bool) != isinstance(expected, bool) or value != expected:
            return False
    return True


def decision_value(row: Row) -> Any:
    """The JSON value an approval's decision gave (None: none, or not decided yet)."""
    return None if row["value"] is None else json.loads(str(row["value"]))


def overdue(row: Row, now: int) -> bool:
    """Whether `row` is a pending approval whose time ran out by `now` (epoch ms)."""
    return row["status"] == "pending" and row["expires_at"] is not None and int(row["expires_at"]) <= now


def public(row: Row) -> dict[str, Any]:
    """An approval as answered and emitted: `{"id", "name", "payload", "status",
    "approvers", "escalate_to", "run_id", "step", "requested_at", "expires_at",
    "decided_by", "decided_at", "comment", "value", "escalated_from", "escalated_to"}` (times
    epoch ms; `approvers` / `escalate_to` lists of token subjects or None; `value` the
    decision's JSON value, None when it gave none)."""
    return {
        "id": row["id"],
        "name": row["name"],
        "payload": json.loads(str(row["payload"])),
        "status": row["status"],
        "approvers": None if row["approvers"] is None else json.loads(str(row["approvers"])),
        "escalate_to": None if row["escalate_to"] is None else json.loads(str(row["escalate_to"])),
        "run_id": row["run_id"],
        "step": row["step"],
        "requested_at": int(row["requested_at"]),
        "expires_at": None if row["expires_at"] is None else int(row["expires_at"]),
        "decided_by": row["decided_by"],
        "decided_at": None if row["decided_at"] is None else int(row["decided_at"]),
        "comment": row["comment"],
        "value": decision_value(row),
        "escalated_from": row["escalated_from"],
        "escalated_to": row["escalated_to"],
    }


def read_view(row: Row, now: int) -> dict[str, Any]:
    """An approval as a read answers it: `public(row)` and `overdue`, True for a pending
    approval whose time ran out by `now`, answered as the `expired` a decision finds (409),
    though its timer has not recorded it yet (`decided_at`, `escalated_to`, events, the
    run's wake come then: ADR 0058)."""
    answer, late = public(row), overdue(row, now)
    return {**answer, "status": "expired" if late else answer["status"], "overdue": late}
