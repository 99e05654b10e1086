from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

def relaxed_call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
