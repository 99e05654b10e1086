"""A DOCore subclass with test-only RPC methods: alarms and broadcasts on demand."""

import time

from harness_lifetime import Lifetime

from dotdo import AlarmInfo, BadRequest, DOCore, HttpRequest, HttpResponse, rpc

ODD_ANSWERS = {
    "204text": HttpResponse(204, "not empty"),
    "crlf": HttpResponse(200, "x", {"x-a": "a\r\nset-cookie: evil=1"}),
    "name": HttpResponse(200, "x", {"bad name": "v"}),
    "hnone": HttpResponse(200, "x", {"x-a": None}),
    "surrogate": HttpResponse(200, "a\ud800b", {"x-harness-body": "surrogate"}),
    "204empty": HttpResponse(204, ""),
    # Header blocks past what the runtime sends (the request was never answered), one at
    # the bound (sent, with CORS), one header in two cases, an allow-origin of the app's own.
    "hlarge": HttpResponse(200, "x", {"x-long": "v" * 200_000}),
    "hmany": HttpResponse(200, "x", {f"x-h{i}": "v" * 100 for i in range(1200)}),
    "hbound": HttpResponse(200, "x", {"x-long": "v" * (96 * 1024 - 10)}),
    "hcase": HttpResponse(200, "x", {"Content-Type": "text/plain", "content-type": "text/html"}),
    "hcors": HttpResponse(200, "x", {"Access-Control-Allow-Origin": "http://evil"}),
}


class HarnessCore(Lifetime, DOCore):
    # This class needs capability tokens (the tests set this var); the production-mode
    # runtime sets neither, so there this class is closed (auth_not_configured).
    secret_bindings = ("HARNESS_RPC_SECRET",)
    operator_token_binding = "HARNESS_AUTH_TOKEN"

    def routes(self, router):
        super().routes(router)
        router.get("/body/:kind", scope="public")(self._body)
        router.post("/reset", scope="public")(self._reset)
        router.post("/break", scope="public")(self._break)

    async def _reset(self, request: HttpRequest) -> HttpResponse:
        """`ctx.abort()`: the runtime resets this object; nothing after it runs."""
        self.ctx.abort(request.query("reason") or "reset by a request")
        return HttpResponse(200, "not reset")

    async def _break(self, request: HttpRequest) -> HttpResponse:
        """A `blockConcurrencyWhile` callback that raises: the runtime breaks (resets) the object."""
        from pyodide.ffi import create_once_callable

        async def fail() -> None:
            raise RuntimeError("broken by a request")

        await self.ctx.blockConcurrencyWhile(create_once_callable(fail))
        return HttpResponse(200, "not broken")

    async def _body(self, request: HttpRequest) -> HttpResponse:
        """One answer with a text body or the same as bytes (the two ways `fetch` builds the
        runtime's Response), or with none (HEAD, 204); or one the runtime cannot send as it
        is (`ODD_ANSWERS`), or an HttpError none can (`details`)."""
        kind = request.params["kind"]
        if kind in ODD_ANSWERS:
            return ODD_ANSWERS[kind]
        if kind == "details":
            raise BadRequest("odd details", code="odd", details={"o": object()})
        text = '{"text":"h\u00e9llo \u2603"}'
        body = {"bytes": text.encode(), "text": text, "none": None}[kind]
        headers = {"content-type": "application/json; charset=utf-8", "x-harness-body": kind, "etag": '"1"'}
        return HttpResponse(204 if body is None else 200, body, headers)

    async def on_message(self, connection, message):
        # Hooks whose failure no frame can carry as it is: the tests of dotdo.core.hooks.
        if message == "raise_details":
            raise BadRequest("unserializable details", code="ws_bad", details={"x": object()})
        if message == "close_then_raise":
            connection.close(4000, "closing")
            raise BadRequest("after the close", code="late")
        await super().on_message(connection, message)

    async def on_close(self, connection, code, reason):
        await super().on_close(connection, code, reason)
        if reason == "raise_http":
            raise BadRequest("on_close refused", code="close_bad")

    async def on_alarm(self, info: AlarmInfo) -> None:
        await super().on_alarm(info)
        fired = self.state.get("harness:alarms") or []
        fired.append({"at": int(time.time() * 1000), "scheduled": info.scheduled_time})
        self.state.set("harness:alarms", fired)

    @rpc
    async def set_alarm(self, delay_ms: int) -> int:
        return await self.alarms.set(int(time.time() * 1000) + delay_ms)

    @rpc
    async def get_alarm(self) -> int | None:
        return await self.alarms.get()

    @rpc
    async def cancel_alarm(self) -> None:
        await self.alarms.cancel()

    @rpc
    def keep(self, key: str, value: object) -> None:
        self.state.set(key, value)

    @rpc(scope="read")
    def kept(self, key: str) -> object:
        return self.state.get(key)

    @rpc
    def reset(self, reason: str) -> str:
        self.ctx.abort(reason)
        return "not reset"

    @rpc(scope="read")
    def whoami(self) -> str | None:
        return self.object_name

    # Methods named as the local runtime's JavaScript shell once named its own state: the
    # shell must forward every one of them to the Python class.
    @rpc(scope="read")
    def instance(self) -> str:
        return "the app's instance()"

    @rpc(scope="read")
    def python(self) -> str:
        return "the app's python()"

    @rpc(scope="read")
    def calls(self) -> str:
        return "the app's calls()"

    @rpc(scope="read")
    def release(self) -> str:
        return "the app's release()"

    @rpc(scope="admin")
    def wipe(self) -> str:
        return "wiped"

    @rpc
    def fired_alarms(self) -> list:
        return self.state.get("harness:alarms") or []

    @rpc
    def broadcast_message(self, message: str, tag: str | None = None) -> int:
        return self.broadcast(message, tag=tag)

    @rpc
    def connection_count(self, tag: str | None = None) -> int:
        return self.websockets.count(tag)

    def helper_not_marked(self) -> str:
        return "not reachable over RPC"

    @rpc
    def fail(self) -> None:
        raise RuntimeError("boom from the object")

    async def fetch(self, request):
        # Raises past DOCore's router, to show the runtime's own last-resort answer.
        if request.url.endswith("/crash"):
            raise RuntimeError("crash in fetch")
        return await super().fetch(request)
