"""The fields of a remote call's JSON envelope and body: the one unknown-field rule every
RPC surface and route applies (400 naming the field), a caller's call id, list arguments.

Apart from `dotdo.remote.calls` (which binds and checks a call's arguments) because the
routes that take named fields in their body are registered by every object at its start,
and the binding machinery is needed only with the first call (ADR 0036);
`dotdo.remote.calls` still exports them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dotdo.errors import BadRequest

__all__ = ["body_arguments", "check_fields", "invoke_body", "is_call_id", "listed", "unknown_field"]


def body_arguments(
    body: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    also: Iterable[str] = (),
    method: Callable[..., Any],
) -> dict[str, Any]:
    """The keyword arguments an HTTP route's JSON body gives `method`, the method it
    renders: `fields` maps body fields to parameter names; a field the body leaves out is
    left to the parameter's default. `invoke` then checks them as it checks every remote
    call, so a route and RPC refuse the same wrong types alike.

    A null is what None is over RPC: absent where the parameter's default is None (or it
    has none: then it is missing); passed on as None where the default is something else
    (`indexes=()`, `retries=0`), so that the check refuses it as RPC does instead of the
    default standing in for it, which re-registering a noun with `"indexes": null` made a
    silent loss of its indexes.

    `also` names the fields the route reads itself. Any other field is a 400
    `invalid_params` naming it (`check_fields`), as RPC refuses an unknown keyword
    argument: a misspelt option (`"modle"`) is never dropped in silence."""
    check_fields(body, [*fields, *also])
    passed = _defaulted_otherwise(method)
    return {
        name: body[field]
        for field, name in fields.items()
        if body.get(field) is not None or (field in body and name in passed)
    }


async def invoke_body(
    method: Callable[..., Any],
    body: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    texts: Iterable[str] = (),
    path: Mapping[str, Any] | None = None,
) -> Any:
    """`method` called as an HTTP route whose JSON `body` is its named arguments: the one
    pairing of `body_arguments` with `invoke`, on one method and one map of fields, so that
    the arguments a body gives are checked against the very method they are bound to, and
    its errors name the body's fields.

    `fields` maps body fields to parameters (`body_arguments`' rule: a null is None over
    RPC, an unknown field a 400 `invalid_params`). `texts` are fields passed as sent, `""`
    when missing (a noun's `name`, a query's `sql`), so that the method's own check words
    their refusal (`invalid_noun`, not a missing argument). `path` gives the route's path
    parameters (`approval_id`, a workflow's `name`). Returns what `method` returns; its
    errors as `invoke`'s."""
    from dotdo.remote.calls import invoke  # argument binding loads with the first call (ADR 0036)

    named = {field: field for field in texts}
    arguments = {
        **(path or {}),
        **{field: body.get(field, "") for field in named},
        **body_arguments(body, fields, also=named, method=method),
    }
    return await invoke(method, arguments, {**fields, **named})


def _defaulted_otherwise(method: Callable[..., Any]) -> frozenset[str]:
    """The parameters of `method` whose default is there and is not None."""
    from dotdo.remote.calls import signature_of  # computed once per function; imports this module

    parameters = signature_of(method).parameters.values()
    return frozenset(p.name for p in parameters if p.default is not p.empty and p.default is not None)


def unknown_field(envelope: Mapping[str, Any], known: Iterable[str], what: str) -> str | None:
    """The message naming the first field of `envelope` (a JSON object: a call, a body of
    named arguments, a pipeline) that is not one of `known`, or None. Every surface refuses
    such a field rather than drop it: a misspelt `params` would call the method with none."""
    allowed = set(known)
    for field in envelope:
        if field not in allowed:
            return f"Unknown field {field!r} in {what}; it takes {', '.join(sorted(allowed))}"
    return None


def is_call_id(value: Any) -> bool:
    """Is `value` a caller's id for matching answers to calls (`/ws/rpc` messages,
    pipelines): absent (None), a string or an integer, never a boolean? Any other value
    is refused before the call runs, so an answer always carries the id back."""
    return value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def check_fields(
    body: Mapping[str, Any], known: Iterable[str], *, what: str = "the body", code: str = "invalid_params"
) -> None:
    """400 `code` (`invalid_params`) naming the first field of a JSON object that is not one
    of `known` (`unknown_field`); for a route whose body is a set of named arguments (not a
    route whose body is data, such as a thing or a state value), and for the RPC envelopes."""
    message = unknown_field(body, known, what)
    if message is not None:
        raise BadRequest(message, code=code)


def listed(value: Any) -> list[Any]:
    """A list-valued argument as a remote caller sent it: the list itself, [] for None. 400
    `invalid_params` for anything else, a string above all, which Python code would take
    as a sequence of characters. For a method's own use: Workers RPC calls a Durable
    Object's method directly, without `invoke` and so without the annotations' check."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"An array is expected, not {value!r:.40}", code="invalid_params")
    return value
