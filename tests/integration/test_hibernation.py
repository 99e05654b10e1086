"""Sockets across hibernation: the runtime evicts an object whose only open work is
hibernatable sockets after ~10 s idle and builds a new instance for the next
message. Everything a socket needs must come back from its attachment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dotdo.wire.tokens import mint
from tests.conftest import HARNESS_RPC_SECRET
from tests.eviction import wait_until_evicted
from tests.integration.test_rpc_surfaces import socket_to
from tests.runtime import ROOT, LocalRuntime, new_tenant


def built_at(runtime: LocalRuntime, binding: str, tenant: str) -> float:
    built: float = runtime.rpc(tenant, "built_at", binding=binding).json()["result"]
    return built


def test_sockets_work_the_same_after_the_object_hibernates(runtime: LocalRuntime) -> None:
    core, semantic, workflow = new_tenant(), new_tenant(), new_tenant()
    reader = mint(HARNESS_RPC_SECRET, target=core)  # HarnessCore needs a token
    script = Path(ROOT) / "tests" / "node" / "capnweb_hibernation.mjs"
    with subprocess.Popen(
        ["node", str(script), f"http://{semantic}.localhost:{runtime.port}/_semantic/capnweb"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as capnweb:
        assert capnweb.stdout is not None and capnweb.stdin is not None
        before = json.loads(capnweb.stdout.readline())["before"]
        assert before == [{"value": "before"}, {"value": "hey, carol"}]
        with (
            socket_to(runtime, core, f"/_harness/ws?tags=red&token={reader}") as plain,
            socket_to(runtime, workflow, "/_workflow/ws/rpc") as subscriber,
        ):
            plain.send(json.dumps({"type": "ping"}))
            connection_id = json.loads(plain.recv(timeout=10))["connection"]
            subscriber.send(json.dumps({"id": 1, "method": "subscribe", "params": ["Customer.*"]}))
            assert json.loads(subscriber.recv(timeout=10))["result"] == {"subscriptions": ["Customer.*"]}
            first = {
                "HARNESS": (core, built_at(runtime, "HARNESS", core)),
                "SEMANTIC": (semantic, built_at(runtime, "SEMANTIC", semantic)),
                "WORKFLOW": (workflow, built_at(runtime, "WORKFLOW", workflow)),
            }
            wait_until_evicted(
                lambda b: built_at(runtime, b, first[b][0]), {b: at for b, (_, at) in first.items()}
            )

            # the plain socket: same connection, same tags
            plain.send(json.dumps({"type": "ping"}))
            assert json.loads(plain.recv(timeout=10)) == {"type": "pong", "connection": connection_id}
            assert runtime.rpc(core, "connection_count", "red", binding="HARNESS").json()["result"] == 1
            assert (
                runtime.rpc(core, "broadcast_message", "to red", "red", binding="HARNESS").json()["result"]
                == 1
            )
            assert plain.recv(timeout=10) == "to red"

            # the subscription lives in the socket's attachment
            with runtime.client(workflow) as c:
                c.post("/_workflow/Customer", json={"$id": "after-hibernation"})
            pushed = json.loads(subscriber.recv(timeout=10))
            assert pushed["method"] == "event" and pushed["params"]["subject"] == "after-hibernation"

            # Cap'n Web: the session goes on numbering where it was; a reference from
            # before is gone and says so, without ending the session
            capnweb.stdin.write("go\n")
            capnweb.stdin.flush()
            after = json.loads(capnweb.stdout.readline())["after"]
            assert after[0] == {"value": "after"}
            assert after[1]["code"] == "reference_lost"
            assert after[2] == {"value": "hi, dan"}
        assert capnweb.wait(timeout=30) == 0
