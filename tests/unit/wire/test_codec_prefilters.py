"""`loads` rules a text out of the tag and surrogate searches with plain substring scans
before it runs their regexes: the answer is the regex's own, for any text."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dotdo.wire import codec

# Every character the two patterns spell, and neighbours: the searches' edges.
PIECES = ['"', "$", "\\", "u", "U", "d", "D", "8", "9", "a", "f", "g", "{", "}", ":", "date", "bytes"]
PIECES += ["bigint", "number", "escape", "é", "\ud800", "\udfff", "\ue000", "\U0001f600", "x", " "]
texts = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=24).map("".join),
    st.text(max_size=40),
)


@settings(max_examples=1500)
@given(text=texts)
@example(text='{"$date": 1}')
@example(text='{"\\u0024date": 1}')
@example(text='"\\ud800"')
@example(text="\ud800")
@example(text='{"a": "$date"}')
def test_the_prefilters_answer_as_the_regexes_do(text: str) -> None:
    assert codec._may_be_tagged(text) == (codec._MAYBE_TAGGED.search(text) is not None)
    found, expected = codec._surrogate_escape(text), codec._SURROGATE_ESCAPE.search(text)
    assert (found and (found.start(), found.group())) == (expected and (expected.start(), expected.group()))
