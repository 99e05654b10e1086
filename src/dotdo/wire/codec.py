"""The one JSON encoding of every value on every JSON surface: HTTP bodies, `/rpc`,
`/rpc/pipeline`, `/ws/rpc` and event pushes on `/ws`. Values JSON cannot carry (or
that a JavaScript client would round) are single-key tagged objects:

    datetime                    {"$date": 1749342170815}     (epoch ms; naive datetimes are UTC)
    bytes, memoryview (BLOB)    {"$bytes": "aGVsbG8="}       (base64)
    int beyond +-(2**53 - 1)    {"$bigint": "12345678901234567890"}
    NaN, +-Infinity             {"$number": "NaN" | "Infinity" | "-Infinity"}
    a real object with one of those single keys                 {"$escape": {...}}

Everything else is plain JSON. Objects with several keys (a thing's `$id`,
`$type`, ...) are never tags, so they pass through untouched. `dumps` is the text
every surface sends (never a bare NaN, which is not JSON: RFC 8259 section 6);
`loads` reads what every surface receives: strict JSON (nested at most `MAX_JSON_DEPTH`
levels, `parse_json`), where an integer may be written exactly at any size or as
`$bigint`, both meaning the same int, and every string is Unicode (no unpaired
surrogate, which no UTF-8 text can hold). Cap'n Web
carries the same values in its own protocol's forms (`["bigint", "..."]`, ...).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dotdo.errors import BadRequest, DotdoError
from dotdo.values import LONE_SURROGATE, MAX_SAFE_INTEGER, WIRE_DEPTH

__all__ = [
    "MAX_INTEGER_DIGITS",
    "MAX_JSON_DEPTH",
    "MAX_SAFE_INTEGER",
    "RPC_UNCARRIED_KEY",
    "UNCARRIED_ANSWER",
    "ConstantNotJson",
    "IntegerTooLong",
    "bigint",
    "decode",
    "dump",
    "dumps",
    "encode",
    "encode_result",
    "epoch_ms",
    "from_epoch_ms",
    "is_plain",
    "loads",
    "parse_json",
    "rpc_uncarried",
    "uncarried_answer",
]

MAX_INTEGER_DIGITS = 4300
"""Most digits of an integer a client may write (Python's int-to-text conversion limit,
`sys.get_int_max_str_digits()`'s default, which bounds the parse's work too)."""


class IntegerTooLong(DotdoError, ValueError):
    """`parse_json` of a text holding an integer of more than MAX_INTEGER_DIGITS digits: its
    message says so, wherever the text came from (a body, a socket message, a where clause)."""


_TAGS = frozenset({"$date", "$bytes", "$bigint", "$number", "$escape"})
_NUMBERS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
MAX_DEPTH = WIRE_DEPTH
"""How deep a value may nest to have a wire form (`encode`)."""
MAX_JSON_DEPTH = 512
"""The deepest JSON a client may send. Pyodide's parser dies of a JavaScript stack overflow
(a fatal error that takes the whole isolate down) somewhere past 6,500 levels; every
nesting dotdo documents (values 64, Cap'n Web expressions 64 escaped arrays) fits in 512."""

_NESTING_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
# JSON may escape a lone UTF-16 surrogate ("\ud800", RFC 8259 section 8.2); only text that
# holds such an escape (or a raw surrogate) can parse to a string holding one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Exact milliseconds since the epoch (float seconds lose a millisecond far from 1970)."""
    return (moment - _EPOCH) // _MS


def from_epoch_ms(value: float) -> datetime:
    """The UTC datetime `value` milliseconds after the epoch (as `$date` and Cap'n Web's
    `date` carry it); OverflowError past datetime's years 1-9999."""
    try:
        return _EPOCH + timedelta(milliseconds=value)
    except OverflowError as exc:  # Python's words name C types ("too large to convert to C int")
        raise OverflowError("a date is within the years 1 to 9999") from exc


_LEAVES = frozenset({str, bool, int})
"""Types whose values (an int only within MAX_SAFE_INTEGER) are their own wire form."""
_safe = range(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1).__contains__
"""Is an int within MAX_SAFE_INTEGER? A C-level check: no Python call per value."""


def encode(value: Any, depth: int = 0) -> Any:
    """A JSON-ready form of `value`; TypeError for values with no wire form."""
    if depth > MAX_DEPTH:
        raise TypeError("value is nested too deeply")
    if type(value) is dict:  # the commonest value (a call's result, a thing): no walk past
        return _encode_object(value, depth)  # six type checks to the Mapping ABC's
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else {"$bigint": _digits(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$number": "NaN"}
        if math.isinf(value):
            return {"$number": "Infinity" if value > 0 else "-Infinity"}
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {"$date": epoch_ms(moment)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    inline = depth < MAX_DEPTH  # one level further down, even a leaf is too deep
    if isinstance(value, list | tuple):
        return [
            item
            if inline and (item is None or (type(item) in _LEAVES and (type(item) is not int or _safe(item))))
            else encode(item, depth + 1)
            for item in value
        ]
    if isinstance(value, Mapping):
        return _encode_object(value, depth)
    # Looked up on the class: an instance's `__getattr__` may answer any name (a thing's
    # accessor turns one into a call to another object), and a probe must not run it.
    to_dict = getattr(type(value), "to_dict", None)
    if callable(to_dict):
        return encode(to_dict(value), depth + 1)
    raise TypeError(f"{type(value).__name__} cannot be sent over RPC")


def _encode_object(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    """`encode` of a mapping at `depth` (not past MAX_DEPTH): a JSON object."""
    inline = depth < MAX_DEPTH  # one level further down, even a leaf is too deep
    encoded = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"object keys are strings, not {type(key).__name__}")
        kind = type(item)  # the common leaves inline: no call per property of a page of things
        if inline and (item is None or kind is str or kind is bool or (kind is int and _safe(item))):
            encoded[key] = item
        else:
            encoded[key] = encode(item, depth + 1)
    if len(encoded) == 1 and next(iter(encoded)) in _TAGS:
        return {"$escape": encoded}
    return encoded


def _digits(value: int) -> str:
    try:
        return str(value)
    except ValueError as exc:  # past Python's int-to-text limit (4300 digits by default)
        raise TypeError(f"an integer of more than {sys.get_int_max_str_digits()} digits") from exc


def is_plain(encoded: Any) -> bool:
    """Whether a wire form (what `encode` returned) holds no tagged object: then it is plain
    JSON, the same value to any JSON reader, with nothing for a reader to decode."""
    if isinstance(encoded, dict):
        if len(encoded) == 1 and next(iter(encoded)) in _TAGS:
            return False
        return all(is_plain(item) for item in encoded.values())
    if isinstance(encoded, list):
        return all(is_plain(item) for item in encoded)
    return True


RPC_UNCARRIED_KEY = "constructor"
"""An object key Workers RPC's Python conversion cannot carry between objects: the Workers
SDK's `python_from_rpc` reads an object's `constructor.name` to tell its type, and an object
whose own `constructor` is a value (`{"constructor": "Ferrari"}`) fails it on the receiving
side (an AttributeError there, a 500 to the caller)."""


def rpc_uncarried(value: Any) -> str | None:
    """The path (`$.car`) of an object in `value` holding the key `RPC_UNCARRIED_KEY`, or
    None: what a value sent to another object over Workers RPC may not hold."""
    pending: list[tuple[Any, str]] = [(value, "$")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, dict):
            if RPC_UNCARRIED_KEY in item:
                return path
            pending.extend((child, f"{path}.{key}") for key, child in item.items())
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return None


def uncarried_answer(error: BaseException) -> bool:
    """Whether `error`, raised awaiting a Workers RPC call's answer, is the SDK's conversion
    failing on an answer holding the key `RPC_UNCARRIED_KEY` (`python_from_rpc` read the
    `.name` of that key's value): the caller then says so rather than "'int' object has no
    attribute 'name'"."""
    return isinstance(error, AttributeError) and str(error).endswith("has no attribute 'name'")


UNCARRIED_ANSWER = (
    f"the answer holds an object key {RPC_UNCARRIED_KEY!r}, which Workers RPC's Python "
    "conversion cannot carry between objects: rename it"
)
"""What a caller says of an answer `uncarried_answer` recognised."""


def encode_result(value: Any) -> Any:
    """`encode` for what a call returned: a value with no wire form is the caller's
    400 `unserializable_result`, not a server failure."""
    try:
        return encode(value)
    except TypeError as exc:
        raise BadRequest(str(exc), code="unserializable_result") from exc


# `json.dumps` with options builds this encoder anew on every call; it keeps no state.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dump(encoded: Any) -> str:
    """The compact JSON text of a value already in its wire form (what `encode` returned)."""
    return _ENCODER.encode(encoded)


def dumps(value: Any) -> str:
    """The JSON text of any value on every JSON surface: `encode_result`, then `dump`.

    BadRequest (`unserializable_result`, 400) when the value has no wire form."""
    return dump(encode_result(value))


class ConstantNotJson(DotdoError, ValueError):
    """`parse_json` of a text holding `NaN`, `Infinity` or `-Infinity`: JavaScript's
    literals, not JSON's (RFC 8259 section 6)."""


def _no_constant(name: str) -> Any:
    raise ConstantNotJson(f"{name} is not JSON")


def parse_json(text: str | bytes) -> Any:
    """Strict JSON (RFC 8259: no NaN or Infinity literals); integers exact at any size;
    strings are Unicode.

    Bytes are decoded as `json.loads` decodes them (UTF-8, -16 or -32). ValueError (a
    `json.JSONDecodeError` for malformed text, and for text nested deeper than
    `MAX_JSON_DEPTH`, found before the parser recurses into it) when it is not JSON. A
    string or key holding an unpaired surrogate (`"\\ud800"` is JSON, RFC 8259 section
    8.2, but no Unicode text) is a `json.JSONDecodeError` too: SQLite stores UTF-8 and the
    runtime sends UTF-8, so such a string would be stored as U+FFFD, fail to be stored, or
    break the socket or response it is echoed on."""
    return _parse(text)[0]


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
"""`json.loads` with `parse_constant` builds a decoder like this one on every call."""


def _parse(text: str | bytes) -> tuple[Any, str]:
    """`parse_json`'s value, and the text it parsed (bytes decoded)."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:  # only then can it be that deep
        _check_depth(text)
    if text.startswith("\ufeff"):  # what `json.loads` refuses before it calls the decoder
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        value = _DECODER.decode(text)
    except RecursionError as exc:
        raise ValueError("JSON is nested too deeply") from exc
    except (json.JSONDecodeError, ConstantNotJson):
        raise
    except ValueError as exc:
        # The decoder's one other ValueError: an integer past Python's int-from-text limit
        # (`sys.get_int_max_str_digits()`), raised by `int()` inside the scanner.
        raise IntegerTooLong(f"an integer of more than {MAX_INTEGER_DIGITS:,} digits") from exc
    escape = _surrogate_escape(text)
    if escape is not None:
        found = _unpaired_surrogate(value)
        if found is not None:
            raise json.JSONDecodeError(
                f"a string holds the unpaired surrogate U+{ord(found):04X}, which is not Unicode text",
                text,
                escape.start(),
            )
    return value, text


def _surrogate_escape(text: str) -> re.Match[str] | None:
    """`_SURROGATE_ESCAPE.search(text)`. Each match holds a backslash or is a non-ASCII
    character; a text with neither (most bodies) is ruled out by two scans in C, which
    take a fraction of the regex's time (it costs more than parsing the JSON)."""
    if "\\" not in text and text.isascii():
        return None
    return _SURROGATE_ESCAPE.search(text)


def _unpaired_surrogate(value: Any) -> str | None:
    """The first surrogate code point in any string or key of a parsed JSON value, or None."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = LONE_SURROGATE.search(item)
            if found is not None:
                return found.group()
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return None


def _check_depth(text: str) -> None:
    depth = 0
    for match in _NESTING_TOKENS.finditer(text):
        bracket = match.group(0)
        if bracket in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", text, match.start())
        elif bracket in ("]", "}"):
            depth -= 1


def loads(text: str | bytes) -> Any:
    """The Python value of a JSON text a client sent: `parse_json`, then `decode`.

    BadRequest `invalid_json` when it is not JSON, `invalid_value` on a bad tag."""
    try:
        parsed, text = _parse(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc.msg}", code="invalid_json") from exc
    except IntegerTooLong as exc:
        raise BadRequest(f"Request body holds {exc}", code="invalid_json") from exc
    except ValueError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from exc
    if not _may_be_tagged(text) and text.count("[") + text.count("{") <= MAX_DEPTH:
        # No tag can be in it (none is spelled out, no escape could spell one) and no value
        # is nested past MAX_DEPTH: `decode` would answer an equal copy of `parsed`.
        return parsed
    return decode(parsed)


_MAYBE_TAGGED = re.compile(r'\\|"\$(?:date|bytes|bigint|number|escape)"')
"""Text in which a key may be a tag: one spelled out, or any backslash escape (`"\\u0024date"`
is the key `$date` too). Only a key can be a tag; a string matching is merely a false alarm."""


def _may_be_tagged(text: str) -> bool:
    """Does `_MAYBE_TAGGED` match `text`? Each match holds a backslash or `"$`: a text with
    neither (most bodies) is ruled out by two scans in C instead of the regex."""
    if "\\" not in text and '"$' not in text:
        return False
    return _MAYBE_TAGGED.search(text) is not None


def decode(value: Any, depth: int = 0) -> Any:
    """The Python value of a tagged JSON value; BadRequest (`invalid_value`) on a bad tag."""
    if depth > MAX_DEPTH:
        raise BadRequest("value is nested too deeply", code="invalid_value")
    if isinstance(value, list):
        return [decode(item, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        tag, inner = next(iter(value.items()))
        if tag in _TAGS:
            return _untag(tag, inner, depth)
    return {key: decode(item, depth + 1) for key, item in value.items()}


_INTEGER_TEXT = re.compile(r"0|-?[1-9][0-9]*")  # BigInt's toString never writes "-0"


def bigint(text: str) -> int:
    """The int a `$bigint` (or Cap'n Web `["bigint", ...]`) text writes: a JSON integer's
    digits (RFC 8259 section 6: an optional `-`, no `+`, no leading zero, ASCII digits
    only) as `BigInt.prototype.toString` writes them (so never `-0`). ValueError for anything else,
    which `int()` alone would take (`"+7"`, `" 7 "`, `"1_000"`, `"٣"`), and past
    Python's int-to-text limit (4,300 digits)."""
    if _INTEGER_TEXT.fullmatch(text) is None:
        raise ValueError("not an integer's decimal digits")
    if len(text) - text.startswith("-") > MAX_INTEGER_DIGITS:
        raise ValueError(f"more than {MAX_INTEGER_DIGITS:,} digits")
    return int(text)


def _untag(tag: str, inner: Any, depth: int) -> Any:
    try:
        if tag == "$escape" and isinstance(inner, dict):
            return {key: decode(item, depth + 1) for key, item in inner.items()}
        if tag == "$date" and isinstance(inner, int | float) and not isinstance(inner, bool):
            return from_epoch_ms(inner)
        if tag == "$bytes" and isinstance(inner, str):
            return base64.b64decode(inner, validate=True)
        if tag == "$bigint" and isinstance(inner, str):
            return bigint(inner)
        if tag == "$number" and isinstance(inner, str) and inner in _NUMBERS:
            return _NUMBERS[inner]
    except (ValueError, OverflowError, OSError, binascii.Error) as exc:
        raise BadRequest(f"{tag} value {_shown(inner)} is invalid: {exc}", code="invalid_value") from exc
    raise BadRequest(f"{tag} value {_shown(inner)} is invalid", code="invalid_value")


def _shown(value: Any) -> str:
    """A tag's JSON value as the client wrote it (`null`, not Python's `None`), cut at 40
    characters: a 900 KB value is not echoed back."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:40] + "..."
