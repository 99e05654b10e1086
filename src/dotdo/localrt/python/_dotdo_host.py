"""Dispatch from the local runtime's JavaScript shells to the project's Python classes.

Mirrors what Cloudflare's runtime does for a Python Worker: `fetch` receives a
`workers.Request` and may drop extra arguments; `alarm` and the WebSocket
handlers receive the raw JavaScript arguments; every other public method is an
RPC method whose arguments and result cross the boundary through the SDK's
`python_from_rpc` / `python_to_rpc`. `load_main` imports the app once per
interpreter and reports what the terminal should show when that fails. Served for
`dotdo.testing` (`control`), each of the app's dotdo objects gets the test routes of
`dotdo.testing.control` (time travel, fault points); never under `dotdo dev`.
"""

import importlib
import inspect
import json
import logging
import sys
import traceback
from types import FunctionType, ModuleType
from typing import Any

import js
from pyodide.code import relaxed_call
from workers import (
    DurableObject,
    Request,
    WorkerEntrypoint,
    python_from_rpc,
    python_to_rpc,
)

_main: ModuleType | None = None
logger = logging.getLogger("dotdo.localrt")
_rpc_methods: dict[type, frozenset[str]] = {}
_served: dict[str, type] = {}
"""Durable Object classes served in place of the exported ones (with the test routes)."""


def load_main(module_name: str, main_file: str, class_names: Any, control: bool = False) -> str | None:
    """Import the app's main module and check that it exports every Durable Object class
    in `class_names` (a JS array: the config's bound and migrated classes); with `control`,
    serve each of them that is a dotdo object with the test routes.

    Returns None when all is well, else the text to show: the traceback of the failed
    import (SyntaxError, ImportError, a bad schedule's CronError...) from the app's own
    frames on, or one line per missing class."""
    global _main
    try:
        _main = importlib.import_module(module_name)
    except Exception as error:
        return _app_traceback(error)
    problems = []
    for name in class_names:
        try:
            _exported_class(str(name), DurableObject)
        except TypeError:
            listed = getattr(_main, "__all__", None)
            if listed and name not in listed and isinstance(getattr(_main, name, None), type):
                problems.append(
                    f"{main_file} defines {name!r}, which wrangler.toml binds or a migration creates, "
                    f"but its __all__ leaves it out: add {name!r} to __all__"
                )
            else:
                problems.append(
                    f"{main_file} does not export a Durable Object class named {name!r}, "
                    "which wrangler.toml binds or a migration creates (a class renamed in the code "
                    "needs a migration that renames it too: renamed_classes, or deleted_classes "
                    "to drop it and its objects)"
                )
    default = getattr(_main, "Default", None)
    if default is not None and not (isinstance(default, type) and issubclass(default, WorkerEntrypoint)):
        # Every request of the worker reaches it; found at the first one, it was a bare 500
        # per request while the server said "Ready" (and `dotdo test` waited its whole timeout).
        what = f"the class {default.__name__}" if isinstance(default, type) else type(default).__name__
        problems.append(
            f"{main_file}'s Default is {what}, not a WorkerEntrypoint subclass: the worker's "
            "requests reach `class Default(WorkerEntrypoint)` and its `async def fetch`"
        )
    if problems:
        return "\n".join(problems)
    if control:
        return _serve_with_control_routes([str(name) for name in class_names])
    return None


def loaded_modules(app_dir: str, nested_roots: Any = ()) -> list[str]:
    """The modules this interpreter has imported from files other than the app's sources
    (those in `app_dir`, the main module's folder, but in none of `nested_roots`, the other
    roots inside it: a JS array), in import order: what a reload's interpreter imports ahead
    of a save (host.mjs), since a save of the app changes none of them."""
    inside = app_dir.rstrip("/") + "/"
    elsewhere = tuple(str(root).rstrip("/") + "/" for root in nested_roots)
    names = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and (not file.startswith(inside) or file.startswith(elsewhere)):
            names.append(name)
    return names


def preload(name: str) -> None:
    """Import `name` ahead of the app (a reload's interpreter, before the save's sources are
    written). A module that fails here (one that imports the app) is simply left out:
    `load_main` imports it again with the app, and reports its error then."""
    try:
        importlib.import_module(name)
    except Exception:
        logger.debug("not imported ahead of the app: %s", name, exc_info=True)


def invalidate_caches() -> None:
    """Forget what the import system knows of the folders on sys.path: a reload has just
    written the saved sources (`importlib.invalidate_caches`)."""
    importlib.invalidate_caches()


def _serve_with_control_routes(class_names: list[str]) -> str | None:
    """Serve each exported DOCore subclass as `dotdo.testing.control.with_control_routes(cls)`.
    An app that does not use dotdo (no DOCore loaded) is served as it is."""
    durable = sys.modules.get("dotdo.core.durable")
    if durable is None:
        return None
    try:
        control = importlib.import_module("dotdo.testing.control")
        for name in class_names:
            cls = _exported_class(name, DurableObject)
            if issubclass(cls, durable.DOCore):
                _served[name] = control.with_control_routes(cls)
    except Exception as error:
        return "the test routes (dotdo.testing.control) failed to load:\n" + _app_traceback(error)
    return None


def _app_traceback(error: BaseException) -> str:
    """The traceback without this module's and importlib's own frames."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename != __file__
        and not frame.filename.startswith("<frozen ")
        and "/importlib/" not in frame.filename
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)] if frames else []
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines).rstrip("\n")


def _exported_class(name: str, base: type) -> type:
    assert _main is not None, "load_main() runs before any dispatch"
    names = getattr(_main, "__all__", None) or [n for n in dir(_main) if not n.startswith("_")]
    cls = getattr(_main, name, None) if name in names else None
    if not (isinstance(cls, type) and issubclass(cls, base) and cls is not base):
        raise TypeError(f"{_main.__name__} does not export a {base.__name__} subclass named {name!r}")
    return cls


def _public_methods(cls: type) -> frozenset[str]:
    methods = _rpc_methods.get(cls)
    if methods is None:
        found = set()
        for name in dir(cls):
            if name.startswith("_"):
                continue
            for base in cls.__mro__:
                if name in base.__dict__:
                    if isinstance(base.__dict__[name], FunctionType):
                        found.add(name)
                    break
        methods = _rpc_methods[cls] = frozenset(found)
    return methods


def construct(class_name: str, ctx: Any, env: Any) -> Any:
    """A new instance of the Durable Object class `class_name` (the one served in its place
    with the test routes, if any), as the runtime builds one on an object's first event."""
    cls = _served.get(class_name) or _exported_class(class_name, DurableObject)
    return cls(ctx, env)


async def _settle(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


def _internal_error_response() -> Any:
    body = json.dumps({"error": {"code": "internal_error", "message": "Internal server error"}})
    headers = js.Headers.new()
    headers.set("content-type", "application/json")
    init = js.Object.new()
    init.status = 500
    init.headers = headers
    return js.Response.new(body, init)


def _to_js_response(result: Any) -> Any:
    return getattr(result, "js_object", result)


async def call_fetch(instance: Any, request: Any) -> Any:
    """`instance.fetch` with the JS request as a `workers.Request`; the JS Response. An
    exception is logged and answered 500 `internal_error`, as Cloudflare answers it."""
    try:
        return _to_js_response(await _settle(relaxed_call(instance.fetch, Request(request))))
    except Exception:
        logger.exception("%s.fetch raised", type(instance).__name__)
        return _internal_error_response()


async def call_default_fetch(request: Any, env: Any, ctx: Any) -> Any:
    """The main module's `Default` entrypoint's `fetch`, as `call_fetch` calls an object's."""
    try:
        entrypoint = _exported_class("Default", WorkerEntrypoint)(ctx, env)
        return _to_js_response(await _settle(relaxed_call(entrypoint.fetch, Request(request))))
    except Exception:
        logger.exception("Default.fetch raised")
        return _internal_error_response()


async def call_raw(instance: Any, name: str, *args: Any) -> Any:
    """A runtime handler (`alarm`, `webSocketMessage`, ...) with the raw JS arguments, as
    Cloudflare passes them; None when the class has no such handler."""
    handler = getattr(instance, name, None)
    if handler is None:
        return None
    return await _settle(relaxed_call(handler, *args))


async def call_rpc(instance: Any, name: str, *args: Any) -> Any:
    """A Workers RPC call of the public method `name`, arguments and result converted by the
    SDK's `python_from_rpc` / `python_to_rpc`; TypeError for a name that is not one."""
    if name not in _public_methods(type(instance)):
        raise TypeError(f"The RPC receiver does not implement the method {name!r}.")
    py_args = [python_from_rpc(arg) for arg in args]
    return python_to_rpc(await _settle(getattr(instance, name)(*py_args)))
