"""A route that reads no body says so (`body=False`), and a request sending one is a 400
`unexpected_body` before its handler runs: `POST /storage/flush` with a JSON body was
answered as if none had been sent. Every framework route whose handler reads no body
declares it; an app's route takes a body unless it says otherwise."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from dotdo import HttpRequest, HttpResponse, Router, json_response

SOURCE = Path(__file__).resolve().parents[3] / "src" / "dotdo"
BODY_METHODS = frozenset({"post", "put", "patch", "delete", "all"})
READS = ("request.json(", "request.body", "request.text(")


def _router(calls: list[str]) -> Router:
    router = Router()

    async def flush(request: HttpRequest) -> HttpResponse:
        calls.append("flush")
        return json_response({"flushed": True})

    async def create(request: HttpRequest) -> HttpResponse:
        return json_response({"body": request.text()})

    router.post("/flush", body=False)(flush)
    router.delete("/things/:id", query=("hard",), body=False)(flush)
    router.post("/things")(create)
    return router


def _send(router: Router, method: str, path: str, body: bytes) -> HttpResponse:
    request = HttpRequest(method, f"http://t.localhost{path}", {"content-type": "application/json"}, body)
    return asyncio.run(router.handle(request))


@pytest.mark.parametrize(("method", "path"), [("POST", "/flush"), ("DELETE", "/things/a?hard=true")])
@pytest.mark.parametrize("body", [b"{}", b'{"before": 1}', b"null", b"x", b"\x0c", b" \x0b "])
def test_a_body_to_a_route_that_takes_none_is_refused_before_its_handler(
    method: str, path: str, body: bytes
) -> None:
    calls: list[str] = []
    response = _send(_router(calls), method, path, body)
    assert response.status == 400
    error = response.json()["error"]
    assert error["code"] == "unexpected_body"
    assert "takes no body" in error["message"]
    assert calls == []


@pytest.mark.parametrize("body", [b"", b"  \r\n\t"])
def test_no_body_or_only_whitespace_is_no_body(body: bytes) -> None:
    calls: list[str] = []
    response = _send(_router(calls), "POST", "/flush", body)
    assert response.status == 200 and calls == ["flush"]


def test_a_route_that_does_not_say_takes_a_body() -> None:
    response = _send(_router([]), "POST", "/things", b'{"a": 1}')
    assert response.status == 200 and response.json() == {"body": '{"a": 1}'}


def test_an_unknown_query_parameter_is_named_before_the_body() -> None:
    response = _send(_router([]), "DELETE", "/things/a?bogus=1", b"{}")
    assert response.json()["error"]["code"] == "invalid_query"


def _reads_body(name: str, functions: dict[str, ast.AST], text: str, seen: set[str]) -> bool:
    """Does the function `name` of a module read the request's body, itself or through a
    function of the same module it hands the request to?"""
    if name in seen or name not in functions:
        return False
    seen.add(name)
    node = functions[name]
    source = ast.get_source_segment(text, node) or ""
    if any(mark in source for mark in READS):
        return True
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        if any(isinstance(a, ast.Name) and a.id == "request" for a in call.args):
            callee = call.func
            called = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            if _reads_body(called, functions, text, seen):
                return True
    return False


def _framework_routes() -> list[tuple[str, str, bool, bool]]:
    """(where, method, declares body=False, the handler reads the body) of every framework
    route of a method that may carry one."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.name == "router.py":
            continue
        text = path.read_text()
        tree = ast.parse(text, str(path))
        defined = (ast.FunctionDef, ast.AsyncFunctionDef)
        functions: dict[str, ast.AST] = {
            node.name: node for node in ast.walk(tree) if isinstance(node, defined)
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and node.args):
                continue
            register = node.func
            if not (
                isinstance(register.func, ast.Attribute)
                and register.func.attr in BODY_METHODS
                and isinstance(register.func.value, ast.Name)
                and register.func.value.id == "router"
            ):
                continue
            handler = node.args[0]
            name = handler.attr if isinstance(handler, ast.Attribute) else getattr(handler, "id", "")
            declared = any(
                k.arg == "body" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in register.keywords
            )
            where = f"{path.relative_to(SOURCE)}:{node.lineno} {register.func.attr} {name}"
            found.append((where, register.func.attr, declared, _reads_body(name, functions, text, set())))
    return found


def test_the_scan_finds_the_framework_routes() -> None:
    routes = _framework_routes()
    assert len(routes) >= 25  # a scan that finds nothing would pass anything
    assert any(declared for _, _, declared, _ in routes)
    assert any(reads for _, _, _, reads in routes)


def test_every_framework_route_whose_handler_reads_no_body_declares_it() -> None:
    wrong = [
        f"{where} ({'declares body=False but reads one' if declared else 'reads no body but takes one'})"
        for where, _, declared, reads in _framework_routes()
        if declared == reads
    ]
    assert wrong == []


def test_a_capnweb_batch_of_whitespace_is_an_empty_batch() -> None:
    """`POST /capnweb` with a body of spaces aborted ("message is not JSON") where an empty
    body answered an empty batch: whitespace is no body there too (`has_body`)."""
    from tests.unit.core.test_transport import Host, request

    for body in (b"", b"\n", b" ", b"\t\r\n "):
        answer = request(Host(secret=None, environment="development"), "POST", "/capnweb", body)
        assert (answer.status, answer.body) == (200, ""), body
