"""Application code that fails in odd ways, through the local runtime (ADR 0042): a durable
handler, a step or a workflow raising `SystemExit`, `KeyboardInterrupt` or `GeneratorExit`,
an error whose `__str__` raises, a message past SQLite's 2 MB string, a result past 1 MiB.
Each is that code's failure, with its text stored: never a 500, a timer pass that fails, or
a run left `running`."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.runtime import LocalRuntime, new_tenant

KINDS = ["exit", "keyboard", "generator_exit", "unprintable", "huge", "surrogate"]
ERROR_TEXT_CHARS = 4096


def now_ms() -> int:
    return int(time.time() * 1000)


def run_due(client: httpx.Client, now: int) -> dict[str, int]:
    response = client.post("/_workflow/_test/alarm", json={"now": now})
    assert response.status_code == 200, response.text
    result: dict[str, int] = response.json()
    return result


def counters(runtime: LocalRuntime, tenant: str, *keys: str) -> dict[str, Any]:
    response = runtime.rpc(tenant, "counters", *keys, binding="WORKFLOW").json()
    assert "result" in response, response
    result: dict[str, Any] = response["result"]
    return result


def assert_storable(text: object) -> None:
    assert isinstance(text, str) and 0 < len(text) <= ERROR_TEXT_CHARS
    assert "\ufffd\ufffd\ufffd" not in text  # a lone surrogate is one U+FFFD


@pytest.mark.parametrize("kind", KINDS)
def test_a_handler_failing_oddly_is_retried_then_a_dead_letter(runtime: LocalRuntime, kind: str) -> None:
    tenant = new_tenant()
    with runtime.client(tenant) as c:
        sent_at = now_ms()
        sent = c.post("/_workflow/events", json={"type": "Odd.raised", "data": {"kind": kind}})
        assert sent.status_code == 201, sent.text
        ran = counters(runtime, tenant, "ran:odd_handler", "ran:odd_handler_after")
        assert ran == {"ran:odd_handler": 1, "ran:odd_handler_after": 1}  # the next handler ran
        assert run_due(c, sent_at + 5_000)["deliveries"] == 1  # its retry, in a pass that answers
        assert run_due(c, sent_at + 10_000)["deliveries"] == 1
        (dead,) = c.get("/_workflow/events/dead").json()["items"]
        assert dead["handler"] == "odd_handler" and dead["attempts"] == 3
        assert_storable(dead["last_error"])
        assert run_due(c, now_ms() + 3_600_000)["deliveries"] == 0  # a dead letter rests
        assert counters(runtime, tenant, "ran:odd_handler")["ran:odd_handler"] == 3


@pytest.mark.parametrize(
    "spec",
    [{"kind": kind} for kind in KINDS]
    + [{"kind": "none", "raise": kind} for kind in KINDS]
    + [{"kind": "huge_result"}, {"kind": "none", "huge_result": True}],
    ids=lambda spec: "-".join(f"{k}={v}" for k, v in spec.items()),
)
def test_a_workflow_failing_oddly_fails_its_run(runtime: LocalRuntime, spec: dict[str, Any]) -> None:
    with runtime.client() as c:
        started = c.post("/_workflow/workflows/odd_flow", json={"input": spec, "id": "run-1"})
        assert started.status_code == 201, started.text
        run = started.json()
        assert run["status"] == "failed"
        assert_storable(run["error"])
        assert c.get("/_workflow/workflows/run-1").json() == run
        assert run_due(c, now_ms() + 3_600_000)["workflows"] == 0  # nothing left to resume
