# The JavaScript global scope as Pyodide exposes it: untyped.
from typing import Any

def __getattr__(name: str) -> Any: ...
