"""Unicode and LaTeX normalisation of a short answer string, so equal answers compare equal as text."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Characters NFKC leaves alone but a grader must read as LaTeX (trailing space ends the macro name).
_UNICODE_TO_LATEX = {
    "\u2044": "/",  # fraction slash, what NFKC makes of ½
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "√": "\\sqrt ",
    "∞": "\\infty ",
    "π": "\\pi ",
    "×": "\\times ",
    "·": "\\cdot ",
    "÷": "\\div ",
    "≤": "\\le ",
    "≥": "\\ge ",
    "≠": "\\ne ",
    "∈": "\\in ",
    "∪": "\\cup ",
    "∩": "\\cap ",
    "∅": "\\emptyset ",
    "°": "",
    "α": "\\alpha ",
    "β": "\\beta ",
    "γ": "\\gamma ",
    "θ": "\\theta ",
    "λ": "\\lambda ",
    "μ": "\\mu ",
    "φ": "\\phi ",
    "ω": "\\omega ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
}
_TRANSLATION = str.maketrans(_UNICODE_TO_LATEX)

_TEXT_MACROS = r"text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mathsf|mbox|operatorname"

# Ordered (pattern, replacement) rewrites; each is a presentation-only difference.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r",\\!\s*", ","),  # MATH's thousands separator: 32,\! 349
        (r"\\[hv]?phantom\s*\{[^{}]*\}", ""),
        (r"\\[dt]frac", r"\\frac"),
        (r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*", ""),
        (r"\\(?:displaystyle|textstyle|limits)(?![a-zA-Z])", ""),
        (r"\\(?:quad|qquad|enspace|thinspace)(?![a-zA-Z])|\\[,;: ]|~", " "),
        (r"\\!", ""),
        (r"\^\s*\{?\s*\\circ\s*\}?|\\(?:circ|degree|textdegree)(?![a-zA-Z])", ""),
        (r"\\?%", ""),
        (r"\\?\$", ""),
        (r"\{,\}", ","),
        (r"\\leq?(?![a-zA-Z])", r"\\le "),
        (r"\\geq?(?![a-zA-Z])", r"\\ge "),
        (r"\\neq?(?![a-zA-Z])", r"\\ne "),
        (r"\\lbrace(?![a-zA-Z])", r"\\{"),
        (r"\\rbrace(?![a-zA-Z])", r"\\}"),
        (r"\\varnothing(?![a-zA-Z])", r"\\emptyset"),
        (r"\\dots|\\ldots|\\cdots", r"\\dots"),
        (r"\b(?:[bB]|small)?matrix\b", "pmatrix"),
        (r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}"),
        (r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}"),
        (r"\\frac\s*([0-9a-zA-Z])\s*\{", r"\\frac{\1}{"),
        (r"\\frac\s*\{([^{}]*)\}\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}"),
    )
)
_WRAPPER = re.compile(rf"\\(?:{_TEXT_MACROS}|boxed|fbox)\s*\{{([^{{}}]*)\}}")
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:(,|\s)\d{3})+(?:\.\d+)?")
_UNIT_WORDS = (
    "cm|mm|km|m|in|inch|inches|ft|foot|feet|yd|yard|yards|mi|mile|miles|meter|meters|metre|metres|"
    "centimeter|centimeters|kilometer|kilometers|kg|g|gram|grams|lb|lbs|pound|pounds|oz|ounce|ounces|"
    "sec|second|seconds|min|minute|minutes|hr|hrs|hour|hours|day|days|week|weeks|month|months|year|years|"
    "degree|degrees|dollar|dollars|cent|cents|unit|units|square units|sq units|cubic units|percent|percentage|pct|"
    "mph|liters|litres|liter|ml|people|students|ways|rad|radians"
)
_TRAILING_UNIT = re.compile(rf"(?<=[\d}})])\s+(?:{_UNIT_WORDS})(?:\s*\^\s*\{{?[23]\}}?)?$", re.IGNORECASE)
# "x = 2 or x = 3" lists two answers; it is read like "x = 2, x = 3" (and "3 or 4" is not 3).
_LIST_WORD = re.compile(r"\s+(?:or|and)\s+|\s*\\lor\s*")
_SPACE_NOT_BETWEEN_LETTERS = re.compile(r"(?<![a-zA-Z])\s+|\s+(?![a-zA-Z])")
_WORD_ANSWER = re.compile(r"[a-zA-Z][a-zA-Z ]*[a-zA-Z]")
_CHOICE = re.compile(r"\(([A-Ea-e])\)")


def _unwrap(text: str) -> str:
    """Replace \\text{...}-like wrappers and nested boxes by their (padded) content."""
    for _ in range(4):
        unwrapped = _WRAPPER.sub(lambda m: f" {m.group(1)} ", text)
        if unwrapped == text:
            break
        text = unwrapped
    return text


@lru_cache(maxsize=65536)
def normalize_answer(answer: str) -> str:
    """The canonical text of an answer: same string for presentation-only differences."""
    text = unicodedata.normalize("NFKC", answer).translate(_TRANSLATION)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = _unwrap(text).strip().rstrip(" .")
    if _THOUSANDS.fullmatch(text):
        text = re.sub(r"[,\s]", "", text)
    text = _TRAILING_UNIT.sub("", text)
    if any(char.isdigit() for char in text):
        text = _LIST_WORD.sub(",", text)
    text = _SPACE_NOT_BETWEEN_LETTERS.sub("", re.sub(r"\s+", " ", text))
    if _WORD_ANSWER.fullmatch(text):
        return text.lower()
    choice = _CHOICE.fullmatch(text)
    return choice.group(1).upper() if choice else text
