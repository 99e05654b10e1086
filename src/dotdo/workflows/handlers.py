"""The `on` handler registry: `on.Noun.verb`, with `*` for either part.

@on.Customer.signup              # a durable handler: found by method name
async def welcome(self, event): ...

unsubscribe = self.on["*"].created(handler)   # a run-time handler: in memory only
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dotdo.semantic.eventtypes import validate_pattern
from dotdo.semantic.inflection import (
    VerbForms,
    conjugate,
    participle_bases,
    past_tense_bases,
    third_person_bases,
)
from dotdo.semantic.names import RESERVED_VERBS
from dotdo.semantic.registry import Noun, Verb
from dotdo.semantic.strict import closest_noun, one_edit_apart

__all__ = ["HANDLERS_MARK", "On", "check_handler_nouns", "check_handler_verbs", "on", "pattern_verb_hint"]

HANDLERS_MARK = "__dotdo_handlers__"
logger = logging.getLogger("dotdo.workflows")


HANDLER_NOUN_CUTOFF = 0.8
"""The ratio (`difflib`) an undeclared noun of a handler's pattern needs to a declared one to
be warned of as its typo (`Tikcet`: 0.83); one letter off is warned of whatever the ratio."""


def check_handler_nouns(
    owner: str, handlers: Mapping[str, Iterable[str]], nouns: Iterable[Noun]
) -> list[str]:
    """Log the handler patterns whose noun is not declared; return the messages.

    `handlers` maps a pattern (`Tikcet.created`) to its handler names. The events
    the framework emits name a thing's noun (`Ticket.created`) or an action's
    subject noun (`Customer.signedUp`), so a pattern whose noun is neither `*` nor
    declared can only match an event sent with `send()`, which cannot be known
    here: it is never refused. When a declared noun is close (`Ticket`), the pattern
    is most likely a typo: a WARNING names it. Otherwise it is taken for an
    application event (`Email.queued`) and logged at INFO only. A class that
    declares no nouns has nothing to compare against and is not checked.
    """
    declared = list(nouns)
    if not declared:
        return []
    names = {noun.name for noun in declared}
    messages: list[str] = []
    for pattern, handler_names in handlers.items():
        noun = pattern.partition(".")[0]
        if noun == "*" or noun in names:
            continue
        methods = ", ".join(sorted(handler_names))
        # A stricter bar than a 404's suggestion: an app's own event (`Page.sent` beside a
        # declared `Agent`, ratio 0.67) is a name of its own, and a warning for it is noise.
        suggestion = closest_noun(noun, declared, cutoff=HANDLER_NOUN_CUTOFF)
        if suggestion is not None:
            message = (
                f"{owner}: handler {methods} listens to {pattern!r}, but {noun!r} is not a declared noun; "
                f"did you mean {suggestion + '.' + pattern.partition('.')[2]!r}?"
            )
            logger.warning(message)
        else:
            message = (
                f"{owner}: handler {methods} listens to {pattern!r}; {noun!r} is not a declared noun, "
                "so only events sent with send() reach it"
            )
            logger.info(message)
        messages.append(message)
    return messages


_THING_STORE_VERBS = tuple(conjugate(verb) for verb in RESERVED_VERBS)
_MIN_TYPO_LENGTH = 5
"""A past tense shorter than this is not compared for typos: one letter from `paid` is
`pain`, `said` and `raid`, each as likely an event of the app's own."""


def check_handler_verbs(
    owner: str, handlers: Mapping[str, Iterable[str]], verbs: Iterable[Verb]
) -> list[str]:
    """Log, as a WARNING, the handler patterns whose verb no event of a known verb carries, though
    it looks meant for one; return the messages. `handlers` maps a pattern to its handler names;
    `verbs` are the class's declared verbs, known beside the thing store's (create, update,
    delete, restore). The events of a known verb carry its past tense (`Ticket.escalated`, the
    thing store's `Ticket.created`), so a pattern naming another of its forms (`Ticket.escalate`,
    `Ticket.escalating`, `Ticket.creates`) is never matched by one; no caller may send a form of
    the thing store's verbs (`check_sent_event_type`), and a form of a declared verb sent by the
    app itself is a name that invites this very mistake. A verb one letter from a known past
    (`creatd`, `udpated`) is a typo, unless it reads as a past tense itself (`treated`,
    `crated`, `depleted`, one letter from `created` or `deleted`): that is taken for an event
    the app sends (`send_event`, whose types are free-form), as is every other verb, and is not logged.
    """
    messages: list[str] = []
    verbs = list(verbs)
    for pattern, handler_names in handlers.items():
        found = _verb_mistake(pattern, verbs)
        if found is None:
            continue
        meant, raised = found
        listens = f"{owner}: handler {', '.join(sorted(handler_names))} listens to {pattern!r}"
        if raised is not None:
            message = f"{listens}, but {raised}: listen to {meant!r}"
        else:
            message = f"{listens}, which names no event of a known verb; did you mean {meant!r}?"
        logger.warning(message)
        messages.append(message)
    return messages


def pattern_verb_hint(pattern: str, verbs: Iterable[Verb]) -> str | None:
    """What a client subscribing to `pattern` is told when its verb is a form of a known verb
    other than the past its events carry (`Member.borrow`: "actions of the verb 'borrow'
    raise 'Member.borrowed': subscribe to 'Member.borrowed'"), or a typo of that past; the
    same mistake `check_handler_verbs` logs for a handler. None for any other pattern."""
    found = _verb_mistake(pattern, list(verbs))
    if found is None:
        return None
    meant, raised = found
    if raised is not None:
        return f"no event is {pattern!r}: {raised}; subscribe to {meant!r}"
    return f"no event of a known verb is {pattern!r}; did you mean {meant!r}?"


def _verb_mistake(pattern: str, verbs: list[Verb]) -> tuple[str, str | None] | None:
    """The event type `pattern` was meant to name and, for a form of a known verb, why
    (`actions of the verb 'borrow' raise 'Member.borrowed'`; None for a typo of a past); None
    when its verb is `*`, a known past, or like none (`check_handler_verbs` says which)."""
    noun, _, verb = pattern.partition(".")
    known = [*_THING_STORE_VERBS, *(declared.forms() for declared in verbs)]
    pasts = {forms.past: forms for forms in known}
    if verb == "*" or verb in pasts:
        return None
    form_of = next((f for f in known if verb in (f.base, f.participle, f.third_person)), None)
    if form_of is not None:
        meant = f"{noun}.{form_of.past}"
        if form_of in _THING_STORE_VERBS:
            return meant, f"the thing store's {form_of.base!r} events are {meant!r}"
        return meant, f"actions of the verb {form_of.base!r} raise {meant!r}"
    respelled = next((f for f in known if _respelled(verb, f.past)), None)
    if respelled is not None:  # `cancelled` for `canceled`: a past of its own, so no typo below
        meant, base = f"{noun}.{respelled.past}", respelled.base
        how = f"Verb({base!r}, past={verb!r}) would raise {pattern!r}"
        return meant, f"actions of the verb {base!r} raise {meant!r}, spelled so ({how})"
    typo_of = _typo_of(verb, pasts)
    return None if typo_of is None else (f"{noun}.{typo_of.past}", None)


def _respelled(verb: str, past: str) -> bool:
    """Whether `verb` is the past `past` with the consonant before its -ed doubled or undoubled
    (`cancelled` / `canceled`, `travelled` / `traveled`): the other spelling of one word (British
    and American English differ on a final l), which reads as a past of its own."""
    if not (verb.endswith("ed") and past.endswith("ed")) or abs(len(verb) - len(past)) != 1:
        return False
    short, long = sorted((verb, past), key=len)
    stem = short[:-2]
    return bool(stem) and stem[-1] not in "aeiouy" and long == f"{stem}{stem[-1]}ed"


def _typo_of(verb: str, pasts: Mapping[str, VerbForms]) -> VerbForms | None:
    """The known verb whose past `verb` is one letter from, unless `verb` reads as an inflected
    form itself (a word of its own: see `check_handler_verbs`); two neighbours swapped
    (`udpated`) are a typo whatever it reads as, as no past of a word of its own is such a swap
    of a known one that this misses."""
    inflected = bool(past_tense_bases(verb) or participle_bases(verb) or third_person_bases(verb))
    close = sorted(
        past
        for past in pasts
        if len(past) >= _MIN_TYPO_LENGTH
        and one_edit_apart(verb, past)
        and (not inflected or _swapped(verb, past))
    )
    return pasts[close[0]] if close else None


def _swapped(a: str, b: str) -> bool:
    """Whether `a` is `b` with two neighbouring letters swapped (given they are one edit apart)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 2


class _Verbs:
    def __init__(self, on: On, noun: str) -> None:
        self._on = on
        self._noun = noun

    def __getattr__(self, verb: str) -> Callable[[Callable[..., Any]], Any]:
        if verb.startswith("_"):
            raise AttributeError(verb)
        return self[verb]

    def __getitem__(self, verb: str) -> Callable[[Callable[..., Any]], Any]:
        pattern = validate_pattern(f"{self._noun}.{verb}")
        return lambda handler: self._on.attach(pattern, handler)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # `@on.Appointment` (the verb left out) or `@on["Appointment.booked"]` (the whole
        # pattern as the noun) would otherwise fail as "'_Verbs' object is not callable".
        if "." in self._noun:
            raise TypeError(f"on takes the noun and the verb apart: {_spelling(self._noun)}")
        raise TypeError(f"on[{self._noun!r}] names a noun only; name its verb too: {_spelling(self._noun)}")


class On:
    """`on.Noun.verb(handler)`. Unbound (the module's `on`) it marks methods as durable
    handlers; bound to an object (`self.on`) it registers run-time handlers through
    `register(pattern, handler)`, which returns the function that unregisters it."""

    def __init__(
        self, register: Callable[[str, Callable[..., Any]], Callable[[], None]] | None = None
    ) -> None:
        self._register = register

    def __getattr__(self, noun: str) -> _Verbs:
        if noun.startswith("_"):
            raise AttributeError(noun)
        return self[noun]

    def __getitem__(self, noun: str) -> _Verbs:
        return _Verbs(self, noun)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # `@on("Appointment.booked")`, the string form other frameworks take, would otherwise
        # fail as "'On' object is not callable".
        named = args[0] if args and isinstance(args[0], str) else "Noun.verb"
        raise TypeError(f"on names an event type by attributes, not by a call: {_spelling(named)}")

    def attach(self, pattern: str, handler: Callable[..., Any]) -> Any:
        """Attach `handler` to a checked event `pattern`: the marked method (unbound), or
        what `register` returns (bound: the function that unregisters it)."""
        if self._register is None:
            patterns = getattr(handler, HANDLERS_MARK, ())
            setattr(handler, HANDLERS_MARK, (*patterns, pattern))
            return handler
        return self._register(pattern, handler)


def _spelling(pattern: str) -> str:
    """How `on` spells the handler of `pattern` ("Noun.verb", or a noun alone)."""
    noun, _, verb = pattern.partition(".")
    verb = verb or "verb"
    if noun.isidentifier() and verb.isidentifier():
        return f"@on.{noun}.{verb} (or on[{noun!r}][{verb!r}], '*' for either part)"
    return f"on[{noun!r}][{verb!r}] ('*' for either part)"


on = On()
"""Mark methods of a DOWorkflow class as durable event handlers: `@on.Customer.created`."""
