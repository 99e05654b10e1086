"""The dispatch work done once per method (compiled binders and checks, resolution
remembered per class) gives the answer the general path gives, errors included, for any
call: each fast path is held against the path it stands beside."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import HttpError, RpcTarget, rpc
from dotdo.errors import BadRequest
from dotdo.remote import calls
from dotdo.remote.argtypes import check_argument_types, compile_check, conforms
from dotdo.remote.marks import is_reference, rpc_scope, seal_rpc_surface
from dotdo.remote.targets import resolve_operation, snake_case
from dotdo.types import JSON

T = TypeVar("T")

SCALARS: list[Any] = [Any, object, T, None, type(None), bool, int, float, str, bytes, datetime, JSON]
annotations = st.recursive(
    st.sampled_from(SCALARS),
    lambda inner: st.one_of(
        inner.map(lambda a: list[a]),  # type: ignore[valid-type]
        inner.map(lambda a: Sequence[a]),  # type: ignore[valid-type]
        inner.map(lambda a: Iterable[a]),  # type: ignore[valid-type]
        inner.map(lambda a: tuple[a, ...]),  # type: ignore[valid-type]
        st.tuples(inner, inner).map(lambda ab: tuple[ab[0], ab[1]]),  # type: ignore[valid-type]
        inner.map(lambda a: dict[str, a]),  # type: ignore[valid-type]
        inner.map(lambda a: Mapping[str, a]),  # type: ignore[valid-type]
        inner.map(lambda a: MutableMapping[str, a]),  # type: ignore[valid-type]
        st.tuples(inner, inner).map(lambda ab: Union[ab[0], ab[1]]),  # noqa: UP007 - any two forms
        st.just(Literal["a", 1, True]),
        st.just(list),
        st.just(dict),
    ),
    max_leaves=6,
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.just(datetime(2026, 1, 1)),
    st.sampled_from(["a", 1, True, 1.0]),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 3)), inner, max_size=3),
    ),
    max_leaves=8,
)


def safely(check: Callable[[], bool]) -> Any:
    try:
        return check()
    except Exception as exc:  # a form neither path takes apart: the same failure from both
        return type(exc)


@settings(max_examples=600)
@given(annotation=annotations, value=values)
def test_a_compiled_check_answers_as_conforms_does(annotation: Any, value: Any) -> None:
    assert safely(lambda: compile_check(annotation)(value)) == safely(lambda: conforms(value, annotation))


TRICKY: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    2**60,
    1.5,
    float("nan"),
    "",
    "a",
    b"a",
    [],
    [1],
    (1, "a"),
    {},
    {"a": 1},
]


@pytest.mark.parametrize(
    "annotation",
    [*SCALARS, int | None, float | str, list[int], dict[str, int], tuple[int, str], Literal["a", 1, True]],
)
def test_a_compiled_check_answers_as_conforms_does_for_each_kind_of_value(annotation: Any) -> None:
    accepts = compile_check(annotation)
    assert [accepts(value) for value in TRICKY] == [conforms(value, annotation) for value in TRICKY]


class Service:
    def plain(self, key: str, limit: int = 10, flag: bool = False) -> None: ...

    def keywords(
        self, data: dict[str, Any], *, where: Mapping[str, JSON] | None = None, n: float = 1
    ) -> None: ...

    def untyped(self, a, b=None):  # type: ignore[no-untyped-def]
        ...

    def mixed(
        self, items: builtins.list[str], mode: Literal["a", "b"] = "a", at: datetime | None = None
    ) -> None: ...

    def variadic(self, *names: str, **options: int) -> None: ...

    def positional(self, key: str, /, limit: int = 1) -> None: ...


async def free(texts: list[str], model: str | None = None) -> None: ...


METHODS: list[Callable[..., Any]] = [
    Service().plain,
    Service().keywords,
    Service().untyped,
    Service().mixed,
    Service().variadic,
    Service().positional,
    free,
]
NAMES = ["key", "limit", "flag", "data", "where", "n", "a", "b", "items", "mode", "at", "texts", "model", "x"]
arguments = st.one_of(
    st.lists(values, max_size=4),
    st.dictionaries(st.sampled_from(NAMES), values, max_size=4),
    st.none(),
    values,
)


def outcome(bind: Callable[[], Any]) -> Any:
    try:
        return ("bound", bind())
    except BadRequest as error:
        return ("refused", error.status, error.code, error.message)


def general(method: Callable[..., Any], params: Any) -> Any:
    """`bind_arguments` as it was before binders were compiled: `inspect` every call."""
    if params is None:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
    elif isinstance(params, list):
        args, kwargs = params, {}
    elif isinstance(params, dict):
        args, kwargs = [], params
    else:
        raise BadRequest(
            "params is a list of arguments or an object of keyword arguments", code="invalid_params"
        )
    signature = calls.signature_of(method)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        unknown = calls._unknown_names(signature, kwargs)
        raise BadRequest(
            f"Wrong arguments for {method.__name__}: {exc}{unknown}", code="invalid_params"
        ) from exc
    check_argument_types(method, bound)
    return args, kwargs


@settings(max_examples=500)
@given(method=st.sampled_from(METHODS), params=arguments)
def test_a_compiled_binder_binds_and_refuses_as_inspect_does(method: Callable[..., Any], params: Any) -> None:
    assert outcome(lambda: calls.bind_arguments(method, params)) == outcome(lambda: general(method, params))


def test_only_plain_signatures_are_compiled() -> None:
    assert calls._binder(Service().plain) is not None
    assert calls._binder(free) is not None
    assert calls._binder(Service().variadic) is None
    assert calls._binder(Service().positional) is None
    assert calls._binder(len) is None
    plain, keywords = Service().plain, Service().keywords
    # The fast path answers calls that bind (the general path is not asked) ...
    assert calls._binder(plain).check(plain, ["k", 2], {"flag": True}) is True  # type: ignore[union-attr]
    assert calls._binder(keywords).check(keywords, [], {"data": {}, "n": 2}) is True  # type: ignore[union-attr]
    # ... and leaves the ones that do not to it.
    assert calls._binder(plain).check(plain, [], {"limit": 1}) is False  # type: ignore[union-attr]
    assert calls._binder(plain).check(plain, ["k"], {"key": "k"}) is False  # type: ignore[union-attr]


def test_a_function_whose_binder_cannot_be_compiled_is_bound_by_the_general_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(annotation: Any) -> Any:
        raise TypeError("not compiled")

    def late(key: str, limit: int = 1) -> None: ...

    monkeypatch.setattr(calls, "compile_check", refuse)
    assert calls._binder(late) is None
    assert calls.bind_arguments(late, ["k"]) == (["k"], {})
    with pytest.raises(BadRequest) as caught:
        calls.bind_arguments(late, ["k", "ten"])
    assert caught.value.message == "Argument 'limit' of late takes an integer, not a string"


class Base(RpcTarget):
    rpc_read_methods: ClassVar[frozenset[str]] = frozenset({"find_first"})

    def find_first(self) -> str:
        return "base"

    def write_it(self) -> str:
        return "base"

    def _hidden(self) -> None: ...


class Override(Base):
    @rpc(scope="admin")
    def write_it(self) -> str:
        return "override"


class Plain:
    @rpc(scope="read")
    def look(self) -> str:
        return "look"

    def not_marked(self) -> str:
        return "no"


def reference(target: Any, name: Any, is_root: bool) -> Any:
    """`resolve_operation`'s lookup, worked out afresh on every call."""
    if isinstance(name, str) and name and not name.startswith("_"):
        for candidate in dict.fromkeys((name, snake_case(name))):
            if is_root or is_reference(target):
                scope = rpc_scope(type(target), candidate)
                if scope is not None:
                    return candidate, scope
            if is_root and candidate == name and target.rpc_noun(candidate) is not None:
                return "noun", None
    return None


class Root:
    """Stands in for a Durable Object class: sealed, its `@rpc` methods the surface."""

    @rpc(scope="read")
    def get(self, key: str) -> str:
        return key

    def set(self, key: str) -> None: ...

    def rpc_noun(self, name: str) -> Any:
        return None


class App(Root):
    """An app's subclass: methods resolve against its own class, never a parent's table."""

    @rpc(scope="read")
    def get_things(self) -> str:
        return "app"

    @rpc(scope="admin")
    def get(self, key: str) -> str:
        return key


seal_rpc_surface(Root)
seal_rpc_surface(App)


method_names = st.one_of(
    st.sampled_from(
        [
            "get",
            "set",
            "getThings",
            "get_things",
            "findFirst",
            "find_first",
            "writeIt",
            "write_it",
            "look",
            "notMarked",
            "not_marked",
            "_hidden",
            "__init__",
            "fetch",
            "alarm",
            "Customer",
            "rpc_noun",
            "",
        ]
    ),
    st.text(alphabet="abcXYZ_", max_size=6),
    st.integers(),
    st.none(),
)


@settings(max_examples=400)
@given(
    name=method_names,
    kind=st.sampled_from(["base", "override", "plain", "root", "app"]),
    is_root=st.booleans(),
)
def test_resolution_remembered_per_class_answers_as_a_fresh_lookup(
    name: Any, kind: str, is_root: bool
) -> None:
    target: Any = {"base": Base(), "override": Override(), "plain": Plain(), "root": Root(), "app": App()}[
        kind
    ]
    if not isinstance(target, Root):
        target.rpc_noun = lambda noun: None  # no nouns here
    expected = reference(target, name, is_root)
    try:
        method, scope, _ = resolve_operation(target, name, is_root)
    except HttpError as error:
        assert expected is None
        assert (error.status, error.code) == (404, "method_not_found")
        return
    assert expected is not None
    assert (method.__name__, scope) == expected


def test_an_override_resolves_to_its_own_scope_and_method() -> None:
    for _ in range(2):  # the second time from what the first remembered
        assert resolve_operation(Base(), "writeIt", False)[1] == "write"
        assert resolve_operation(Override(), "writeIt", False)[1] == "admin"
        method = resolve_operation(Override(), "write_it", False)[0]
        assert asyncio.run(calls.invoke(method, [])) == "override"
        assert resolve_operation(Base(), "findFirst", False)[1] == "read"


def test_the_app_class_and_its_parent_keep_their_own_surfaces() -> None:
    for _ in range(2):
        assert resolve_operation(App(), "get", True)[1] == "admin"
        assert resolve_operation(Root(), "get", True)[1] == "read"
        assert resolve_operation(App(), "getThings", True)[1] == "read"
        with pytest.raises(HttpError):
            resolve_operation(Root(), "getThings", True)
        with pytest.raises(HttpError):
            resolve_operation(App(), "set", True)
