"""Decoding of request paths and query strings: exact or refused, never lossy."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dotdo import HttpRequest, HttpResponse, Router, json_response
from dotdo.core.http import decimal_integer, decode_component, parse_query, split_path
from dotdo.errors import BadRequest

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@st.composite
def encodings(draw: st.DrawFn, octets: bytes) -> str:
    """One of the many ways to percent-encode `octets`: any byte as `%XX` in either
    hex case, unreserved bytes also as themselves (RFC 3986 section 6.2.2)."""
    out = []
    for byte in octets:
        if byte in UNRESERVED and draw(st.booleans()):
            out.append(chr(byte))
        else:
            hex_digits = f"{byte:02X}"
            out.append("%" + (hex_digits.lower() if draw(st.booleans()) else hex_digits))
    return "".join(out)


def state_router() -> Router:
    router = Router()

    @router.get("/state/:key")
    async def read(request: HttpRequest) -> HttpResponse:
        return json_response({"key": request.params["key"]})

    return router


ROUTER = state_router()


def segment(encoded: str) -> str:
    """The key `GET /state/<encoded>` addresses, through the router; BadRequest with the
    code of the router's 400 answer when it refuses the path."""
    response = asyncio.run(ROUTER.handle(HttpRequest("GET", f"http://t.localhost/state/{encoded}")))
    body = response.json()
    if response.status == 400:
        raise BadRequest(body["error"]["message"], code=body["error"]["code"])
    assert response.status == 200, body  # an encoded segment is never split: always this route
    key: str = body["key"]
    return key


# Few, colliding pieces: valid and invalid UTF-8, slashes, escapes' own characters.
PIECES = [
    b"a",
    b"A",
    b"\xfe",
    b"\xff",
    b"\xc3",
    b"\xa9",
    b"\xc3\xa9",
    b"\xef\xbf\xbd",
    b"/",
    b"%",
    b"+",
    b" ",
]
pieces = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=4).map(b"".join), st.binary(min_size=1, max_size=6)
)


def valid_key(octets: bytes) -> bool:
    try:
        text = octets.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text not in ("", ".", "..")


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=12).flatmap(lambda b: st.tuples(st.just(b), encodings(b))))
def test_any_percent_encoded_bytes_decode_exactly_or_are_refused(case: tuple[bytes, str]) -> None:
    octets, encoded = case
    if valid_key(octets):
        assert segment(encoded) == octets.decode("utf-8")
    else:
        with pytest.raises(BadRequest) as refused:
            segment(encoded)
        assert refused.value.code == "invalid_path"


@settings(max_examples=300)
@given(st.data(), pieces, pieces)
def test_two_requests_address_one_key_only_when_their_octets_are_equal(
    data: st.DataObject, first: bytes, second: bytes
) -> None:
    keys = []
    for octets in (first, second):
        try:
            keys.append(segment(data.draw(encodings(octets))))
        except BadRequest:
            return
    assert (keys[0] == keys[1]) == (first == second)


@settings(max_examples=200)
@given(st.data(), st.binary(max_size=10))
def test_query_values_decode_exactly_or_are_refused(data: st.DataObject, octets: bytes) -> None:
    encoded = data.draw(encodings(octets))
    request = HttpRequest("GET", f"http://t.localhost/items?q={encoded}&other=1")
    try:
        expected = octets.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(BadRequest) as refused:
            request.query("other")  # any parameter: the query string as a whole is refused
        assert refused.value.code == "invalid_query"
        return
    assert request.query("q") == expected and request.query_all("other") == ["1"]


@pytest.mark.parametrize(
    "encoded",
    [
        "%FE",
        "%FF",
        "%C0%AF",  # an overlong "/"
        "%ED%A0%80",  # a lone surrogate in UTF-8 form
        "%E2%82",  # truncated
        "%",
        "%4",
        "%G1",
        "a%zz",
        "%2e",
        "%2E%2e",
    ],
)
def test_malformed_segments_are_invalid_path(encoded: str) -> None:
    request = HttpRequest("PUT", f"http://t.localhost/state/{encoded}")
    with pytest.raises(BadRequest) as refused:
        request.check_url()
    assert refused.value.code == "invalid_path"


def test_a_path_that_does_not_decode_is_shown_as_sent() -> None:
    request = HttpRequest("GET", "http://t.localhost/state/%FE%41")
    assert request.path == "/state/%FE%41"
    with pytest.raises(BadRequest):
        _ = request.segments
    assert HttpRequest("GET", "http://t.localhost/state/a%2Fb").path == "/state/a/b"


def test_the_issue_case_fe_and_ff_never_collide() -> None:
    for encoded in ("%FE", "%FF"):
        with pytest.raises(BadRequest, match="not valid percent-encoded UTF-8"):
            split_path(f"/state/{encoded}")


def test_rfc_3986_equivalences_hold_and_nothing_else() -> None:
    assert segment("%41") == segment("A") == "A"
    assert segment("caf%c3%a9") == segment("caf%C3%A9") == "café"
    assert segment("a%2Fb") == "a/b"
    assert split_path("/state/a/b")[1] == ["state", "a", "b"]
    assert segment("a+b") == "a+b"  # "+" is a space only in a query string
    assert segment("%00") == "\x00"  # valid UTF-8: the key's own rule refuses it
    assert split_path("/state/a/")[1] == split_path("//state/a")[1] == ["state", "a"]


def test_query_strings_are_form_encoded() -> None:
    assert parse_query("a=1&a=2&b&c=&=x&&d=%2B+%26%3D") == {
        "a": ["1", "2"],
        "b": [""],
        "c": [""],
        "": ["x"],
        "d": ["+ &="],
    }
    for bad in ("where=%7B%22a%22%3A%22%FF%22%7D", "tags=a,%E2", "token=%", "%FF=1"):
        with pytest.raises(BadRequest) as refused:
            parse_query(bad)
        assert refused.value.code == "invalid_query"


def test_decode_component_never_replaces() -> None:
    assert decode_component("%E2%9C%93") == "✓"
    with pytest.raises(UnicodeDecodeError):
        decode_component("%E2%9C")
    with pytest.raises(ValueError):
        decode_component("100%")


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("42", 42), ("-7", -7), ("١٢", None), ("²", None), ("1_000", None), ("+7", None), (" 7", None),
     ("7 ", None), ("", None), ("-", None), ("9" * 5000, None)],
)  # fmt: skip
def test_query_integers_are_ascii_digits(text: str, value: int | None) -> None:
    assert decimal_integer(text) == value


@settings(max_examples=200)
@given(
    st.text(st.characters(codec="utf-8", exclude_characters="&=+%#"), min_size=1, max_size=8),
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="&=+%#"), max_size=8), min_size=2, max_size=4
    ),
)
def test_a_repeated_single_value_parameter_is_refused_never_guessed(name: str, values: list[str]) -> None:
    """`?limit=1&limit=2` was read as 1: a caller and a proxy that keeps the last would
    act on different values. Every single-value read refuses it; `query_all` keeps all."""
    query = "&".join(f"{name}={value}" for value in values)
    request = HttpRequest("GET", f"http://t.localhost/items?{query}&other=1")
    if request.query_all(name) != values or name in ("other", "absent"):  # a delimiter to the URL parser
        return
    for read in (lambda: request.query(name), lambda: request.query(name, "default"),
                 lambda: request.query_int(name, 5)):  # fmt: skip
        with pytest.raises(BadRequest) as refused:
            read()
        assert refused.value.code == "invalid_query"
        assert repr(name) in refused.value.message
    assert request.query("other") == "1" and request.query("absent", "d") == "d"
    request.check_url()  # the query string itself is sound: only the repeated read is refused


def _decode_in_full(text: str) -> str:
    """`decode_component` without its shortcut for text with nothing to decode."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise ValueError("a '%' that does not start a %XX escape")
    return unquote_to_bytes(text).decode("utf-8")


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(["a", "Z", "0", "-", "+", "%", "4", "1", "F", "é", "\ud800", " "])))
def test_decode_component_shortcut_answers_as_decoding_in_full(text: str) -> None:
    """Text without a `%` that is all ASCII comes back as it is; every other text is decoded
    in full: the two give the same value, or both refuse it (a lone surrogate included)."""

    def outcome(decode: Callable[[str], str]) -> object:
        try:
            return decode(text)
        except ValueError as error:
            return type(error)

    assert outcome(decode_component) == outcome(_decode_in_full)
