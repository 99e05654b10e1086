"""Entity tags, If-Match and If-None-Match (RFC 9110 §8.8.3, §13.1, §13.2.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dotdo.core.http import HttpRequest
from dotdo.core.preconditions import EntityTag, Preconditions, TagList, Verdict, parse_tag_list
from dotdo.errors import BadRequest

STRONG_1 = EntityTag("1")
WEAK_1 = EntityTag("1", weak=True)


@pytest.mark.parametrize(
    ("left", "right", "strong", "weak"),
    [  # the table of RFC 9110 §8.8.3.2
        (WEAK_1, WEAK_1, False, True),
        (WEAK_1, EntityTag("2", weak=True), False, False),
        (WEAK_1, STRONG_1, False, True),
        (STRONG_1, STRONG_1, True, True),
    ],
)
def test_comparison_functions_follow_the_rfc_table(
    left: EntityTag, right: EntityTag, strong: bool, weak: bool
) -> None:
    assert left.strong_match(right) is strong and right.strong_match(left) is strong
    assert left.weak_match(right) is weak and right.weak_match(left) is weak


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*", TagList(any=True)),
        ("  *\t", TagList(any=True)),
        ('"3"', TagList((EntityTag("3"),))),
        ('W/"3"', TagList((EntityTag("3", weak=True),))),
        ('"1", W/"2" ,"3"', TagList((EntityTag("1"), EntityTag("2", weak=True), EntityTag("3")))),
        ('"a,b", "c"', TagList((EntityTag("a,b"), EntityTag("c")))),  # a comma is an etagc
        ('"", "x"', TagList((EntityTag(""), EntityTag("x")))),
        (', "1",, "2" ,', TagList((EntityTag("1"), EntityTag("2")))),  # empty elements (§5.6.1)
        ('"caf\xe9"', TagList((EntityTag("caf\xe9"),))),  # obs-text
    ],
)
def test_parses_star_and_lists_of_tags(value: str, expected: TagList) -> None:
    assert parse_tag_list(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        ",",
        "3",  # unquoted
        "W/3",
        'w/"3"',  # W/ is case-sensitive
        'W/ "3"',
        '"3',
        '"3"x',
        '"3" "4"',  # no comma between
        '*, "3"',
        '"3", *',
        "**",
        '"a"b"',
        '"tab\there"',
        '"\x7f"',
        '"\u20ac"',  # beyond obs-text
    ],
)
def test_malformed_values_are_a_400(value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_tag_list(value, "If-None-Match")
    assert caught.value.code == "invalid_precondition" and "If-None-Match" in caught.value.message


def _conditions(if_match: str | None = None, if_none_match: str | None = None) -> Preconditions:
    return Preconditions.from_headers(if_match, if_none_match)


@pytest.mark.parametrize(
    ("if_match", "current", "verdict"),
    [
        ('"2"', EntityTag("2"), Verdict.PROCEED),
        ('"1"', EntityTag("2"), Verdict.FAILED),
        ('W/"2"', EntityTag("2"), Verdict.FAILED),  # a weak tag never satisfies If-Match
        ('"1", "2"', EntityTag("2"), Verdict.PROCEED),
        ('"1", W/"2", "3"', EntityTag("2"), Verdict.FAILED),
        ("*", EntityTag("2"), Verdict.PROCEED),
        ("*", None, Verdict.FAILED),  # no current representation
        ('"1"', None, Verdict.FAILED),
    ],
)
def test_if_match_uses_the_strong_comparison(
    if_match: str, current: EntityTag | None, verdict: Verdict
) -> None:
    assert _conditions(if_match=if_match).evaluate(current) is verdict
    assert _conditions(if_match=if_match).evaluate(current, safe=True) is verdict


@pytest.mark.parametrize(
    ("if_none_match", "current", "failed"),
    [
        ("*", None, False),
        ("*", EntityTag("2"), True),
        ('"2"', EntityTag("2"), True),
        ('W/"2"', EntityTag("2"), True),  # weak comparison
        ('"1", "3"', EntityTag("2"), False),
        ('"1", W/"2"', EntityTag("2"), True),
        ('"2"', None, False),
    ],
)
def test_if_none_match_uses_the_weak_comparison(
    if_none_match: str, current: EntityTag | None, failed: bool
) -> None:
    conditions = _conditions(if_none_match=if_none_match)
    assert conditions.evaluate(current) is (Verdict.FAILED if failed else Verdict.PROCEED)
    assert conditions.evaluate(current, safe=True) is (Verdict.NOT_MODIFIED if failed else Verdict.PROCEED)


def test_if_match_is_evaluated_first_and_its_failure_is_a_412_even_when_safe() -> None:
    both = _conditions(if_match='"1"', if_none_match='"2"')
    assert both.failing_header(EntityTag("2")) == "If-Match"
    assert both.evaluate(EntityTag("2"), safe=True) is Verdict.FAILED
    passing_match = _conditions(if_match='"2"', if_none_match='"2"')
    assert passing_match.failing_header(EntityTag("2")) == "If-None-Match"
    assert passing_match.evaluate(EntityTag("2"), safe=True) is Verdict.NOT_MODIFIED


def test_no_headers_always_proceed_and_are_falsy() -> None:
    none = Preconditions.from_request(HttpRequest("DELETE", "http://a.localhost/Doc/d1"))
    assert not none
    assert none.evaluate(None) is Verdict.PROCEED and none.evaluate(STRONG_1) is Verdict.PROCEED
    read = Preconditions.from_request(
        HttpRequest("DELETE", "http://a.localhost/Doc/d1", headers={"if-match": '"1"'})
    )
    assert read and read.if_match == TagList((STRONG_1,)) and read.if_none_match is None


# etagc (RFC 9110 §8.8.3): %x21 / %x23-7E / obs-text (%x80-FF); commas and "W/" included
_ETAGC = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters='"\x7f')
_TAGS = st.builds(EntityTag, st.text(_ETAGC, max_size=8), st.booleans())


@given(st.lists(_TAGS, min_size=1, max_size=6), st.sampled_from([",", ", ", " ,\t", ",,"]))
def test_printed_lists_parse_back(tags: list[EntityTag], separator: str) -> None:
    assert parse_tag_list(separator.join(str(tag) for tag in tags)) == TagList(tuple(tags))


@given(st.lists(_TAGS, min_size=1, max_size=6), _TAGS)
def test_evaluation_agrees_with_the_definitions(tags: list[EntityTag], current: EntityTag) -> None:
    header = ", ".join(str(tag) for tag in tags)
    strong_hit = any(not t.weak and not current.weak and t.opaque == current.opaque for t in tags)
    weak_hit = any(t.opaque == current.opaque for t in tags)
    assert (_conditions(if_match=header).evaluate(current) is Verdict.PROCEED) is strong_hit
    assert (_conditions(if_none_match=header).evaluate(current) is Verdict.PROCEED) is not weak_hit
    assert _conditions(if_match=header).evaluate(None) is Verdict.FAILED
    assert _conditions(if_none_match=header).evaluate(None) is Verdict.PROCEED


@given(st.text(max_size=40))
def test_any_text_parses_or_is_a_400(value: str) -> None:
    try:
        parsed = parse_tag_list(value)
    except BadRequest as error:
        assert error.code == "invalid_precondition"
    else:
        assert parsed.any or parsed.tags
