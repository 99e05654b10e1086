"""`$regex` patterns run in linear time and answer exactly what `re.search` answers."""

from __future__ import annotations

import random
import re
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dotdo.errors import QueryValidationError
from dotdo.semantic.pattern import MAX_STATES, compile_pattern

ATOMS = [
    "a", "b", "A", "é", "_", " ", "1", ".", r"\w", r"\W", r"\d", r"\D", r"\s", r"\S", "[a-c]", "[^a]",
    "[^\\W_]", r"\n", "K", "[k-l]", "",
]  # fmt: skip
ASSERTIONS = ["^", "$", r"\b", r"\B", r"\A", r"\Z"]
QUANTIFIERS = ["*", "+", "?", "{0,2}", "{2}", "{1,}", "*?", "+?", "??", "{1,3}?"]
FLAGS = [0, re.IGNORECASE, re.MULTILINE, re.DOTALL, re.IGNORECASE | re.MULTILINE | re.DOTALL, re.ASCII]


@st.composite
def patterns(draw: st.DrawFn, depth: int = 0) -> str:
    roll = draw(st.integers(0, 9))
    if depth > 2 or roll < 3:
        return draw(st.sampled_from(ATOMS + ASSERTIONS))
    if roll < 5:
        return "".join(draw(st.lists(patterns(depth + 1), min_size=1, max_size=3)))
    if roll < 6:
        return "|".join(draw(st.lists(patterns(depth + 1), min_size=2, max_size=3)))
    if roll < 8:
        inner = draw(patterns(depth + 1))
        group = draw(st.sampled_from(["(?:{})", "({})", "(?i:{})", "(?m:{})", "(?s:{})", "(?a:{})"]))
        return group.format(inner) + draw(st.sampled_from(["", *QUANTIFIERS]))
    return "(?:" + draw(patterns(depth + 1)) + ")" + draw(st.sampled_from(QUANTIFIERS))


SUBJECTS = st.text(alphabet="aAbB_ 1é\nkKK\u212a.", max_size=10)


@settings(max_examples=600)
@example(r"\b", "", 0)
@example("$", "a\n", 0)
@example("a$", "a\n\n", re.MULTILINE)
@example("(?i)k", "\u212a", 0)
@example("^(a+)+$", "aaaa!", 0)
@example(r"\Bb", "ab", 0)
@given(patterns(), SUBJECTS, st.sampled_from(FLAGS))
def test_search_answers_what_re_search_answers(pattern: str, subject: str, flags: int) -> None:
    try:
        expected = re.search(pattern, subject, flags) is not None
    except re.error:
        with pytest.raises(re.error):
            compile_pattern(pattern, flags)
        return
    compiled = compile_pattern(pattern, flags)
    assert compiled.search(subject) == expected
    assert compiled.search(subject) == expected  # and again, from the cached automaton


@pytest.mark.parametrize(
    ("pattern", "subject"),
    [
        ("^(a+)+$", "a" * 5000 + "!"),  # exponential for a backtracking matcher
        ("(a|aa)*c", "a" * 5000),
        ("a.*b", "a" * 200_000),  # quadratic for one: every start scans to the end
        ("(.*a){12}b", "a" * 5000),
        (r"\b(\w+\s*)+$", "word " * 2000 + "!"),
    ],
    ids=["nested-plus", "overlapping-alternatives", "dot-star", "repeated-dot-star", "words"],
)
def test_patterns_that_stall_a_backtracking_matcher_answer_at_once(pattern: str, subject: str) -> None:
    compiled = compile_pattern(pattern)
    started = time.perf_counter()
    assert compiled.search(subject) is False
    # Not a speed test: a backtracking matcher takes hours on these, this one milliseconds.
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        ("(?=a)", "lookahead and lookbehind"),
        ("(?<!a)b", "lookahead and lookbehind"),
        ("(a)?(?(1)b|c)", "conditional groups"),
        ("(?>a*)", "atomic groups"),
        ("a*+", "possessive repeats"),
        ("a++", "possessive repeats"),
    ],
)
def test_constructs_with_no_linear_matcher_are_refused_by_name(pattern: str, named: str) -> None:
    with pytest.raises(QueryValidationError, match=named):
        compile_pattern(pattern)


def test_a_pattern_past_the_state_bound_is_refused() -> None:
    compile_pattern("(?:ab{40}){20}")  # 820 character states
    with pytest.raises(QueryValidationError, match=f"more than {MAX_STATES} states"):
        compile_pattern("(?:a{40}){30}")
    with pytest.raises(QueryValidationError, match=f"more than {MAX_STATES} states"):
        compile_pattern("(?:(?:a{0,20}){0,20}){0,20}")


def test_the_automaton_cache_is_bounded_and_starts_again() -> None:
    # Each position of this subject reaches another set of states (2**13 of them in all):
    # more DFA states than are cached, so the cache starts again mid-subject.
    pattern = "(?:a|b)*a(?:a|b){12}c"
    compiled = compile_pattern(pattern)
    rng = random.Random(7)
    subject = "".join(rng.choice("ab") for _ in range(6_000))
    for text in (subject, subject + "c", subject[:-13] + "a" * 13 + "c"):
        assert compiled.search(text) == (re.search(pattern, text) is not None)
