"""HTTP bodies in and out carry the codec's one encoding (`dotdo.wire.codec`)."""

from __future__ import annotations

import json
import math

import pytest

from dotdo import BadRequest, HttpRequest, json_response


def test_responses_tag_what_json_cannot_carry() -> None:
    response = json_response(
        {"b": b"\x01\x02", "inf": math.inf, "nan": math.nan, "big": 2**53, "n": 2**53 - 1}
    )
    body = response.body if isinstance(response.body, str) else response.body.decode()  # type: ignore[union-attr]
    assert json.loads(body, parse_constant=lambda name: pytest.fail(f"bare {name}")) == {
        "b": {"$bytes": "AQI="},
        "inf": {"$number": "Infinity"},
        "nan": {"$number": "NaN"},
        "big": {"$bigint": "9007199254740992"},
        "n": 9007199254740991,
    }


def test_a_value_with_no_wire_form_is_a_400() -> None:
    with pytest.raises(BadRequest) as refused:
        json_response({"x": object()})
    assert refused.value.code == "unserializable_result"


def test_already_encoded_data_is_written_as_it_is() -> None:
    assert json_response({"$bigint": "1"}, encoded=True).json() == {"$bigint": "1"}
    assert json_response({"$bigint": "1"}).json() == {"$escape": {"$bigint": "1"}}


def test_request_bodies_decode_tags_and_refuse_bare_nan() -> None:
    body = b'{"n": 9223372036854775807, "m": {"$bigint": "-9223372036854775808"}, "b": {"$bytes": "AQI="}}'
    assert HttpRequest("POST", "http://x/", body=body).json() == {
        "n": 2**63 - 1,
        "m": -(2**63),
        "b": b"\x01\x02",
    }
    for bad in [b"NaN", b'{"n": Infinity}']:
        with pytest.raises(BadRequest) as refused:
            HttpRequest("POST", "http://x/", body=bad).json()
        assert refused.value.code == "invalid_json"


def test_a_body_nested_far_past_the_bound_is_a_400_before_it_is_parsed() -> None:
    body = ("[" * 200_000 + "]" * 200_000).encode()
    with pytest.raises(BadRequest) as refused:
        HttpRequest("PUT", "http://acme.localhost/state/k", body=body).json()
    assert refused.value.code == "invalid_json"
    assert "deeper than" in refused.value.message


def test_host_is_the_urls_lower_case_host_name() -> None:
    assert HttpRequest("GET", "http://Acme.LocalHost:8787/x?y=1").host == "acme.localhost"
    assert HttpRequest("GET", "http://user@[::1]:8787/x").host == "::1"
    assert HttpRequest("GET", "/x").host == ""
