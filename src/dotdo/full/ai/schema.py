"""Structured output: a JSON Schema checked before a call, and a model's answer checked
against it after.

Validation is `fastjsonschema` (pure Python, no dependencies, so it runs in Pyodide; JSON
Schema drafts 4, 6 and 7: https://json-schema.org/specification-links). A schema is
compiled once per object and text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

from dotdo.errors import BadRequest, DotdoError

__all__ = ["InvalidOutput", "compile_schema", "parse_output"]

Validator = Callable[[Any], Any]

_CACHE: dict[str, Validator] = {}
_MAX_CACHED = 64
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


class InvalidOutput(DotdoError):
    """A model's answer that is not JSON, or not valid against the schema (`message` says where)."""


def compile_schema(schema: Any) -> Validator:
    """A validator for the JSON Schema `schema` (a JSON object). 400 `invalid_schema` when it
    is not one, or names an unknown type or keyword form."""
    if not isinstance(schema, Mapping):
        raise BadRequest("schema is a JSON Schema: a JSON object", code="invalid_schema")
    try:
        key = json.dumps(schema, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise BadRequest(f"schema is not JSON: {error}", code="invalid_schema") from error
    validator = _CACHE.get(key)
    if validator is None:
        try:
            validator = fastjsonschema.compile(dict(schema))
        except (fastjsonschema.JsonSchemaDefinitionException, TypeError, ValueError) as error:
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
    try:
        return validator(value)
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidOutput(f"the answer does not match the schema: {error.message}") from error
