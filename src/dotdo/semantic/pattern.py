"""The `$regex` of a where clause, matched in time linear in the subject.

Python's `re` backtracks: a pattern such as `^(a+)+$` takes exponential time on
`"aaaa...!"`, and even `a.*b` takes quadratic time on a long string of `a`s, so one
query could hold a Durable Object (and, locally, every object of the runtime) for
hours. A client's pattern is therefore parsed with `re`'s own parser (the same syntax
and flags, `re` itself decides what each character class and case-insensitive letter
matches) and run as a Thompson NFA through a lazily built DFA, as RE2 does
(https://swtch.com/~rsc/regexp/regexp1.html): each character of the subject costs
one dictionary lookup once its state is cached, and at most one pass over the
pattern's states otherwise. The answer is the one `re.search` gives.

Constructs no automaton can run are refused: backreferences (`\\1`, `(?P=name)`),
lookahead and lookbehind, conditional groups, atomic groups and possessive
repeats. A pattern whose automaton would pass `MAX_STATES` states (counted repeats
multiply: `(a{100}){100}`) is refused too.
"""

from __future__ import annotations

import importlib
import re
from functools import lru_cache
from typing import Any

from dotdo.errors import QueryValidationError

__all__ = ["MAX_STATES", "Pattern", "compile_pattern", "compiled_pattern"]

MAX_STATES = 1_000
"""The most NFA states a pattern may need (a state per character position, plus one
per alternative and repeat). A subject costs at worst its length times this many
steps (when each character leads to a DFA state not seen before), and one dictionary
lookup a character once the states it meets are cached."""

_MAX_CACHED = 2_000  # DFA states kept; past it the cache starts again (RE2's rule)

# `re`'s parser is a private module of the standard library (`sre_parse` before 3.11,
# deprecated since); it is the only parser that reads exactly the syntax `re` reads.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

_CHAR, _SPLIT, _ASSERT, _MATCH = 0, 1, 2, 3
_UNSUPPORTED = {
    _c.GROUPREF: "backreferences",
    _c.GROUPREF_EXISTS: "conditional groups",
    _c.ASSERT: "lookahead and lookbehind",
    _c.ASSERT_NOT: "lookahead and lookbehind",
    _c.ATOMIC_GROUP: "atomic groups",
    _c.POSSESSIVE_REPEAT: "possessive repeats",
}
_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_ATOM_FLAGS = re.IGNORECASE | re.DOTALL | re.ASCII  # what decides a one-character match


def compile_pattern(source: str, flags: int = 0) -> Pattern:
    """The pattern `source` with `re` flags (`re.I`, `re.M`, `re.S`, `re.X`).

    `re.error` when `re` would refuse it; QueryValidationError (400 `invalid_where`)
    for a construct with no linear matcher (named in the message) or past MAX_STATES
    states."""
    parsed = _parser.parse(source, flags)
    return Pattern(parsed, flags | parsed.state.flags)


@lru_cache(maxsize=64)
def compiled_pattern(source: str, flags: int = 0) -> Pattern:
    """`compile_pattern`, kept (the 64 latest) with its automaton's cache, so a pattern is
    compiled once and its DFA reused across rows and queries."""
    return compile_pattern(source, flags)


def _code(char: int) -> str:
    return f"\\U{char:08x}"  # one escape that means the character everywhere, in a class too


class _Builder:
    """Builds the NFA backwards: each piece is given the state that follows it."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.arg: list[Any] = []  # _CHAR: predicate index; _ASSERT: (AT code, flags); _SPLIT: other branch
        self.next: list[int] = []
        self.sources: dict[tuple[str, int], int] = {}

    def add(self, kind: int, arg: Any, following: int) -> int:
        if len(self.kind) >= MAX_STATES:
            raise QueryValidationError(f"$regex needs more than {MAX_STATES} states; simplify its repeats")
        self.kind.append(kind)
        self.arg.append(arg)
        self.next.append(following)
        return len(self.kind) - 1

    def char(self, source: str, flags: int, following: int) -> int:
        key = (source, flags & _ATOM_FLAGS)
        index = self.sources.setdefault(key, len(self.sources))
        return self.add(_CHAR, index, following)

    def sequence(self, items: Any, flags: int, following: int) -> int:
        for op, av in reversed(list(items)):
            following = self.item(op, av, flags, following)
        return following

    def item(self, op: Any, av: Any, flags: int, following: int) -> int:
        if op is _c.LITERAL:
            return self.char(_code(av), flags, following)
        if op is _c.NOT_LITERAL:
            return self.char(f"[^{_code(av)}]", flags, following)
        if op is _c.ANY:
            return self.char(".", flags, following)
        if op is _c.IN:
            return self.char(_class_source(av), flags, following)
        if op is _c.AT:
            return self.add(_ASSERT, (av, flags), following)
        if op is _c.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            return self.sequence(body, (flags | add_flags) & ~del_flags, following)
        if op is _c.BRANCH:
            starts = [self.sequence(branch, flags, following) for branch in av[1]]
            start = starts[-1]
            for other in reversed(starts[:-1]):
                start = self.add(_SPLIT, start, other)
            return start
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):  # lazy or greedy: the same set of matches
            return self.repeat(av, flags, following)
        reason = _UNSUPPORTED.get(op, f"the construct {op}")
        raise QueryValidationError(f"$regex does not support {reason}: they cannot be matched in linear time")

    def repeat(self, av: Any, flags: int, following: int) -> int:
        low, high, body = av
        if high is _c.MAXREPEAT:
            loop = self.add(_SPLIT, -1, following)  # its first branch is the body, known next
            self.arg[loop] = self.sequence(body, flags, loop)
            following = loop
        else:
            for _ in range(high - low):
                following = self.add(_SPLIT, self.sequence(body, flags, following), following)
        for _ in range(low):
            following = self.sequence(body, flags, following)
        return following


def _class_source(items: Any) -> str:
    parts: list[str] = []
    for op, av in items:
        if op is _c.NEGATE:
            parts.insert(0, "^")
        elif op is _c.LITERAL:
            parts.append(_code(av))
        elif op is _c.RANGE:
            parts.append(f"{_code(av[0])}-{_code(av[1])}")
        elif op is _c.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            raise QueryValidationError(f"$regex does not support the class item {op} {av}")
    return "[" + "".join(parts) + "]"


_MATCHED, _DEAD = -1, -2  # what a transition leads to besides a DFA state

# Where a position is, as far as assertions care: the character on one side of it.
_AT_EDGE, _NEWLINE, _WORD, _ASCII_WORD = 1, 2, 4, 8


class Pattern:
    """A compiled `$regex`: `search(text)` is `re.search(...) is not None`, in linear time."""

    def __init__(self, parsed: Any, flags: int) -> None:
        """From `re`'s parse of a pattern (`re._parser.parse`) and the flags in force (the
        caller's and the pattern's own global ones); QueryValidationError as
        `compile_pattern` says."""
        builder = _Builder()
        match = builder.add(_MATCH, None, -1)
        self._start = builder.sequence(parsed, flags, match)
        self._kind, self._arg, self._next = builder.kind, builder.arg, builder.next
        compiled = {
            index: re.compile(source, atom_flags) for (source, atom_flags), index in builder.sources.items()
        }
        self._predicates = [compiled[index].fullmatch for index in range(len(compiled))]
        self._asserts = _ASSERT in self._kind  # without any, where a state is never matters
        self._anchored = self._starts_anchored()  # then a match can only start at position 0
        self._reset()

    def _starts_anchored(self) -> bool:
        """Does every way from the start pass `\\A` (or `^` without MULTILINE) before it
        reads a character or matches?"""
        seen: set[int] = set()
        stack = [self._start]
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            kind = self._kind[s]
            if kind == _SPLIT:
                stack.extend((self._next[s], self._arg[s]))
            elif kind == _ASSERT:
                code, flags = self._arg[s]
                at_start = code is _c.AT_BEGINNING_STRING or (
                    code is _c.AT_BEGINNING and not flags & re.MULTILINE
                )
                if not at_start:
                    stack.append(self._next[s])
            else:
                return False
        return True

    def _reset(self) -> None:
        self._keys: dict[tuple[frozenset[int], int], int] = {}
        self._states: list[tuple[frozenset[int], int]] = []
        self._rows: list[dict[str, int]] = []  # per DFA state: the next state by character
        self._last_rows: list[dict[str, int]] = []  # the same for the subject's last character
        self._final: dict[int, bool] = {}
        self._first = self._intern((frozenset((self._start,)), _AT_EDGE if self._asserts else 0))

    def _intern(self, key: tuple[frozenset[int], int]) -> int:
        found = self._keys.get(key)
        if found is None:
            found = self._keys[key] = len(self._states)
            self._states.append(key)
            self._rows.append({})
            self._last_rows.append({})
        return found

    def search(self, text: str) -> bool:
        """Does the pattern match anywhere in `text` (`re.search` semantics)?"""
        if not text:
            return self._accepts(self._first)
        state = self._first
        rows = self._rows
        for char in text[:-1]:
            following = rows[state].get(char)
            if following is None:
                following = self._step(state, char, False)
                rows = self._rows  # the cache may have started again
            if following < 0:
                return following == _MATCHED
            state = following
        char = text[-1]
        following = self._last_rows[state].get(char)
        if following is None:
            following = self._step(state, char, True)
        if following < 0:
            return following == _MATCHED
        return self._accepts(following)

    def _step(self, state: int, char: str, is_last: bool) -> int:
        """The DFA state after `char`, cached; `_MATCHED` when the pattern matched before
        it, `_DEAD` when no match can start or continue after it."""
        pending, before = self._states[state]
        after = _side(char)
        closure = self._closure(pending, before, after, is_last)
        if closure is None:
            answer = _MATCHED
        else:
            reached = {
                self._next[s]
                for s in closure
                if self._kind[s] == _CHAR and self._predicates[self._arg[s]](char)
            }
            if not self._anchored:
                reached.add(self._start)  # a search may also start at the next position
            if not reached:
                answer = _DEAD
            else:
                key = (frozenset(reached), after if self._asserts else 0)
                if len(self._states) >= _MAX_CACHED and key not in self._keys:
                    self._reset()  # `state` is gone with the cache: this answer is not kept
                    return self._intern(key)
                answer = self._intern(key)
        (self._last_rows if is_last else self._rows)[state][char] = answer
        return answer

    def _accepts(self, state: int) -> bool:
        """Does the pattern match at the end of the subject, from this state?"""
        if state not in self._final:
            pending, before = self._states[state]
            self._final[state] = self._closure(pending, before, _AT_EDGE, False) is None
        return self._final[state]

    def _closure(self, pending: frozenset[int], before: int, after: int, is_last: bool) -> list[int] | None:
        """The character states reachable without consuming a character at a position
        between `before` and `after`; None when the match state is reachable."""
        seen: set[int] = set()
        stack = list(pending)
        found: list[int] = []
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            kind = self._kind[s]
            if kind == _CHAR:
                found.append(s)
            elif kind == _SPLIT:
                stack.append(self._next[s])
                stack.append(self._arg[s])
            elif kind == _ASSERT:
                if _holds(self._arg[s], before, after, is_last):
                    stack.append(self._next[s])
            else:
                return None
        return found


_WORD_CHAR = re.compile(r"\w").fullmatch
_ASCII_WORD_CHAR = re.compile(r"\w", re.ASCII).fullmatch


def _side(char: str) -> int:
    """What assertions need to know of the character beside a position."""
    return (
        (_NEWLINE if char == "\n" else 0)
        | (_WORD if _WORD_CHAR(char) else 0)
        | (_ASCII_WORD if _ASCII_WORD_CHAR(char) else 0)
    )


def _holds(assertion: tuple[Any, int], before: int, after: int, is_last: bool) -> bool:
    """Does a zero-width assertion hold between `before` and `after` (`_side` bits, or
    `_AT_EDGE` at either end of the subject)? `is_last`: `after` is the last character."""
    code, flags = assertion
    multiline = bool(flags & re.MULTILINE)
    if code is _c.AT_BEGINNING_STRING or (code is _c.AT_BEGINNING and not multiline):
        return bool(before & _AT_EDGE)
    if code is _c.AT_BEGINNING:
        return bool(before & (_AT_EDGE | _NEWLINE))
    if code is _c.AT_END_STRING:
        return bool(after & _AT_EDGE)
    if code is _c.AT_END:
        if multiline:
            return bool(after & (_AT_EDGE | _NEWLINE))
        return bool(after & _AT_EDGE) or (bool(after & _NEWLINE) and is_last)
    if code in (_c.AT_BOUNDARY, _c.AT_NON_BOUNDARY):
        if before & after & _AT_EDGE:  # the empty subject: `re` (before 3.14) holds neither
            return False
        word = _ASCII_WORD if flags & re.ASCII else _WORD
        return (bool(before & word) != bool(after & word)) == (code is _c.AT_BOUNDARY)
    raise QueryValidationError(f"$regex does not support the assertion {code}")
