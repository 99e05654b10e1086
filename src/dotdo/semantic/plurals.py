"""English plurals of nouns (`pluralize`) and their singulars (`singularize`).

Rules cover regular English and the common irregulars; a noun's plural can be given where
it is registered (`Nouns.register("Person", plural="People")`). Names are PascalCase: only
the last word changes (`LineItem` -> `LineItems`).
"""

from __future__ import annotations

import re

__all__ = ["pluralize", "singularize"]

_IRREGULAR_PLURALS = {
    "person": "people",
    "man": "men",
    "woman": "women",
    "child": "children",
    "tooth": "teeth",
    "foot": "feet",
    "mouse": "mice",
    "goose": "geese",
    "ox": "oxen",
    "datum": "data",
    "criterion": "criteria",
    "index": "indices",
    "matrix": "matrices",
    "vertex": "vertices",
    "quiz": "quizzes",
    "axis": "axes",
    "testis": "testes",
}
# fmt: off
_UNCOUNTABLE = frozenset({
    "chassis", "data", "equipment", "information", "money", "news", "series", "species", "sheep", "fish",
    "deer", "moose", "aircraft", "spacecraft", "offspring", "swine", "bison",
})
# fmt: on
_IRREGULAR_SINGULARS = {plural: singular for singular, plural in _IRREGULAR_PLURALS.items()}
_F_PLURALS = {"leaf", "loaf", "half", "knife", "life", "wife", "wolf", "shelf", "thief", "calf", "self"}
_O_ES = {"hero", "potato", "tomato", "echo", "veto"}
# fmt: off
# Nouns whose -ch is said /k/, so their plural adds -s (`stomachs`, not `stomaches`).
_CH_K = frozenset({
    "stomach", "epoch", "monarch", "patriarch", "matriarch", "oligarch", "hierarch", "tech",
    "loch", "eunuch", "czech", "triptych", "diptych", "psych",
})
# -ie nouns: their plural reads as a -y noun's (`movies` as `stories`). `die` is left out:
# its plural is `dice`.
_IE_NOUNS = frozenset({
    "movie", "zombie", "cookie", "pie", "tie", "lie", "calorie", "brownie", "hippie", "selfie",
    "lingerie", "rookie", "newbie", "goalie", "hoodie", "smoothie", "genie", "prairie", "sortie",
    "freebie", "junkie", "pixie", "veggie", "beanie", "foodie", "techie", "indie", "auntie",
    "birdie", "collie", "groupie", "bookie", "yuppie", "budgie", "necktie", "bowtie", "magpie",
    "potpie", "coterie", "menagerie", "reverie", "rotisserie", "brasserie", "patisserie",
})
# fmt: on
# fmt: off
# Singular nouns ending in -s that no rule of their ending tells from a plural (`alias`
# beside `areas`, `lens` beside `pens`, `iris` beside `taxis`, `bus` beside `cpus`); their
# plural adds -es. Latin -us nouns (`status`, `campus`) and -sis nouns need no entry.
_S_SINGULARS = frozenset({
    "alias", "atlas", "bias", "canvas", "gas", "lens", "iris", "trellis", "pelvis", "bus", "plus",
})
# -sis nouns (plural -ses) whose plural reads as an -se noun's (`crises` as `promises`,
# `diagnoses` as `doses`); -yses and -eses read as -sis by rule (`analyses`, `theses`).
# `bases` stays `base`'s (`Database`), `ellipses` `ellipse`'s.
_SIS_NOUNS = frozenset({
    "crisis", "oasis", "emphasis", "diagnosis", "prognosis", "neurosis", "psychosis", "synopsis",
    "metastasis",
})
# -use nouns with a consonant before the -u- (the others, `house`, `cause`, are told by
# their vowel, and -fuse words by their ending): their plural reads as a Latin -us noun's
# (`abuses` as `buses`).
_USE_NOUNS = frozenset({
    "use", "abuse", "disuse", "misuse", "reuse", "overuse", "muse", "ruse", "excuse", "refuse",
    "recluse", "hypotenuse",
})
# -u nouns: their plural reads as a Latin -us noun (`menus` as `bonus`).
_U_NOUNS = frozenset({
    "menu", "guru", "emu", "gnu", "haiku", "tofu", "tutu", "sudoku", "tiramisu", "snafu", "zebu",
})
# fmt: on
_VOWEL = re.compile(r"[aeiouy]")

_LAST_WORD = re.compile(r"^(.*?)([A-Z]?[a-z0-9]+|[A-Z0-9]+)$")


def _split_last_word(name: str) -> tuple[str, str]:
    match = _LAST_WORD.match(name)
    if not match:
        return "", name
    return match.group(1), match.group(2)


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _plural_word(word: str) -> str:
    lower = word.lower()
    if lower in _CH_K:
        return lower + "s"
    if lower in _UNCOUNTABLE:
        return lower
    if lower in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[lower]
    if lower in _F_PLURALS:
        stem = lower[:-2] if lower.endswith("fe") else lower[:-1]
        return stem + "ves"
    if lower in _O_ES:
        return lower + "es"
    if lower.endswith("sis") and len(lower) > 3:  # crisis, basis, analysis
        return lower[:-2] + "es"
    if re.search(r"(s|x|z|ch|sh)$", lower):
        return lower + "es"
    if re.search(r"[^aeiou]y$", lower):
        return lower[:-1] + "ies"
    return lower + "s"


def _singular_ses(lower: str) -> str:
    """The singular of a plural ending in -ses: `-sis`, `-s` or `-se`."""
    if lower[:-2] + "is" in _SIS_NOUNS or re.search(r"(ys|[^aeiouyc]es)es$", lower):
        return lower[:-2] + "is"  # crises, analyses, theses (but dioceses)
    if lower[:-2] in _S_SINGULARS:
        return lower[:-2]  # aliases, gases, lenses
    if re.search(r"[^aoe]uses$", lower) and lower[:-1] not in _USE_NOUNS and not lower.endswith("fuses"):
        return lower[:-2]  # statuses, buses (houses, causes, masseuses, abuses, fuses are -use's)
    return lower[:-1]


def _singular_s(lower: str, acronym: bool) -> str:
    """The singular of a word ending in -s but not -ses: itself when it reads as a singular
    (`status`, `crisis`, `alias`), else without the -s (`menus`, `taxis`, `cpus`, the `Us`
    of `SKUs` when `acronym`)."""
    stem = lower[:-2]
    if lower in _S_SINGULARS or lower.endswith("ss"):
        return lower
    if lower.endswith(("us", "is")):
        if not stem:  # `SKUs`, `APIs`: the -s of an acronym; `us` alone stays
            return lower[:-1] if acronym else lower
        if not _VOWEL.search(stem) or lower[:-1] in _U_NOUNS or re.search(r"(a|o|u|ea|ie)us$", lower):
            return lower[:-1]  # cpus, menus, bureaus, bayous, milieus
        if lower.endswith("us") or lower.endswith("sis"):
            return lower  # status, radius, basis
    return lower[:-1]


def _singular_word(word: str, acronym: bool = False) -> str:
    lower = word.lower()
    if lower in _UNCOUNTABLE:
        return lower
    if lower in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[lower]
    if lower in _IRREGULAR_PLURALS:
        return lower  # `axis`, a singular already
    if lower.endswith("ves"):
        stem = lower[:-3]
        for candidate in (stem + "f", stem + "fe"):
            if candidate in _F_PLURALS:
                return candidate
    if lower.endswith("ies") and len(lower) > 3:
        # `pies`, `ties`: no noun is a consonant and a y
        return lower[:-1] if lower[:-1] in _IE_NOUNS or len(lower) == 4 else lower[:-3] + "y"
    if lower.endswith("oes") and lower[:-2] in _O_ES:
        return lower[:-2]
    if re.search(r"[^aeiou]aches$", lower):
        return lower[:-1]  # caches, headaches (but coaches, beaches)
    if re.search(r"(ss|x|z|ch|sh)es$", lower):
        return lower[:-2]
    if lower.endswith("ses") and len(lower) > 3:
        return _singular_ses(lower)
    if lower.endswith("s"):
        return _singular_s(lower, acronym)
    return lower


def pluralize(name: str) -> str:
    """`Customer` -> `Customers`, `Person` -> `People`, `LineItem` -> `LineItems`, `Box` ->
    `Boxes`; an acronym (a last word in capitals) takes a small s: `URL` -> `URLs`,
    `CustomerID` -> `CustomerIDs`, `OS` -> `OSes`."""
    head, word = _split_last_word(name)
    if len(word) > 1 and word.isupper():
        return head + word + ("es" if word[-1] in "SXZ" else "s")
    return head + _match_case(word, _plural_word(word))


def singularize(name: str) -> str:
    """The inverse of `pluralize` for the words it knows: `Statuses` -> `Status`, `Crises`
    -> `Crisis`, `SKUs` -> `SKU`, `OSes` -> `OS`; a singular stays as it is (`Status`,
    `Crisis`, `Alias`, and an acronym: `GPS`). A plural two nouns share reads as the
    commoner's (`Bases` -> `Base`, not `Basis`)."""
    head, word = _split_last_word(name)
    if len(word) > 1 and word.isupper():
        return name  # an acronym, which `pluralize` gives a small s: `GPS`, `OS`
    acronym = bool(head) and (head[-1].isupper() or head[-1].isdigit())
    if acronym and word in ("Ses", "Xes", "Zes"):
        return head + word[0]  # `OSes`, as `pluralize` writes an acronym ending in S, X or Z
    return head + _match_case(word, _singular_word(word, acronym))
