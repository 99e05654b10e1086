"""Run under Node by record-wasm.mjs after Pyodide has booted: the FFI paths the
host uses at run time (proxies, JS callbacks, conversions, the event loop), so
that the wasm modules Pyodide compiles for them get recorded too."""

import asyncio

import js
from pyodide.ffi import create_proxy, to_js


async def _exercise() -> None:
    fired: asyncio.Future[None] = asyncio.get_event_loop().create_future()

    def on_timer(*args: object) -> None:
        if not fired.done():
            fired.set_result(None)

    callback = create_proxy(on_timer)
    js.setTimeout(callback, 0)
    to_js({"a": [1, 2.5, "x", None, True]}, dict_converter=js.Object.fromEntries)
    await asyncio.sleep(0)
    # Destroy the proxy only once the timer has called it: destroyed earlier, the timer
    # would call a dead proxy and take the whole recording process down with it.
    await fired
    callback.destroy()


await _exercise()  # type: ignore[top-level-await]  # noqa: F704 - run with runPythonAsync
