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

from dotdo.errors import BadRequest, DotdoError, QueryValidationError

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


class _LinearRegex:
    """A schema's regular expression as fastjsonschema's generated code uses a compiled one
    (`search`), matched by `dotdo.semantic.pattern` in time linear in the subject (ADR 0022):
    Python's `re` backtracks, and `^(a+)+$` held the object at full CPU for good on a
    model's answer of 34 `a`s and a `!`."""

    def __init__(self, source: str, flags: int, sent: str | None = None) -> None:
        from dotdo.semantic.pattern import compiled_pattern

        self.pattern, self.flags = source, flags
        try:
            self._linear = compiled_pattern(source, flags)
        except QueryValidationError as error:  # a construct with no linear matcher
            reason = error.message.replace("$regex", "a pattern")
            shown = source if sent is None else sent  # as the client wrote it, not as rewritten
            message = f"schema pattern {shown!r} is refused: {reason}"
            raise BadRequest(message, code="invalid_schema") from None
        except re.error as error:
            if sent is None or sent == source:
                raise BadRequest(
                    f"schema pattern {source!r} is not a regular expression: {error}", code="invalid_schema"
                ) from None
            # Valid as sent, broken by the rewrite of every `$` (inside a set too): say so.
            raise BadRequest(
                f"schema pattern {sent!r} is refused: fastjsonschema reads every unescaped $ as the "
                "end of the text, inside [...] too; write \\$ for a dollar sign",
                code="invalid_schema",
            ) from None

    def search(self, text: str) -> bool | None:
        """True when the pattern matches somewhere in `text`, else None (as `re` answers)."""
        return True if self._linear.search(text) else None


class _LinearRe:
    """Stands in for the `re` module of fastjsonschema's draft-4 generator (which the draft 6
    and 7 ones extend) while a schema compiles: every pattern a schema gives (`pattern`,
    `patternProperties`, and the generator's own check of `required` names against them) is
    a `_LinearRegex`; fastjsonschema's own format expressions (`trusted`) stay `re`'s."""

    def __init__(self, trusted: frozenset[str], sent: Mapping[str, str]) -> None:
        self._trusted = trusted
        self._sent = sent

    def compile(self, source: str, flags: int = 0) -> Any:
        """`re.compile`, linear for any pattern but fastjsonschema's own."""
        if source in self._trusted:
            return re.compile(source, flags)
        return _LinearRegex(source, flags, self._sent.get(source))

    def search(self, source: str, text: str, flags: int = 0) -> bool | None:
        """`re.search`, linear."""
        found: bool | None = self.compile(source, flags).search(text)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(re, name)


def _patterns(schema: Any) -> list[str]:
    """Every string a schema may give as a regular expression: the values of `pattern`
    keywords and the names of `patternProperties`, at any depth (some may be a property
    named `pattern`: only the ones fastjsonschema compiles are ever looked up)."""
    found: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if isinstance(node.get("pattern"), str):
                found.append(node["pattern"])
            if isinstance(node.get("patternProperties"), Mapping):
                found.extend(key for key in node["patternProperties"] if isinstance(key, str))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _compile_linear(schema: dict[str, Any], handlers: Any) -> Validator:
    """`fastjsonschema.compile` with every pattern of `schema` matched in linear time, each
    refused (400 `invalid_schema`) before any call when it needs what no automaton runs
    (backreferences, lookaround: `semantic.pattern`)."""
    import fastjsonschema
    from fastjsonschema import draft04, draft06, draft07

    trusted = frozenset(
        str(regex)
        for generator in (
            draft04.CodeGeneratorDraft04,
            draft06.CodeGeneratorDraft06,
            draft07.CodeGeneratorDraft07,
        )
        for regex in generator.FORMAT_REGEXS.values()
    )
    # fastjsonschema compiles a `pattern` with each unescaped `$` rewritten to `\Z` (its
    # DOLLAR_FINDER): an error names the pattern as the schema gave it, found by that rewrite.
    sent = {draft04.DOLLAR_FINDER.sub(r"\\Z", pattern): pattern for pattern in _patterns(schema)}
    module: Any = draft04
    real = module.re
    module.re = _LinearRe(trusted, sent)  # compiling is synchronous: nothing else runs meanwhile
    try:
        return fastjsonschema.compile(schema, handlers=handlers)
    finally:
        module.re = real


class InvalidOutput(DotdoError):
    """A model's answer that is not JSON, or not valid against the schema (`message` says where)."""


def compile_schema(schema: Any) -> Validator:
    """A validator for the JSON Schema `schema` (a JSON object). 400 `invalid_schema` when it
    is not one, names an unknown type or keyword form, holds a pattern that is no regular
    expression or one with no linear-time matcher (a backreference, a lookaround: every
    pattern is matched in time linear in the subject, ADR 0022), or refers (`$ref`) to
    anything outside itself: nothing is fetched or read."""
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
            validator = _compile_linear(dict(schema), _NoRemoteReferences())
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
