"""An app's `routes` or `middleware` hook that leaves out `super()` serves none of dotdo's
routes (`/health`, `/rpc`, the thing routes answer 404) or installs no CORS, which was silent:
it is logged once a class, unless `hooks_without_super` says it is meant."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from dotdo import CorsPolicy, DOCore, DOWorkflow, HttpRequest, HttpResponse, Router, cors, json_response
from tests.storage import Storage


def build(cls: type[DOCore]) -> DOCore:
    return cls(SimpleNamespace(storage=Storage(), id=None), SimpleNamespace(ENVIRONMENT="development"))


def skipped(caplog: pytest.LogCaptureFixture, cls: type[DOCore], times: int = 2) -> list[str]:
    with caplog.at_level(logging.WARNING, logger="dotdo.http"):
        for _ in range(times):  # a wake each: said once
            build(cls)
    return [r.getMessage() for r in caplog.records if r.name == "dotdo.http"]


async def queue(request: HttpRequest) -> HttpResponse:
    return json_response([])


def test_routes_without_super_is_a_warning_once_naming_the_fix(caplog: pytest.LogCaptureFixture) -> None:
    class Desk(DOWorkflow):
        def routes(self, router: Router) -> None:
            router.get("/queue")(queue)

    (message,) = skipped(caplog, Desk)
    assert message.startswith(
        "test_routes_without_super_is_a_warning_once_naming_the_fix.<locals>.Desk.routes did not call "
        "super().routes(router): dotdo's routes are not served: /health, /rpc"
    )
    assert "set hooks_without_super = ('routes',) on" in message


def test_middleware_without_super_is_a_warning_naming_cors(caplog: pytest.LogCaptureFixture) -> None:
    class Desk(DOWorkflow):
        def middleware(self, router: Router) -> None:
            async def header(request: HttpRequest, call_next: Any) -> HttpResponse:
                response: HttpResponse = await call_next(request)
                return response

            router.use(header)

    (message,) = skipped(caplog, Desk)
    assert (
        "Desk.middleware did not call super().middleware(router): dotdo's middleware is not installed: "
        "no CORS" in message
    )


def test_hooks_calling_super_are_quiet(caplog: pytest.LogCaptureFixture) -> None:
    class Desk(DOWorkflow):
        def routes(self, router: Router) -> None:
            super().routes(router)
            router.get("/queue")(queue)

        def middleware(self, router: Router) -> None:
            super().middleware(router)

    class Later(Desk):  # a subclass whose base calls super()
        def routes(self, router: Router) -> None:
            super().routes(router)

    assert skipped(caplog, Desk) == skipped(caplog, Later) == []


def test_hooks_without_super_says_leaving_dotdos_out_is_meant(caplog: pytest.LogCaptureFixture) -> None:
    class OwnCors(DOWorkflow):  # dotdo's CORS, installed by the app itself: nothing lost
        def middleware(self, router: Router) -> None:
            router.use(cors(CorsPolicy(origins=frozenset({"https://desk.example"}))))

    assert skipped(caplog, OwnCors) == []

    class OwnRoutesOnly(DOWorkflow):
        hooks_without_super = ("routes", "middleware")

        def routes(self, router: Router) -> None:
            router.get("/queue")(queue)

        def middleware(self, router: Router) -> None:
            pass

    assert skipped(caplog, OwnRoutesOnly) == []


@pytest.mark.parametrize("hooks", ["routes", ("route",), ("alarm",)])
def test_hooks_without_super_is_checked_when_the_class_is_created(hooks: Any) -> None:
    with pytest.raises(ValueError, match="hooks_without_super"):
        type("Desk", (DOCore,), {"hooks_without_super": hooks})
