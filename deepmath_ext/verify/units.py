"""Units after a value: read by a linear scanner, compared and converted, removed before normalisation.

`5 \\text{ cm}` against `5 \\text{ m}` is wrong (both name a unit and they differ); `50 \\text{ cm}` against
`0.5 \\text{ m}` is right (same dimension, exact scale). A counted noun (`7 \\text{ apples}`) is removed
and names no unit. Single letters are units only inside `\\text{}`-like wrappers; bare, they are variables.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import deepmath_ext.verify.linear as linear

# canonical unit -> (dimension, exact scale to the dimension's base unit)
_UNITS: dict[str, tuple[str, Fraction]] = {
    **{
        u: ("length", Fraction(s))
        for u, s in (("nm", "1e-9"), ("um", "1e-6"), ("mm", "1e-3"), ("cm", "1e-2"))
    },
    **{
        u: ("length", Fraction(s)) for u, s in (("m", "1"), ("km", "1e3"), ("in", "0.0254"), ("ft", "0.3048"))
    },
    **{u: ("length", Fraction(s)) for u, s in (("yd", "0.9144"), ("mi", "1609.344"))},
    **{u: ("mass", Fraction(s)) for u, s in (("mg", "1e-3"), ("g", "1"), ("kg", "1e3"), ("lb", "453.59237"))},
    **{u: ("mass", Fraction(s)) for u, s in (("oz", "28.349523125"),)},
    **{u: ("time", Fraction(s)) for u, s in (("ms", "1e-3"), ("s", "1"), ("min", "60"), ("h", "3600"))},
    **{u: ("time", Fraction(s)) for u, s in (("day", "86400"), ("week", "604800"))},
    **{u: ("volume", Fraction(s)) for u, s in (("ml", "1e-3"), ("l", "1"))},
    **{u: ("energy", Fraction(s)) for u, s in (("J", "1"), ("kJ", "1e3"), ("eV", "1.602176634e-19"))},
    **{u: ("power", Fraction(s)) for u, s in (("W", "1"), ("kW", "1e3"), ("MW", "1e6"))},
    **{
        u: ("frequency", Fraction(s))
        for u, s in (("Hz", "1"), ("kHz", "1e3"), ("MHz", "1e6"), ("GHz", "1e9"))
    },
    **{u: ("pressure", Fraction(s)) for u, s in (("Pa", "1"), ("kPa", "1e3"), ("atm", "101325"))},
    **{u: ("force", Fraction(s)) for u, s in (("N", "1"), ("kN", "1e3"))},
    **{u: ("resistance", Fraction(s)) for u, s in (("ohm", "1"), ("kohm", "1e3"))},
    **{u: ("money", Fraction(s)) for u, s in (("dollar", "1"), ("cent", "0.01"))},
    # One unit per dimension: conversion needs an offset or a convention (years of 365 or 366 days).
    **{u: (u, Fraction(1)) for u in ("degC", "degF", "K", "mol", "V", "A", "C", "F", "T", "cal", "kcal")},
    **{u: (u, Fraction(1)) for u in ("month", "year", "mph", "rad", "deg")},
}
# Spellings of each unit (lower-case keys match any case; the keys after them are case-sensitive).
_ALIASES_ANY_CASE = {
    **dict.fromkeys(("nanometer", "nanometers", "nanometre", "nanometres"), "nm"),
    **dict.fromkeys(("µm", "μm", "micrometer", "micrometers", "micrometre", "micrometres", "micron"), "um"),
    **dict.fromkeys(("millimeter", "millimeters", "millimetre", "millimetres"), "mm"),
    **dict.fromkeys(("centimeter", "centimeters", "centimetre", "centimetres"), "cm"),
    **dict.fromkeys(("meter", "meters", "metre", "metres"), "m"),
    **dict.fromkeys(("kilometer", "kilometers", "kilometre", "kilometres"), "km"),
    **dict.fromkeys(("inch", "inches"), "in"),
    **dict.fromkeys(("foot", "feet"), "ft"),
    **dict.fromkeys(("yard", "yards"), "yd"),
    **dict.fromkeys(("mile", "miles"), "mi"),
    **dict.fromkeys(("milligram", "milligrams"), "mg"),
    **dict.fromkeys(("gram", "grams"), "g"),
    **dict.fromkeys(("kilogram", "kilograms"), "kg"),
    **dict.fromkeys(("lbs", "pound", "pounds"), "lb"),
    **dict.fromkeys(("ounce", "ounces"), "oz"),
    **dict.fromkeys(("millisecond", "milliseconds"), "ms"),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("mins", "minute", "minutes"), "min"),
    **dict.fromkeys(("hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("days",), "day"),
    **dict.fromkeys(("weeks",), "week"),
    **dict.fromkeys(("months",), "month"),
    **dict.fromkeys(("years", "yr", "yrs"), "year"),
    **dict.fromkeys(("milliliter", "milliliters", "millilitre", "millilitres"), "ml"),
    **dict.fromkeys(("liter", "liters", "litre", "litres"), "l"),
    **dict.fromkeys(("joule", "joules"), "J"),
    **dict.fromkeys(("watt", "watts"), "W"),
    **dict.fromkeys(("hertz",), "Hz"),
    **dict.fromkeys(("newton", "newtons"), "N"),
    **dict.fromkeys(("ω", "ω", "\\omega", "ohm", "ohms"), "ohm"),
    **dict.fromkeys(("kω", "kohms"), "kohm"),
    **dict.fromkeys(("dollars", "$"), "dollar"),
    **dict.fromkeys(("cents",), "cent"),
    **dict.fromkeys(("°c", "celsius"), "degC"),
    **dict.fromkeys(("°f", "fahrenheit"), "degF"),
    **dict.fromkeys(("kelvin",), "K"),
    **dict.fromkeys(("moles",), "mol"),
    **dict.fromkeys(("volt", "volts"), "V"),
    **dict.fromkeys(("ampere", "amperes", "amps"), "A"),
    **dict.fromkeys(("radian", "radians"), "rad"),
    **dict.fromkeys(("degree", "degrees"), "deg"),
    **dict.fromkeys(("calorie", "calories"), "cal"),
    **dict.fromkeys(("kilocalorie", "kilocalories"), "kcal"),
    **dict.fromkeys(("kmh", "kph"), "km/h"),
    "L": "l",
}
# Words that name no unit and may follow a number without changing it.
_NO_UNIT = frozenset(("unit", "units", "sq", "square", "cubic", "per"))
# Words normalisation drops after a number even bare, naming no unit: percent in words (the sign is
# dropped too) and counted nouns common in golds.
_BARE_DROPPED = ("unit", "units", "square units", "sq units", "cubic units", "percent", "percentage", "pct")
_BARE_DROPPED += ("people", "students", "ways")


def _by_length(words: set[str]) -> tuple[str, ...]:
    return tuple(sorted(words, key=lambda word: (-len(word), word)))


def _lower_word(spelling: str) -> bool:
    letters = spelling.replace(" ", "")
    return letters.isascii() and letters.isalpha() and spelling.islower()


# The spellings normalisation strips after a number, from the tables above: words in any case, bare or
# in `\text{}` (`5 cm`, `20 minutes`), and symbols, case-sensitive and only in `\text{}` (`5\text{ m}`).
UNIT_WORDS = _by_length(
    {w for w in _ALIASES_ANY_CASE if _lower_word(w)}
    | {u for u in _UNITS if _lower_word(u) and len(u) > 1}
    | set(_BARE_DROPPED)
)
UNIT_SYMBOLS = _by_length(
    {u for u in (*_UNITS, *_ALIASES_ANY_CASE) if u.isascii() and u.isalpha()} - set(UNIT_WORDS)
)
_POWER_WORDS = {"square": 2, "sq": 2, "cubic": 3, "cu": 3}
# Words that are never a counted noun: they negate, hedge or join (`5 \text{ or more}` keeps its words).
PROSE_WORDS = frozenset(
    [
        "or",
        "not",
        "no",
        "nor",
        "either",
        "neither",
        "maybe",
        "possibly",
        "perhaps",
        "probably",
        "wrong",
        "false",
        "incorrect",
        "except",
        "but",
        "approximately",
        "about",
        "roughly",
        "nearly",
        "almost",
        "is",
        "are",
        "none",
    ]
)

_TOKEN = linear.compile(
    r"(?s)\\(?:text|textrm|mathrm|mbox|textnormal|operatorname|rm)\s*\{([^{}]*)\}"  # 1: wrapped words
    r"|\\([a-zA-Z]+|\$)"  # 2: a macro (a unit macro, `\\cdot`, or anything else that ends the unit)
    r"|(\^\s*\{?\s*\\circ\s*\}?)"  # 3: degree sign
    r"|\^\s*\{?\s*(-?\d)\s*\}?"  # 4: exponent
    r"|(\\[,;:! ]|~|\s+)"  # 5: spacing
    r"|(/)"  # 6: division
    r"|([A-Za-zµμΩ°]+)"  # 7: a bare word
    r"|(.)"  # 8: anything else ends the unit
)
_MACRO_WORDS = {"Omega": "Ω", "mu": "µ", "circ": "°", "degree": "°", "$": "$", "cdot": "*", "per": "/"}
_UNIT_WORD = linear.compile(r"[A-Za-zµμΩ°$]+|/|\^-?\d|\*")

Unit = tuple[tuple[str, int], ...]  # ((canonical unit, power), ...), sorted


def _canonical(word: str) -> str | None:
    if word in _UNITS:
        return word
    return _ALIASES_ANY_CASE.get(word.lower()) or _ALIASES_ANY_CASE.get(word)


def _parse_unit(words: list[str]) -> Unit | None:
    """The unit of a sequence of words, `/`, `^k`; None when a word is not a unit."""
    powers: dict[str, int] = {}
    sign, pending_power, last = 1, 1, None
    for word in words:
        if word == "/" or word.lower() == "per":
            sign = -1
        elif word.startswith("^"):
            if last is None:
                return None
            powers[last] += sign * (int(word[1:]) - 1)
        elif word.lower() in _POWER_WORDS:
            pending_power = _POWER_WORDS[word.lower()]
        elif word.lower() in _NO_UNIT or word == "*":
            continue
        else:
            unit = _canonical(word)
            if unit is None:
                return None
            for part in unit.split("/"):
                powers[part] = powers.get(part, 0) + sign * pending_power
                sign = -1 if "/" in unit else sign
            last, pending_power = unit.split("/")[-1], 1
    return tuple(sorted((u, p) for u, p in powers.items() if p))


def _tail_words(text: str) -> tuple[int, list[str], bool]:
    """(start of the unit tail, its words, whether a bare word is in it): the tokens after the last
    character that cannot belong to a unit (a digit, a bracket, an operator), in one linear scan."""
    tail: list[linear.Match] = []
    for match in _TOKEN.finditer(text):
        ends = match[8] is not None or (match[2] is not None and match[2] not in _MACRO_WORDS)
        tail = [] if ends else [*tail, match] if len(tail) < 64 else [match]
    words: list[str] = []
    for match in tail:
        if match[1] is not None:
            words += _UNIT_WORD.findall(match[1])
        elif match[2] is not None:
            words.append(_MACRO_WORDS[match[2]])
        elif match[3] is not None:
            words.append("°")
        elif match[4] is not None:
            words.append("^" + match[4])
        elif match[6] is not None:
            words.append("/")
        elif match[7] is not None:
            words.append(match[7])
    start = tail[0].start() if tail else len(text)
    return start, _join_prefixes(words), any(match[7] is not None for match in tail)


def _join_prefixes(words: list[str]) -> list[str]:
    """`µ` `m` is `µm`, `°` `C` is `°C`, `k` `Ω` is `kΩ`: a prefix written apart from its unit."""
    joined: list[str] = []
    for word in words:
        if (joined and joined[-1] in ("µ", "°", "k") and word[0].isalpha()) or (
            joined and joined[-1] == "k" and word == "Ω"
        ):
            joined[-1] += word
        else:
            joined.append(word)
    return (
        [w for w in joined if w != "°"] if any(w.startswith("°") and len(w) > 1 for w in joined) else joined
    )


@lru_cache(maxsize=65536)
def split_unit(answer: str) -> tuple[str, Unit | None]:
    """(the answer without a trailing unit, the unit or None). `()` is a counted noun: no unit named."""
    start, words, bare = _tail_words(answer)
    value = answer[:start].rstrip()
    if not words or not value or value[-1] not in "0123456789})" or ("°" in words and len(words) == 1):
        return answer, None
    if bare and any(len(w) < 2 for w in words if w[0].isalpha()):
        return answer, None  # `\frac34 m`: a bare single letter is a variable
    unit = _parse_unit(words)
    if unit is not None:
        return value, unit
    if (
        not bare
        and len(words) == 1
        and words[0].isalpha()
        and len(words[0]) >= 3
        and words[0].lower() not in PROSE_WORDS
    ):
        return value, ()  # a counted noun: 7 apples
    return answer, None


def drop_inner_units(answer: str) -> str:
    """The answer without units written after numbers inside it (`3\\text{ m}\\cdot 4\\text{ m} = 12`
    is `3\\cdot 4 = 12`), so that each side of an equation is read as the number it states."""
    out: list[str] = []
    dropping, last = False, ""  # last: the last character kept that is not a space
    for match in _TOKEN.finditer(answer):
        if (
            match[1] is not None
            and last in tuple("0123456789})")
            and _parse_unit(_UNIT_WORD.findall(match[1]))
        ):
            dropping = True
            continue
        if dropping and match[4] is not None:
            continue  # the unit's exponent: cm^2
        dropping = False
        out.append(match[0])
        last = match[0].rstrip()[-1:] or last
    return "".join(out)


def conversion(pred: Unit, gold: Unit) -> Fraction | None:
    """The factor that turns a value in `pred` units into `gold` units; None across dimensions."""
    dimensions = [tuple(sorted((_UNITS[u][0], p) for u, p in unit)) for unit in (pred, gold)]
    if dimensions[0] != dimensions[1]:
        return None
    factor = Fraction(1)
    for unit, power in pred:
        factor *= _UNITS[unit][1] ** power
    for unit, power in gold:
        factor /= _UNITS[unit][1] ** power
    return factor
