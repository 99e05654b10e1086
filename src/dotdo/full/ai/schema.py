"""Structured output: a JSON Schema checked before a call, and a model's answer checked
against it after.

Validation is `fastjsonschema` (pure Python, no dependencies, so it runs in Pyodide; JSON
Schema drafts 4, 6 and 7: https://json-schema.org/specification-links). A schema is
compiled once per object and text. It is imported by the first call that needs it, not
with this module: only structured output uses it, and its import is ~13 ms of every cold
start under Pyodide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from dotdo.errors import BadRequest, DotdoError

__all__ = ["InvalidOutput", "compile_schema", "parse_output"]

Validator = Callable[[Any], Any]

_CACHE: dict[str, Validator] = {}
_MAX_CACHED = 64
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


class _NoRemoteReferences(dict[str, Callable[[str], Any]]):
    """fastjsonschema's handlers by URI scheme, answering for every scheme: a `$ref` it would
    fetch (`http:`, `file:`, any) is refused instead of read, so a caller's schema can make
    the object neither call out nor open a file."""

    def __contains__(self, scheme: object) -> bool:
        return True

    def __getitem__(self, scheme: str) -> Callable[[str], Any]:
        return _refuse_remote


def _refuse_remote(uri: str) -> Any:
    raise BadRequest(
        f"schema refers to {uri!r}: only references inside the schema (#/...) are followed",
        code="invalid_schema",
    )


class InvalidOutput(DotdoError):
    """A model's answer that is not JSON, or not valid against the schema (`message` says where)."""


def compile_schema(schema: Any) -> Validator:
    """A validator for the JSON Schema `schema` (a JSON object). 400 `invalid_schema` when it
    is not one, names an unknown type or keyword form, holds a pattern that is no regular
    expression, or refers (`$ref`) to anything outside itself: nothing is fetched or read."""
    if not isinstance(schema, Mapping):
        raise BadRequest("schema is a JSON Schema: a JSON object", code="invalid_schema")
    try:
        key = json.dumps(schema, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise BadRequest(f"schema is not JSON: {error}", code="invalid_schema") from error
    validator = _CACHE.get(key)
    if validator is None:
        import fastjsonschema

        try:
            validator = fastjsonschema.compile(dict(schema), handlers=_NoRemoteReferences())
        except BadRequest:
            raise
        except (fastjsonschema.JsonSchemaDefinitionException, TypeError, ValueError, re.error) as error:
            raise BadRequest(f"schema is not a valid JSON Schema: {error}", code="invalid_schema") from error
        if len(_CACHE) >= _MAX_CACHED:
            _CACHE.clear()
        _CACHE[key] = validator
    return validator


def parse_output(text: str, validator: Validator) -> Any:
    """The JSON value in a model's answer `text`, checked by `validator`; a Markdown code
    fence around it (which chat models add unasked) is taken off. InvalidOutput otherwise."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text
    try:
        value = json.loads(body)
    except ValueError as error:
        raise InvalidOutput(f"the answer is not JSON: {error}") from error
    import fastjsonschema  # compile_schema imported it: a lookup in sys.modules

    try:
        return validator(value)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidOutput(f"the answer does not match the schema: {error.message}") from error
