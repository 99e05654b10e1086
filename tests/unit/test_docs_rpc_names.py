"""The RPC methods docs/api.md lists name their parameters as the methods do: a caller of
`/rpc` who sends `"params": {...}` by those names (`create_thing(type, data)` was written
where the method takes `type_name`) got 400 `invalid_params`."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from dotdo import DOFull
from dotdo.remote.marks import rpc_methods

API = Path(__file__).parents[2] / "docs" / "api.md"
# RPC methods whose names other objects' methods share in the same paragraphs (the state's
# `get(key, default=None)`, an accessor's `delete(hard)`): their calls there are not RPC.
SHARED_NAMES = frozenset({"get", "set", "delete", "list", "transaction"})
CALL = re.compile(r"`([a-z_]+)\(([^`()]*)\)")
NAME = re.compile(r"[a-z_][a-z0-9_]*")


def documented_calls() -> list[tuple[str, list[str]]]:
    """Each `name(arg, ...)` of an RPC method in a paragraph of docs/api.md that speaks of
    RPC (the Changes section, which tells history, left out), with its argument names."""
    text = API.read_text(encoding="utf-8").split("\n## Changes\n")[0]
    methods = set(rpc_methods(DOFull)) - SHARED_NAMES
    calls = []
    for paragraph in re.split(r"\n\s*\n", text):
        if "RPC" not in paragraph:
            continue
        for match in CALL.finditer(paragraph):
            if match.group(1) in methods:
                arguments = [part.split("=")[0].strip() for part in match.group(2).split(",")]
                calls.append((match.group(1), [name for name in arguments if NAME.fullmatch(name)]))
    return calls


def test_the_documented_rpc_calls_name_the_methods_parameters() -> None:
    calls = documented_calls()
    assert len(calls) > 30  # the lists are found: DOSemantic's, DOWorkflow's, DOFull's
    wrong = [
        (method, name)
        for method, names in calls
        for name in names
        if name not in inspect.signature(getattr(DOFull, method)).parameters
    ]
    assert wrong == []
