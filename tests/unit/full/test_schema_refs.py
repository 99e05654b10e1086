"""A caller's JSON Schema (`generate(..., schema=)`, `POST /ai/generate`) is checked without
reaching outside it: a `$ref` to a URL or a file was fetched or opened (an outbound call and
a file probe a caller chose, 500s when they failed), and a bad pattern was a 500."""

from __future__ import annotations

from typing import Any

import pytest

from dotdo.errors import BadRequest
from dotdo.full.ai.schema import compile_schema


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "http://127.0.0.1:1/x"},
        {"$ref": "https://example.com/schema.json"},
        {"$ref": "file:///etc/passwd"},
        {"properties": {"a": {"$ref": "file:///tmp/x.json#/a"}}},
        {"type": "string", "pattern": "("},
        {"type": "object", "patternProperties": {"[": {}}},
    ],
)
def test_a_schema_reaching_outside_itself_or_unparseable_is_refused(schema: dict[str, Any]) -> None:
    with pytest.raises(BadRequest) as raised:
        compile_schema(schema)
    assert raised.value.code == "invalid_schema"


def test_references_inside_the_schema_are_followed() -> None:
    validator = compile_schema(
        {
            "type": "object",
            "properties": {"a": {"$ref": "#/definitions/word"}},
            "definitions": {"word": {"type": "string"}},
        }
    )
    assert validator({"a": "x"}) == {"a": "x"}
