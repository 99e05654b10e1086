"""Regular expressions in a client's JSON Schema (ADR 0022): `pattern` and
`patternProperties` are matched in time linear in the subject, answering as `re.search`
does; a pattern with no linear matcher is a 400 `invalid_schema` before any call, on every
surface that takes a schema (`generate`, the cascade's generative tier)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo.errors import BadRequest
from dotdo.full.ai.schema import InvalidOutput, compile_schema, parse_output
from dotdo.full.cascade import Cascade, rpc_tool
from tests.inprocess import App, InProcess, run

SRC = Path(__file__).resolve().parents[3] / "src"

REDOS = """
from dotdo.full.ai.schema import InvalidOutput, compile_schema, parse_output
answer = '"' + "a" * 40 + '!"'
for schema in (
    {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a+)+$"}}},
    {"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}}},
):
    validator = compile_schema(schema)
    text = '{"a": ' + answer + '}' if "properties" in schema else '{' + answer + ': "x"}'
    try:
        parse_output(text, validator)
    except InvalidOutput as error:
        print(error)
compile_schema({"type": "object", "patternProperties": {"^(a+)+$": {}}, "required": ["a" * 40 + "!"]})
print("done")
"""


def test_a_catastrophic_pattern_does_not_hold_the_object() -> None:
    """`^(a+)+$` on 40 `a`s and a `!` backtracks about 2**40 steps in `re`: hours. Run in a
    child interpreter, so that a regression fails here instead of holding the test run."""
    try:
        child = subprocess.run(
            [sys.executable, "-c", REDOS],
            env={"PYTHONPATH": str(SRC)},
            capture_output=True,
            text=True,
            timeout=120,  # only a backtracking matcher comes anywhere near it
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("matching a schema's pattern backtracked without bound")
    assert child.returncode == 0, child.stderr
    # the value does not match; the key matches no pattern, so nothing constrains it
    assert child.stdout.splitlines() == [
        "the answer does not match the schema: data.a must match pattern ^(a+)+$",
        "done",
    ], child.stdout


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "(a)\\1"},
        {"type": "string", "pattern": "a(?=b)"},
        {"type": "string", "pattern": "(?<!x)y"},
        {"type": "object", "patternProperties": {"(?P<n>a)(?P=n)": {}}},
        {"type": "object", "properties": {"deep": {"type": "array", "items": {"pattern": "(?!a)"}}}},
        {"type": "string", "pattern": "(a{100}){100}"},
    ],
)
def test_a_pattern_with_no_linear_matcher_is_refused_before_any_call(schema: dict[str, Any]) -> None:
    with pytest.raises(BadRequest) as refused:
        compile_schema(schema)
    assert refused.value.code == "invalid_schema" and "pattern" in refused.value.message


@pytest.mark.parametrize(
    ("schema", "sent"),
    [
        ({"type": "string", "pattern": "^(a)\\1$"}, "^(a)\\1$"),
        ({"type": "object", "patternProperties": {"^(?=x)y$": {}}}, "^(?=x)y$"),
        ({"type": "object", "properties": {"a": {"pattern": "[$](?!b)$"}}}, "[$](?!b)$"),
    ],
    ids=["pattern", "patternProperties", "in a set"],
)
def test_a_refused_pattern_is_quoted_as_the_schema_gave_it(schema: dict[str, Any], sent: str) -> None:
    with pytest.raises(BadRequest) as refused:
        compile_schema(schema)
    assert f"schema pattern {sent!r} is refused" in refused.value.message  # was quoted with \\Z
    assert "\\Z" not in refused.value.message


class Nothing(App):
    pass


def test_the_cascades_schema_is_checked_before_any_tier() -> None:
    obj = InProcess(Nothing)
    tried: list[Any] = []
    cascade = Cascade(obj.runs, None, None, rpc_tool(object()))
    with pytest.raises(ValueError, match="generative schema: schema pattern"):
        run(
            cascade.run(
                "t",
                None,
                code=lambda value: tried.append(value),
                generative={"prompt": "x", "schema": {"type": "string", "pattern": "(a)\\1"}},
            )
        )
    assert tried == []


PATTERNS = ["^a+$", "^(a|b)*c", "x$", "^[a-c]{2,3}", "(ab)+", "\\d+\\.\\d*", "^$", "a.b"]


@settings(max_examples=200)
@given(pattern=st.sampled_from(PATTERNS), subject=st.text(alphabet="abcx1.\n", max_size=12))
def test_patterns_answer_as_re_search_does(pattern: str, subject: str) -> None:
    validator = compile_schema({"type": "string", "pattern": pattern})
    keys = compile_schema({"type": "object", "patternProperties": {pattern: {"type": "null"}}})
    # fastjsonschema reads `$` in `pattern` as the end of the string (`\Z`), as JSON Schema's
    # ECMA-262 regular expressions do; `patternProperties` keys are taken as they are.
    expected = re.search(pattern.replace("$", "\\Z"), subject) is not None
    try:
        parse_output(json.dumps(subject), validator)
        matched = True
    except InvalidOutput:
        matched = False
    assert matched == expected
    try:  # a key the pattern matches holds null only
        parse_output(json.dumps({subject: 0}), keys)
        constrained = False
    except InvalidOutput:
        constrained = True
    assert constrained == (re.search(pattern, subject) is not None)
