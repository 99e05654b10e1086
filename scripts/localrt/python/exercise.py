"""Run under Node by record-wasm.mjs: the Python start-up the host performs, so
that every wasm module Pyodide compiles on that path gets recorded."""

import asyncio
import sys

import js
from pyodide.ffi import create_proxy, to_js

sys.path[:0] = list(record_roots)  # noqa: F821 - set by record-wasm.mjs


async def _exercise() -> None:
    callback = create_proxy(lambda *args: None)
    js.setTimeout(callback, 0)
    to_js({"a": [1, 2.5, "x", None, True]}, dict_converter=js.Object.fromEntries)
    await asyncio.sleep(0)
    callback.destroy()


await _exercise()  # noqa: F704 - run with runPythonAsync
