"""The error tree: every exception class of the package is in `dotdo.errors`' docstring,
under the parent it derives from, and the public ones are exported from `dotdo`."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import dotdo
from dotdo import errors
from dotdo.core.http import json_response, json_text_response
from dotdo.errors import BadRequest, HttpError
from dotdo.hints import error_hint

_TREE_LINE = re.compile(r"^    (?P<rails>(?:[| ]   )*)(?:\+-- )?(?P<name>[A-Z]\w+)\s{2,}(?P<note>.*)$")


def _runtime_stub(name: str) -> ModuleType:
    """A stand-in for a module only the Workers runtime has (`pyodide.ffi`, `workers`):
    any name imported from it is a fresh class (an exception if it is named like one)."""

    def fresh_class(attribute: str) -> type:
        return type(attribute, (Exception,) if attribute.endswith(("Error", "Exception")) else (), {})

    module = ModuleType(name)
    module.__getattr__ = fresh_class  # type: ignore[method-assign]
    return module


@pytest.fixture(scope="module")
def exception_classes() -> Iterator[dict[str, type[BaseException]]]:
    """Every exception class defined at the top level of a module of the package."""
    stubs = {name: _runtime_stub(name) for name in ("pyodide", "pyodide.ffi", "js", "workers")}
    before = set(sys.modules)
    missing = [name for name in stubs if name not in sys.modules]
    sys.modules.update({name: stubs[name] for name in missing})
    found: dict[str, type[BaseException]] = {}
    try:
        for info in pkgutil.walk_packages(dotdo.__path__, "dotdo."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseException)
                    and value.__module__ == module.__name__
                ):
                    assert found.setdefault(value.__name__, value) is value, value
        yield found
    finally:
        for name in set(sys.modules) - before:  # the modules imported against the stubs
            parent, _, child = name.rpartition(".")
            del sys.modules[name]
            if parent in sys.modules and child in vars(sys.modules[parent]):
                delattr(sys.modules[parent], child)


def _tree() -> tuple[dict[str, tuple[str | None, str]], set[str]]:
    """(class name -> (parent name, note)) from the tree, and the control-flow signals."""
    assert errors.__doc__ is not None
    tree: dict[str, tuple[str | None, str]] = {}
    signals: set[str] = set()
    path: list[str] = []
    in_signals = False
    for line in errors.__doc__.splitlines():
        if line.startswith("Control-flow signals"):
            in_signals = True
        match = _TREE_LINE.match(line)
        if match is None:
            continue
        if in_signals:
            signals.add(match["name"])
            continue
        depth = len(match["rails"]) // 4 + (1 if "+--" in line else 0)
        del path[depth:]
        tree[match["name"]] = (path[-1] if path else None, match["note"])
        path.append(match["name"])
    return tree, signals


def test_the_docstring_tree_is_parsed() -> None:
    tree, signals = _tree()
    assert tree["DotdoError"] == (None, "base of every error dotdo raises on purpose")
    assert tree["BadRequest"][0] == "HttpError" and tree["InvalidTenant"][0] == "BadRequest"
    assert tree["StepMismatch"][0] == "DotdoError"
    assert signals == {"Suspend", "WritesNeeded"}


def test_every_exception_class_is_in_the_tree_under_its_base(
    exception_classes: dict[str, type[BaseException]],
) -> None:
    tree, signals = _tree()
    assert len(exception_classes) > 20  # the walk reached the whole package
    for name, cls in exception_classes.items():
        if issubclass(cls, errors.DotdoError):
            assert name in tree, f"{name} is missing from the tree in dotdo/errors.py"
            parent = tree[name][0]
            if cls is not errors.DotdoError:
                assert parent is not None and cls.__bases__[0] is getattr(errors, parent), name
        else:
            assert name in signals, f"{name} derives from neither DotdoError nor is a listed signal"
            assert not issubclass(cls, Exception), f"{name} is a signal: BaseException only"
    assert set(tree) | signals == set(exception_classes)  # and the tree lists nothing else


def test_public_errors_are_exported_from_dotdo(exception_classes: dict[str, type[BaseException]]) -> None:
    tree, _ = _tree()
    for name, (_, note) in tree.items():
        cls = exception_classes[name]
        if note.startswith("(internal)"):
            assert name not in dotdo.__all__, name
        else:
            assert name in dotdo.__all__ and getattr(dotdo, name) is cls, name
            assert name in errors.__all__ and getattr(errors, name) is cls, name


def test_value_errors_stay_value_errors() -> None:
    for cls in (errors.InvalidTenant, errors.CronError):
        assert issubclass(cls, ValueError) and issubclass(cls, errors.BadRequest)
    error = errors.CronError("bad")
    assert (error.status, error.code, error.to_dict()) == (
        400,
        "invalid_schedule",
        {"error": {"code": "invalid_schedule", "message": "bad"}},
    )
    assert errors.InvalidTenant("x").code == "invalid_tenant"


def test_internal_error_names_the_exception_only_when_asked() -> None:
    """One wording of a 500 `internal_error` for the router and every RPC surface: the bare
    message in production; in development the exception's type and text (300 characters at
    most) and where its traceback is."""
    where = "(ENVIRONMENT=development; the traceback is in the server's output)"
    error = ValueError("boom")
    assert errors.internal_error(error, named=False) == "Internal error"
    assert (
        errors.internal_error(error, named=False, message="Internal server error") == "Internal server error"
    )
    assert errors.internal_error(error, named=True) == f"Internal error: ValueError: boom {where}"
    long = errors.internal_error(ValueError("x" * 1000), named=True)
    assert long == f"Internal error: ValueError: {'x' * 288} {where}"


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_a_named_internal_error_is_answered_whatever_the_exception_says() -> None:
    """The named message is written as a failure is stored: an exception whose `__str__`
    raises is named by its type (the message raised in its turn, and a socket's call was
    never answered), a lone surrogate is U+FFFD (a WebSocket frame holding one is not
    UTF-8: the client closed the socket, 1007), an empty text leaves the type alone."""
    where = "(ENVIRONMENT=development; the traceback is in the server's output)"
    assert errors.internal_error(_Unprintable(), named=True) == f"Internal error: _Unprintable {where}"
    lone = errors.internal_error(ValueError("a \udc80 b"), named=True)
    assert lone == f"Internal error: ValueError: a \ufffd b {where}"
    assert errors.internal_error(KeyError(), named=True) == f"Internal error: KeyError {where}"
    assert errors.internal_error(_Unprintable(), named=False) == "Internal error"


def test_an_await_of_a_value_is_named_with_its_fix_on_every_surface() -> None:
    """`await request.json()` raises CPython's bare TypeError; every surface's development
    answer (one wording, `internal_error`) adds what to do. Other TypeErrors get nothing."""

    async def starlette_habit() -> None:
        await {}.copy()  # type: ignore[misc]  # what `await request.json()` does

    with pytest.raises(TypeError) as raised:
        asyncio.run(starlette_habit())
    hint = error_hint(raised.value)
    assert hint is not None and "drop the `await`" in hint
    said = errors.internal_error(raised.value, named=True)
    assert said.startswith(f"Internal error: TypeError: {raised.value}; {hint} (ENVIRONMENT=development")
    assert errors.internal_error(raised.value, named=False) == "Internal error"
    assert error_hint(TypeError("'bytes' object is not callable")) is None
    assert error_hint(ValueError("can't be awaited")) is None
    assert error_hint(TypeError("'dict' object can't be awaited")) == hint  # CPython 3.14's words


@pytest.mark.parametrize(
    "error",
    [
        TypeError("'coroutine' object is not subscriptable"),
        TypeError("argument of type 'coroutine' is not iterable"),
        TypeError("Object of type coroutine is not JSON serializable"),
        AttributeError("'coroutine' object has no attribute 'get'"),
    ],
)
def test_a_coroutine_used_as_its_value_is_named_a_missing_await(error: Exception) -> None:
    hint = error_hint(error)
    assert hint is not None and hint.startswith("a missing `await`: a call of an async function")


def test_other_attribute_errors_get_no_hint() -> None:
    assert error_hint(AttributeError("'NoneType' object has no attribute 'headers'")) is None
    assert error_hint(AttributeError("'dict' object has no attribute 'coroutine'")) is None


@pytest.mark.parametrize(
    ("status", "kind", "said"),
    [
        (200, ValueError, "Low.status is 200: an HttpError's status is an int from 400 to 599"),
        (399, ValueError, "a success is answered, not raised"),
        (999, ValueError, "Low.status is 999: an HttpError's status is an int from 400 to 599"),
        ("418", TypeError, "Low.status is '418': an HttpError's status is an int from 400 to 599"),
        (True, TypeError, "Low.status is True"),
        (418.0, TypeError, "Low.status is 418.0"),
    ],
)
def test_an_http_error_class_with_a_status_no_surface_sends_is_refused_when_defined(
    status: object, kind: type[Exception], said: str
) -> None:
    """`status = 200` went out as a 200 with an error body on HTTP and /rpc, and 999 or "418"
    as the error itself on /ws, /ws/rpc and /capnweb (the 500 on HTTP alone)."""
    with pytest.raises(kind, match=re.escape(said)):
        type("Low", (HttpError,), {"status": status})


def test_http_error_classes_with_a_status_from_400_to_599_are_taken() -> None:
    class Teapot(BadRequest):
        status = 418

    class Edge(HttpError):
        status = 599

    assert Teapot("t").status == 418 and Edge("e").status == 599


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ({1: "a"}, "BadRequest('x') cannot be sent: its header name 1 is not a str"),
        (
            {"X-A": "1", "x-a": "2"},
            "BadRequest('x') cannot be sent: its headers 'X-A' and 'x-a' are one header",
        ),
    ],
)
def test_an_http_errors_header_names_are_checked_where_built(headers: dict[Any, str], said: str) -> None:
    """`headers={1: "a"}` was an AttributeError ('int' object has no attribute 'lower')
    naming neither the error nor the header; two names in two cases kept the last silently."""
    with pytest.raises(TypeError, match=re.escape(said)):
        BadRequest("x", headers=headers)
    assert BadRequest("x", headers={"X-A": "1"}).headers == {"x-a": "1"}


@pytest.mark.parametrize("build", [json_response, json_text_response])
def test_json_responses_header_names_are_checked(build: Any) -> None:
    name = build.__name__
    with pytest.raises(TypeError, match=re.escape(f"{name}: headers 'ETag' and 'etag' are one header")):
        build("1", headers={"ETag": '"1"', "etag": '"2"'})
    with pytest.raises(TypeError, match=re.escape(f"{name}: header name 1 is not a str")):
        build("1", headers={1: "a"})
    assert build("1", headers={"Content-Type": "text/plain"}).headers == {"content-type": "text/plain"}
