"""Is a stored JSON text already its own wire form? (ADR 0032)

A value dotdo stores is the compact JSON (`json.JSONEncoder(separators=(",", ":"),
ensure_ascii=False)`) of a value whose numbers are finite and whose integers fit 64 bits
(`dotdo.values.stored_json`, `thingdata.encode_properties`). `codec.encode` rewrites such a
value in two places only: a one-key object whose key is a tag (`{"$date": 1}` is sent
escaped) and an integer past 2**53 (sent as `$bigint`). So the stored text can be sent as
it is unless it shows a sign of either, or of anything an older writer might have left:
a `"$` (a key, or a string, starting with `$`), a `\\u` escape (a `$` or a lone surrogate
could hide in one), a NaN or Infinity literal, a run of 16 digits at the start or after
what can precede an integer literal, more brackets than `codec.encode` may nest
(`codec.MAX_DEPTH`; stored values nest 33 at most). A sign inside a string is a false
alarm that costs only the general path, never a different answer.
"""

from __future__ import annotations

import json
import re

from dotdo.wire.codec import MAX_DEPTH

__all__ = ["is_own_wire_form", "json_string"]

json_string = json.encoder.encode_basestring
"""A str as its JSON string literal, as `codec.dump` (`ensure_ascii=False`) writes it: the
quoting of a key or an id spliced around a stored text."""

_FLAGS = ('"$', "\\u", "NaN", "Infinity")
_LONG_INTEGER = re.compile(r"(?:^|[-:,\[\s])\d{16}")


def is_own_wire_form(text: str) -> bool:
    """Is `text` (stored JSON, as above) what `codec.dump(codec.encode(json.loads(text)))`
    would write, give or take insignificant white space an older writer left?"""
    if text.count("{") + text.count("[") > MAX_DEPTH:
        return False
    for flag in _FLAGS:
        if flag in text:
            return False
    return _LONG_INTEGER.search(text) is None
