# The parts of the `workers` SDK (workers-runtime-sdk) that dotdo uses.
from typing import Any

class DurableObject:
    ctx: Any
    env: Any
    def __init__(self, ctx: Any, env: Any) -> None: ...

class WorkerEntrypoint:
    ctx: Any
    env: Any
    def __init__(self, ctx: Any, env: Any) -> None: ...

class Request:
    def __init__(self, input: Any, **options: Any) -> None: ...
    @property
    def js_object(self) -> Any: ...
    def __getattr__(self, name: str) -> Any: ...

class Response:
    def __init__(
        self,
        body: Any = None,
        status: int | None = None,
        status_text: str = "",
        headers: Any = None,
        web_socket: Any = None,
    ) -> None: ...
    @staticmethod
    def json(data: Any, status: int | None = None, headers: Any = None) -> Response: ...

def python_from_rpc(obj: Any) -> Any: ...
def python_to_rpc(value: Any) -> Any: ...
