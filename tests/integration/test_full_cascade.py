"""The cascade's AI tier through the real runtime: code has no answer, one AI call (to the
loopback OpenAI-compatible server of test_full_ai.py, an HTTP-boundary test server that
counts the prompts it answers) does, and a replay of the run does not ask again."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer

from tests.integration.test_full_ai import OpenAiTestServer, ai_runtime, openai_server
from tests.runtime import LocalRuntime

__all__ = ["ai_runtime", "openai_server"]  # the fixtures, shared with test_full_ai.py


def test_the_ai_tier_answers_once_and_a_replay_takes_its_record(
    ai_runtime: LocalRuntime, openai_server: tuple[HTTPServer, OpenAiTestServer]
) -> None:
    with ai_runtime.client() as c:
        ticket = {"text": f"help {c.tenant}"}
        run = c.post("/_fanout/workflows/triage_by_ai", json={"input": ticket}).json()
        assert run["status"] == "waiting", run  # the step after the cascade failed once
        fired = c.post("/_fanout/_test/alarm", json={"now": run["next_at"] + 1000})
        assert fired.status_code == 200, fired.text
        done = c.get(f"/_fanout/workflows/{run['id']}").json()
    assert done["status"] == "completed", done
    result = done["result"]
    assert result["tier"] == "generative"
    assert [(a["tier"], a["reason"]) for a in result["attempts"]] == [
        ("code", "rejected: the check returned False (True accepts, a string says why not)"),
        ("generative", None),
    ]
    prompt = f"Pick a queue\n\nTask: triage\nInput: {json.dumps(ticket)}"
    assert result["answer"] == f"summary of: {prompt}"
    assert openai_server[1].prompts[prompt] == 1  # asked once; the replay took the record
