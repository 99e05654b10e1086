"""English forms of verbs (past, present participle, third person) and the reverse: which
bases a form is of. Nouns' plurals are `semantic/plurals.py`.

Rules cover regular English and the common irregulars; anything else is given where the
verb is registered (`Verbs.register("lay", past="laid")`). Verbs are camelCase: only the
first word changes (`signUp` -> `signedUp`), or the second after a first that is no verb
(`preOrder` -> `preOrdered`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "VerbForms",
    "conjugate",
    "participle_bases",
    "past_tense_bases",
    "third_person_bases",
]


@dataclass(frozen=True)
class VerbForms:
    """The four forms of a verb: `create`, `created`, `creating`, `creates`."""

    base: str
    past: str
    participle: str
    """The present participle (`creating`)."""
    third_person: str

    def to_dict(self) -> dict[str, str]:
        """`{"base", "past", "participle", "third_person"}`, as `GET /verbs` lists them."""
        return {
            "base": self.base,
            "past": self.past,
            "participle": self.participle,
            "third_person": self.third_person,
        }


_IRREGULAR_VERBS = {
    "be": ("was", "being", "is"),
    "have": ("had", "having", "has"),
    "do": ("did", "doing", "does"),
    "go": ("went", "going", "goes"),
    "make": ("made", "making", "makes"),
    "buy": ("bought", "buying", "buys"),
    "sell": ("sold", "selling", "sells"),
    "send": ("sent", "sending", "sends"),
    "pay": ("paid", "paying", "pays"),
    "lay": ("laid", "laying", "lays"),
    "get": ("got", "getting", "gets"),
    "give": ("gave", "giving", "gives"),
    "take": ("took", "taking", "takes"),
    "write": ("wrote", "writing", "writes"),
    "run": ("ran", "running", "runs"),
    "begin": ("began", "beginning", "begins"),
    "build": ("built", "building", "builds"),
    "find": ("found", "finding", "finds"),
    "hold": ("held", "holding", "holds"),
    "keep": ("kept", "keeping", "keeps"),
    "leave": ("left", "leaving", "leaves"),
    "lose": ("lost", "losing", "loses"),
    "meet": ("met", "meeting", "meets"),
    "put": ("put", "putting", "puts"),
    "read": ("read", "reading", "reads"),
    "say": ("said", "saying", "says"),
    "see": ("saw", "seeing", "sees"),
    "set": ("set", "setting", "sets"),
    "tell": ("told", "telling", "tells"),
    "think": ("thought", "thinking", "thinks"),
    "win": ("won", "winning", "wins"),
    "lead": ("led", "leading", "leads"),
    "bring": ("brought", "bringing", "brings"),
    "choose": ("chose", "choosing", "chooses"),
    "come": ("came", "coming", "comes"),
    "know": ("knew", "knowing", "knows"),
    "become": ("became", "becoming", "becomes"),
    "sing": ("sang", "singing", "sings"),
    "ring": ("rang", "ringing", "rings"),
    "swim": ("swam", "swimming", "swims"),
    "drink": ("drank", "drinking", "drinks"),
    "eat": ("ate", "eating", "eats"),
    "fly": ("flew", "flying", "flies"),
    "draw": ("drew", "drawing", "draws"),
    "drive": ("drove", "driving", "drives"),
    "ride": ("rode", "riding", "rides"),
    "rise": ("rose", "rising", "rises"),
    "speak": ("spoke", "speaking", "speaks"),
    "break": ("broke", "breaking", "breaks"),
    "steal": ("stole", "stealing", "steals"),
    "wear": ("wore", "wearing", "wears"),
    "tear": ("tore", "tearing", "tears"),
    "throw": ("threw", "throwing", "throws"),
    "grow": ("grew", "growing", "grows"),
    "feel": ("felt", "feeling", "feels"),
    "fight": ("fought", "fighting", "fights"),
    "forget": ("forgot", "forgetting", "forgets"),
    "forgive": ("forgave", "forgiving", "forgives"),
    "freeze": ("froze", "freezing", "freezes"),
    "hide": ("hid", "hiding", "hides"),
    "teach": ("taught", "teaching", "teaches"),
    "catch": ("caught", "catching", "catches"),
    "seek": ("sought", "seeking", "seeks"),
    "sleep": ("slept", "sleeping", "sleeps"),
    "spend": ("spent", "spending", "spends"),
    "lend": ("lent", "lending", "lends"),
    "stand": ("stood", "standing", "stands"),
    "understand": ("understood", "understanding", "understands"),
    "shoot": ("shot", "shooting", "shoots"),
    "sit": ("sat", "sitting", "sits"),
    "feed": ("fed", "feeding", "feeds"),
    "wake": ("woke", "waking", "wakes"),
    "swear": ("swore", "swearing", "swears"),
    "cut": ("cut", "cutting", "cuts"),
    "hit": ("hit", "hitting", "hits"),
    "let": ("let", "letting", "lets"),
    "shut": ("shut", "shutting", "shuts"),
    "cost": ("cost", "costing", "costs"),
    "quit": ("quit", "quitting", "quits"),
    "split": ("split", "splitting", "splits"),
    "spread": ("spread", "spreading", "spreads"),
    "bet": ("bet", "betting", "bets"),
    "hurt": ("hurt", "hurting", "hurts"),
    "broadcast": ("broadcast", "broadcasting", "broadcasts"),
    "forecast": ("forecast", "forecasting", "forecasts"),
    "upset": ("upset", "upsetting", "upsets"),
}
# More irregular verbs, base:past; their -ing and third person are regular (`dig` ->
# `digging`). `lay` is left out: `relay` would read as re-lay.
_MORE_PASTS = dict(
    pair.split(":")
    for pair in """
    fall:fell hear:heard mean:meant beat:beat blow:blew dig:dug stick:stuck strike:struck
    spin:spun swing:swung string:strung flee:fled cast:cast arise:arose awake:awoke bear:bore
    bend:bent bind:bound bite:bit bleed:bled breed:bred burst:burst cling:clung creep:crept
    deal:dealt dwell:dwelt fling:flung forbid:forbade forsake:forsook grind:ground hang:hung
    kneel:knelt light:lit shake:shook shine:shone shrink:shrank sink:sank slay:slew slide:slid
    sling:slung slit:slit speed:sped spit:spat spring:sprang sting:stung stink:stank
    stride:strode strive:strove sweep:swept tread:trod weave:wove weep:wept wind:wound
    wring:wrung thrust:thrust rid:rid bid:bid shed:shed
    """.split()  # noqa: SIM905 - eight lines, where a list literal would take seventy
)
# Prefixes that keep an irregular verb irregular (`withdraw` -> `withdrew`, `rerun` ->
# `reran`, `offset` -> `offset`, `prepay` -> `prepaid`) and a doubling one doubling (`unzip`
# -> `unzipped`, `preship` -> `preshipped`), longest first so `under` is tried before `un`.
# Not `de` (`delay`, `demean`, `delight`, `debit` and `debut` would read as `de` + a verb).
_PREFIXES = (
    "under", "over", "with", "fore", "down", "out", "mis", "for", "off", "pre", "dis", "un",
    "re", "up", "be", "in",
)  # fmt: skip
# `co` keeps an irregular verb irregular (`cowrite` -> `cowrote`) but no doubling doubling:
# `cover`, `color` and `covet` are no `co` + a word.
_IRREGULAR_PREFIXES = (*_PREFIXES, "co")
# Words that are no verb of their own, so a camelCase verb beginning with one inflects the
# word after it (`unZip` -> `unZipped`, `preOrder` -> `preOrdered`, `deQueue` ->
# `deQueued`), where `signUp` inflects `sign` and `postMessage` `post`; a single letter is
# one too (`eTag` -> `eTagged`, `xRay` -> `xRayed`). Verbs of their own stay out: `be`,
# `post`, `back`, `cross`, `counter`, but for the modifiers below.
# fmt: off
_CAMEL_PREFIXES = frozenset(_IRREGULAR_PREFIXES) - {"be"} | {
    "anti", "auto", "bi", "co", "de", "ex", "extra", "geo", "hyper", "infra", "inter", "intra",
    "macro", "mega", "meta", "micro", "mid", "mini", "multi", "non", "omni", "poly", "pro",
    "pseudo", "retro", "self", "semi", "sub", "super", "trans", "tri", "ultra", "uni",
    # the modifiers apps name their operations with (`softDelete` -> `softDeleted`, was
    # `softedDelete`), verbs or not: `batchUpdate` is an update, done in a batch
    "batch", "bulk", "cherry", "deep", "dry", "fast", "force", "full", "hard", "mass", "quick",
    "safe", "soft",
}
# fmt: on
# Verbs spelt as one of `_PREFIXES` and a verb that are no such pair (`behave` is not `be` +
# `have`, nor `relay` `re` + `lay`, `present` `pre` + `sent`; `revel` and `bevel`, stressed on
# their first syllable, do not double as `rebel`).
_UNPREFIXED = frozenset({"behave", "bevel", "dissent", "present", "relay", "revel"})
# Pasts that are base forms or words of their own, never read as a past (`found`, `saw`).
_ALSO_BASES = frozenset({"found", "saw", "felt", "rose", "fell", "bound", "ground", "wound", "bore", "slew"})
# Base forms that end in -ed (an -eed word is one unless its base is an -ee verb: `need`,
# `proceed`, but `agreed`).
_ED_BASES = frozenset({"bed", "bobsled", "embed", "imbed", "shed", "shred", "sled", "wed"})
# Verbs ending in -e that spelling would read as the verb without it (`cached` as `cach`'s,
# as `fixed` is `fix`'s and `echoed` `echo`'s).
_E_VERBS = frozenset({"ache", "axe", "cache", "canoe", "hoe", "shoe", "tiptoe", "toe"})
# Verbs ending in -i, whose -ied past reads as a -y verb's too (`skied`: `ski`, `sky`).
_I_VERBS = frozenset({"ski", "taxi", "alibi"})
_EE_VERBS = frozenset({"agree", "decree", "disagree", "emcee", "free", "guarantee", "referee"})
# One-syllable words ending consonant-vowel-consonant double the consonant (ship ->
# shipped); longer words only when the last syllable is stressed, which spelling
# cannot tell, so those are listed (and `_prefix_doubles` reads a prefix on one).
# fmt: off
_DOUBLING = frozenset({
    "refer", "prefer", "transfer", "defer", "confer", "infer", "deter", "admit", "commit",
    "submit", "permit", "omit", "emit", "transmit", "occur", "incur", "recur", "concur", "regret",
    "embed", "control", "patrol", "compel", "expel", "propel", "repel", "excel", "dispel", "forbid",
    "acquit", "equip", "abet", "allot", "annul", "abhor", "demur", "debar", "format", "program",
    "diagram", "kidnap", "handicap", "zigzag", "debug", "defrag", "bootstrap", "sidestep",
    "eavesdrop", "airdrop", "rebel", "quiz", "enrol", "fulfil", "extol", "impel", "appal",
    "enthral", "befit", "outwit",
})
# fmt: on
# The American spellings of listed British -l verbs: `enrolled` is the past of both.
_LL_SPELLINGS = frozenset({"enroll", "fulfill", "instill", "distill", "enthrall", "appall"})
# The consonants a word may begin with: `render` is no `re` + `nder`, nor `reckon` `re` + `ckon`.
# fmt: off
_ONSETS = frozenset({
    *"bcdfghjklmnpqrstvwz", "bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gl", "gn", "gr",
    "kl", "kn", "kr", "ph", "pl", "pr", "sc", "sch", "scr", "sh", "shr", "sk", "sl", "sm", "sn",
    "sp", "spl", "spr", "sq", "st", "str", "sw", "th", "thr", "tr", "tw", "wh", "wr",
})
# fmt: on
_VOWELS = "aeiou"


def _cvc(word: str) -> bool:
    """Does `word` end consonant-vowel-consonant (`qu` a consonant: `quiz`, `equip`)?"""
    return re.search(r"(?:[^aeiou]|qu)[aeiou][^aeiouwxy]$", word) is not None


def _syllables(word: str) -> int:
    return max(1, len(re.findall(r"[aeiouy]+", word.rstrip("e"))))


def _prefix_doubles(word: str) -> bool:
    """`word` is a prefix of `_PREFIXES` on a word that doubles: a listed one (`resubmit`)
    or one syllable that begins as a word may (`unzip`, `reship`, `outwit`, `overlap`; not
    `reckon` or `render`)."""
    for prefix in _PREFIXES:
        rest = word[len(prefix) :]
        if not word.startswith(prefix) or word in _UNPREFIXED:
            continue
        onset = re.match(r"[^aeiouy]*", rest)
        if rest in _DOUBLING or (_syllables(rest) == 1 and onset is not None and onset.group() in _ONSETS):
            return True
    return False


def _listed_doubling(word: str) -> bool:
    """Is `word` a listed doubling verb, or a prefix on one (`unquiz`, `resubmit`)?"""
    return word in _DOUBLING or any(word.startswith(p) and word[len(p) :] in _DOUBLING for p in _PREFIXES)


def _doubles(word: str) -> bool:
    return _cvc(word) and (_syllables(word) == 1 or word in _DOUBLING or _prefix_doubles(word))


def _regular_forms(base: str) -> tuple[str, str, str]:
    if base.endswith("ie"):
        past, participle = base + "d", base[:-2] + "ying"
    elif base.endswith(("ee", "ye", "oe")):
        past, participle = base + "d", base + "ing"
    elif base.endswith("e"):
        past, participle = base + "d", base[:-1] + "ing"
    elif re.search(r"[^aeiou]y$", base):
        past, participle = base[:-1] + "ied", base + "ing"
    elif _doubles(base):
        past, participle = base + base[-1] + "ed", base + base[-1] + "ing"
    elif base.endswith("ic") and _syllables(base) > 1:  # panic -> panicked, keeping the c hard
        past, participle = base + "ked", base + "king"
    else:
        past, participle = base + "ed", base + "ing"
    if base.endswith("z") and _doubles(base):
        third = base + "zes"  # quiz -> quizzes
    elif re.search(r"(s|x|z|ch|sh|[^aeiou]o)$", base):  # echo -> echoes, but tattoo -> tattoos
        third = base + "es"
    elif re.search(r"[^aeiou]y$", base):
        third = base[:-1] + "ies"
    else:
        third = base + "s"
    return past, participle, third


_IRREGULAR_VERBS.update({base: (past, *_regular_forms(base)[1:]) for base, past in _MORE_PASTS.items()})
_IRREGULAR_PASTS = {
    past: base for base, (past, _, _) in _IRREGULAR_VERBS.items() if past != base and past not in _ALSO_BASES
}
"""Irregular past tenses, to their base: those that are no base form themselves (`put` and
`read` are both)."""
_PREFIXED_PASTS = {
    past: base
    for base, (past, _, _) in _IRREGULAR_VERBS.items()
    if past != base and past not in {"found", "bound", "ground"}
}
"""The same, for a past under a prefix: `foresaw`, `befell`, `rewound` are pasts, though
`saw`, `fell`, `wound` are bases too; `refound`, `rebound`, `foreground` are bases."""
_IRREGULAR_PARTICIPLES: dict[str, list[str]] = {}
_IRREGULAR_THIRDS: dict[str, list[str]] = {}
for _base, (_, _participle, _third) in _IRREGULAR_VERBS.items():
    _IRREGULAR_PARTICIPLES.setdefault(_participle, []).append(_base)
    _IRREGULAR_THIRDS.setdefault(_third, []).append(_base)


def _prefixed(word: str, table: Mapping[str, object]) -> tuple[str, str] | None:
    """`word` as one of `_IRREGULAR_PREFIXES` and a word of `table` (`withdraw`: `with`,
    `draw`)."""
    if word in _UNPREFIXED:
        return None
    for prefix in _IRREGULAR_PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= 2 and rest in table:
            return prefix, rest
    return None


def _irregular(word: str) -> tuple[str, str, str] | None:
    """The irregular forms of `word`, a prefix of `_IRREGULAR_PREFIXES` kept on them
    (`withdraw`)."""
    forms = _IRREGULAR_VERBS.get(word)
    if forms is not None:
        return forms
    split = _prefixed(word, _IRREGULAR_VERBS)
    if split is None:
        return None
    prefix, rest = split
    past, participle, third = _IRREGULAR_VERBS[rest]
    return prefix + past, prefix + participle, prefix + third


def _first_word(verb: str) -> tuple[str, str, str]:
    """`verb` as a camelCase prefix (or ""), the lower-case word whose forms change and what
    follows it: `signUp` is "", `sign`, `Up`; `unZipAll` is `un`, `zip`, `All` (a prefix of
    `_CAMEL_PREFIXES`, or a single letter, inflects the word after it)."""
    match = re.match(r"^([a-z0-9]+)(.*)$", verb)
    if match is None:
        return "", verb.lower(), ""
    head, tail = match.groups()
    prefix = head in _CAMEL_PREFIXES or (len(head) == 1 and head.isalpha())
    joined = re.match(r"[A-Z][a-z]+", tail) if prefix else None
    if joined is None:
        return "", head, tail
    return head, joined.group().lower(), tail[joined.end() :]


def _written(form: str, prefix: str, tail: str) -> str:
    """A form of `_first_word`'s word written back into the verb it came from."""
    return (prefix + form[:1].upper() + form[1:] if prefix else form) + tail


def conjugate(verb: str) -> VerbForms:
    """`create` -> created / creating / creates; `ship` -> shipped; `signUp` -> signedUp;
    `run` -> ran and `rerun` -> reran (the irregular table, with its prefixes);
    `preOrder` -> preOrdered (a camelCase prefix inflects the word after it)."""
    prefix, word, tail = _first_word(verb)
    past, participle, third = _irregular(word) or _regular_forms(word)
    return VerbForms(verb, *(_written(form, prefix, tail) for form in (past, participle, third)))


def past_tense_bases(verb: str) -> tuple[str, ...]:
    """The bases whose past tense `verb` is, as spelling tells (the irregular table, or a
    regular -ed: `moved` -> ("move",), `shipped` -> ("ship",), `signedUp` -> ("signUp",));
    () when it reads as a base form (`move`, `need`, `embed`, `put`). More than one when
    spelling cannot tell which (`played` -> ("play", "playe")): only their past is known.

    A caller's verb names an event by its past tense, so one already in the past would be
    conjugated again (`Item.moveded`); spelling misreads a few base forms ending in -ed,
    which a registered verb overrides."""
    prefix, word, tail = _first_word(verb)
    if word in _IRREGULAR_PASTS:
        return (_written(_IRREGULAR_PASTS[word], prefix, tail),)
    split = _prefixed(word, _PREFIXED_PASTS)
    if split is not None and word not in _ALSO_BASES:
        return (_written(split[0] + _PREFIXED_PASTS[split[1]], prefix, tail),)  # `withdrew` -> `withdraw`
    if not word.endswith("ed") or word in _ED_BASES or _irregular(word) is not None:
        return ()
    if word.endswith("eed") and word[:-1] not in _EE_VERBS:
        return ()
    candidates = [
        base
        for base in dict.fromkeys((word[:-3] + "y", word[:-3], word[:-2], word[:-1]))
        if len(base) >= 2 and base not in _IRREGULAR_VERBS and _regular_forms(base)[0] == word
    ]
    kept = [base for base in candidates if not _shadowed(base, candidates)] or candidates
    return tuple(_written(base, prefix, tail) for base in kept)


def third_person_bases(verb: str) -> tuple[str, ...]:
    """The bases whose third person singular `verb` is, as spelling tells (`contains` ->
    ("contain",), `carries` -> ("carry",), `fixes` -> ("fix",), `does` -> ("do",)); () when it
    reads as a base form: one not ending in -s, or ending in -ss, -us or -as (`process`,
    `focus`, `bias`) and no irregular third person (`has`, `is`). A verb in that form would
    be conjugated again (`Album.containsed`); a registered verb is always a base."""
    prefix, word, tail = _first_word(verb)
    irregular = _IRREGULAR_THIRDS.get(word, [])
    if not irregular and (not word.endswith("s") or word.endswith(("ss", "us", "as"))):
        return ()
    candidates = irregular or [
        base
        for base in dict.fromkeys((word[:-3] + "y", word[:-3], word[:-2], word[:-1]))
        if len(base) >= 2 and base not in _IRREGULAR_VERBS and _regular_forms(base)[2] == word
    ]
    kept = [base for base in candidates if not _shadowed(base, candidates)] or candidates
    return tuple(_written(base, prefix, tail) for base in kept)


def participle_bases(verb: str) -> tuple[str, ...]:
    """The bases whose present participle `verb` is, as spelling tells (`shipping` ->
    ("ship",), `dying` -> ("die",), `following` -> ("follow", "followe"): spelling cannot tell
    which); () when it reads as a base form: one not ending in -ing, or whose letters before
    it hold no vowel (`sing`, `bring`, `string`, `ping`), or an irregular verb's own
    (`being`). A verb in that form would be conjugated again (`Album.shippinged`)."""
    prefix, word, tail = _first_word(verb)
    irregular = _IRREGULAR_PARTICIPLES.get(word, [])
    stem = word[:-3]
    if not irregular and (not word.endswith("ing") or not re.search(r"[aeiouy]", stem)):
        return ()
    candidates = irregular or [
        base
        for base in dict.fromkeys((stem[:-1] + "ie", stem, stem + "e", stem[:-1]))
        if len(base) >= 2
        and base not in _IRREGULAR_VERBS
        # `ageing`, `dyeing`: a base's -e kept before -ing, as some spell it
        and (_regular_forms(base)[1] == word or (base == stem and base.endswith("e")))
    ]
    kept = [base for base in candidates if not _shadowed(base, candidates)] or candidates
    return tuple(_written(base, prefix, tail) for base in kept)


def _shadowed(base: str, candidates: list[str]) -> bool:
    """Is `base` a spelling no English base has, beside the one it shadows: `shipp(e)`
    beside `ship`, `carri(e)` beside `carry`, `fil` beside `fill` but `compell` beside the
    listed `compel`, `di` and `dy` beside `die`, `fixe` beside `fix`, `echoe` beside `echo`,
    `panicke` beside `panick`, but `cach` beside the listed `cache`? Both stay where English
    has both spellings (`ski` and `sky`, `panic` and `panick`: `handpick`)."""
    if base in _E_VERBS or _listed_doubling(base) or base in _LL_SPELLINGS:
        return False
    stem = base[:-1] if base.endswith("e") else base
    doubled = len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiou"
    if len(stem) > 2 and stem.endswith("i") and stem not in _I_VERBS and stem[:-1] + "y" in candidates:
        return True
    if len(base) == 2 and base[-1] in "iy" and base[0] + "ie" in candidates:
        return True
    if base[-1] in "lsfz" and base + base[-1] in candidates:
        return True
    if base + "e" in _E_VERBS and base + "e" in candidates:
        return True
    if (
        base.endswith("e")
        and stem in candidates
        and (doubled or stem in _I_VERBS or stem.endswith(("x", "sh", "ch", "ck", "o")))
    ):
        return True
    return doubled and (stem[-1] not in "lsfz" or _listed_doubling(stem[:-1])) and stem[:-1] in candidates
