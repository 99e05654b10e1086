"""The value rules every layer shares: which integers SQLite holds exactly, and the one
JSON text of a stored value (thing data, state, event and workflow data).

SQLite's INTEGER is a signed 64-bit integer, and its JSON functions (`json_extract`,
`json_each`) read an integral JSON number as an INTEGER within that range and as a
rounded REAL beyond it (https://sqlite.org/json1.html, "JSON numbers"). So a stored
integer is exact only within -2^63 .. 2^63-1, and anything outside is refused with a
400 that names the range rather than stored to come back different.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from dotdo.errors import BadRequest

__all__ = [
    "ACTION_EVENT_DEPTH",
    "APPROVAL_DEPTH",
    "APPROVAL_EVENT_DEPTH",
    "CASCADE_DEPTH",
    "CASCADE_STEP_DEPTH",
    "EVENT_DEPTH",
    "FANOUT_DEPTH",
    "INT64_MAX",
    "INT64_MIN",
    "INT64_RANGE",
    "LONE_SURROGATE",
    "MAX_SAFE_INTEGER",
    "MAX_STORED_DEPTH",
    "PAGE_DEPTH",
    "RESULT_DEPTH",
    "WAIT_STEP_DEPTH",
    "WIRE_DEPTH",
    "Record",
    "around",
    "compact_json",
    "depth_of",
    "error_fault",
    "int64_error",
    "json_fault",
    "lowered_headers",
    "one_header",
    "stored_json",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT64_RANGE = "integers are limited to 64 bits (-9223372036854775808 to 9223372036854775807)"
"""The message every refusal of an out-of-range integer carries, whatever the surface."""
MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer a JavaScript number holds exactly (ECMA-262, Number.MAX_SAFE_INTEGER)."""
MAX_STORED_DEPTH = 32
"""How deep stored JSON may nest (as a thing's properties): well below the wire's 64 levels,
so whatever is stored can be sent inside any answer's envelope. A value's depth is the number
of arrays and objects on its deepest path (`1` is 0 levels, `[]` and `{"a": 1}` 1, `[[1]]`
2), counted from the value the caller hands in (a state value, event data, a thing's
properties object): every nesting bound of docs/api.md counts this way."""


def around(levels: int, inner: int = MAX_STORED_DEPTH) -> int:
    """The nesting bound of a record the framework builds: the `levels` of its own on the
    path down to the values it carries, plus `inner`, their bound (MAX_STORED_DEPTH for a
    caller's value, another record's bound for a record it carries). The one rule every
    record below follows, so a record admits whatever its carried values' bounds admitted,
    and nothing deeper (ADR 0056)."""
    return inner + levels


PAGE_DEPTH = around(2)
"""A page of things, `{"items": [thing]}` (a thing nests as its properties): the deepest
answer a method gives around values, so the bound of a fan-out target's answer."""
ACTION_EVENT_DEPTH = around(1)
"""An action's event, `{"subject", "verb", "object", "data": data}`."""
APPROVAL_DEPTH = around(1)
"""An approval, `{"payload": payload, "value": value, ...}` (answered, and the data of
`Approval.requested`, `.approved`, `.rejected`, `.expired`), and a decision, `{"value": value,
...}` (`wait_for_approval`'s step)."""
APPROVAL_EVENT_DEPTH = around(1, APPROVAL_DEPTH)
"""`Approval.escalated`'s data, `{"from": approval, "to": approval}`: the deepest data of an
event (an application's event data nests MAX_STORED_DEPTH at most)."""
EVENT_DEPTH = around(1, APPROVAL_EVENT_DEPTH)
"""An event as a record, `{"id", "type", "data": data, ...}` (a wait's match), whatever data it has."""
WAIT_STEP_DEPTH = around(1, EVENT_DEPTH)
"""`wait_for_event`'s step, `{"event": event}`."""
CASCADE_STEP_DEPTH = around(1)
"""A cascade tier's step, `{"accepted", "answer": answer, "reason"}` (an answer is a value)."""
CASCADE_DEPTH = around(3)
"""A cascade's result, `{"answer", "attempts": [{"answer": answer}]}`."""
FANOUT_DEPTH = around(3, PAGE_DEPTH)
"""A fan-out's result, `{"outcomes": [{"value": answer}]}` (its durable step's record)."""
RESULT_DEPTH = max(
    PAGE_DEPTH, APPROVAL_DEPTH, EVENT_DEPTH, WAIT_STEP_DEPTH, CASCADE_STEP_DEPTH, CASCADE_DEPTH, FANOUT_DEPTH
)
"""A workflow step's result and a run's result: any record above, as the framework handed it
to the workflow's code. A replayed step answers its record as plain JSON, where a record and a
value of the application's are one, so these admit the deepest record (not only what the
first run built): a run never fails on replay what it passed the first time."""


class Record(dict[str, Any]):
    """A record the framework builds around checked values, as event data: a dict that
    carries its nesting bound (`depth`, one of the bounds above), so the bound goes with the
    record through `emit` (an application's override of it too) to the event log, and with
    no other event. Equal to, and stored as, the plain dict of its fields."""

    __slots__ = ("depth",)

    def __init__(self, depth: int, fields: dict[str, Any]) -> None:
        super().__init__(fields)
        self.depth = depth


def depth_of(data: Any) -> int:
    """The nesting bound of event data: a `Record`'s own, else a value's (MAX_STORED_DEPTH)."""
    return data.depth if isinstance(data, Record) else MAX_STORED_DEPTH


_JSON_LEAVES = (str, bool, type(None))
WIRE_DEPTH = 64
"""How deep a value on the wire may nest: plain JSON's bound here (`json_fault`) and the
codec's (`dotdo.wire.codec.MAX_DEPTH`, which is this)."""


def error_fault(message: Any, code: Any, details: Mapping[str, Any]) -> str | None:
    """What no surface can send of an HttpError (`dotdo.errors.HttpError`), None when it
    can: `message` and `code` are str, `details` plain JSON (`json_fault`)."""
    if not isinstance(message, str):
        return f"its message is a {type(message).__name__}, not a str"
    if not isinstance(code, str):
        return f"its code is {code!r}, not a str"
    fault = json_fault(details) if details else None
    return None if fault is None else f"its details are not plain JSON: {fault}"


def json_fault(value: Any, depth: int = 0) -> str | None:
    """Why `value` is no plain JSON, the same text to every reader and every surface (an
    HttpError's `details`), None when it is: str, bool, None, a finite float, an int within
    MAX_SAFE_INTEGER, lists (or tuples) and objects with str keys of them, nested at most
    64 levels below `value` (at `depth`)."""
    if depth > WIRE_DEPTH:
        return f"nested past {WIRE_DEPTH} levels"
    if isinstance(value, _JSON_LEAVES):
        return None
    if isinstance(value, int):
        return None if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else "an integer past +-(2**53 - 1)"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is no JSON number"
    if isinstance(value, list | tuple):
        items: Any = value
    elif isinstance(value, Mapping):
        bad_key = next((key for key in value if not isinstance(key, str)), None)
        if bad_key is not None:
            return f"the key {bad_key!r} is no str"
        items = value.values()
    else:
        return f"{type(value).__name__} is no JSON value"
    for item in items:
        fault = json_fault(item, depth + 1)
        if fault is not None:
            return fault
    return None


LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate code point in a Python string: no UTF-8 text holds one (RFC 3629, section 3),
so SQLite cannot store it and a response cannot carry it. A JSON `\\ud800` escape or a
JavaScript string over Workers RPC can hand one to Python."""

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""`json.dumps` with these options builds an encoder like this one on every call."""


def compact_json(value: Any) -> str:
    """The compact JSON text of `value` (no spaces, UTF-8 characters as they are), with no
    check of its own beyond `json.dumps`'s: ValueError for NaN or Infinity, TypeError for
    a value JSON has no form for. For values already checked (`stored_json` checks)."""
    return _ENCODER.encode(value)


def int64_error(value: int) -> str | None:
    """None when `value` fits SQLite's INTEGER, else the message naming the range."""
    return None if INT64_MIN <= value <= INT64_MAX else INT64_RANGE


def stored_json(
    value: Any, *, what: str = "Value", code: str = "invalid_value", depth: int = MAX_STORED_DEPTH
) -> str:
    """The compact JSON text of `value` to store.

    `value` is JSON: objects with string keys, lists (or tuples), strings, booleans,
    None, integers within 64 bits and finite floats, nested at most MAX_STORED_DEPTH
    levels, and Unicode text in every string and key (no lone surrogate: no UTF-8 text
    holds one, so SQLite could not store it; a Workers RPC caller's JavaScript string
    can carry one, where a JSON body cannot). Anything else raises BadRequest with
    `code` and a message starting with `what` (an integer out of range names the range).
    `depth` is for a record the framework builds around values checked on their own: its
    bound, `around(...)` theirs (one of the record bounds above), and for a value held to
    one (a fan-out target's answer, a page). A value too deep is refused naming `depth`,
    the bound it broke.
    """
    _check(value, what, code, depth - 1, depth)
    text = _ENCODER.encode(value)
    if not text.isascii():  # a flag CPython keeps: the common ASCII text is never scanned
        found = LONE_SURROGATE.search(text)
        if found is not None:
            raise BadRequest(
                f"{what}: a string holds the unpaired surrogate U+{ord(found.group()):04X}, "
                "which is not Unicode text",
                code=code,
            )
    return text


def _check(value: Any, what: str, code: str, room: int, bound: int) -> None:
    # `room`: how many more arrays or objects may nest inside `value`; leaves add no level.
    # `bound`: the whole value's, which a refusal names.
    # A plain dict or list (nearly every container) goes to its items by its exact type, and
    # a plain str key passes by it: no isinstance chain per container or key (ADR 0052).
    kind = type(value)
    if kind is not dict and kind is not list:
        if value is None or isinstance(value, bool | str):
            return
        if isinstance(value, int):
            if int64_error(value):
                raise BadRequest(f"{what}: {INT64_RANGE}", code=code)
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise BadRequest(f"{what}: numbers are finite (no NaN or Infinity)", code=code)
            return
        if not isinstance(value, dict | list | tuple):
            raise BadRequest(f"{what} is not JSON: {type(value).__name__} has no JSON form", code=code)
    if room < 0:
        raise BadRequest(f"{what} is nested deeper than {bound} levels", code=code)
    # The common leaves are checked inline: no call per property.
    if kind is dict or isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise BadRequest(f"{what}: object keys are strings, not {type(key).__name__}", code=code)
            kind = type(item)
            if (
                kind is str
                or item is None
                or kind is bool
                or (kind is int and INT64_MIN <= item <= INT64_MAX)
                or (kind is float and math.isfinite(item))
            ):
                continue
            _check(item, what, code, room - 1, bound)
        return
    for item in value:  # a list or a tuple
        kind = type(item)
        if (
            kind is str
            or item is None
            or kind is bool
            or (kind is int and INT64_MIN <= item <= INT64_MAX)
            or (kind is float and math.isfinite(item))
        ):
            continue
        _check(item, what, code, room - 1, bound)


def lowered_headers(headers: Mapping[Any, Any]) -> dict[str, str]:
    """`headers` with lower-case names, as an HttpError and `json_response` keep them; a
    TypeError for a name that is no str, or for two that are one header (the second would
    silently replace the first), which the caller words as its own."""
    lowered: dict[str, str] = {}
    given: dict[str, Any] = {}
    for name, value in headers.items():
        # No isinstance call for a str: json_response runs on most answers.
        if name.__class__ is not str and not isinstance(name, str):
            raise TypeError(f"header name {name!r} is not a str")
        lower = name.lower()
        if lower in given:
            raise TypeError(one_header(given[lower], name))
        given[lower] = name
        lowered[lower] = value
    return lowered


def one_header(first: str, second: str) -> str:
    """What is wrong with header names `first` and `second`, which differ only in case."""
    return (
        f"headers {first!r} and {second!r} are one header (names are case-insensitive, RFC 9110 "
        "section 5.1), which the runtime would send with both values joined: give it once"
    )
