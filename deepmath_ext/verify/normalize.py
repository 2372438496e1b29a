"""Unicode and LaTeX normalisation of a short answer string, so equal answers compare equal as text."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from deepmath_ext.verify.exact import split_top_level

# Characters NFKC leaves alone but a grader must read as LaTeX (trailing space ends the macro name).
_UNICODE_TO_LATEX = {
    "\u2044": "/",  # fraction slash
    "\u2212": "-",
    "\u2010": "-",  # hyphen, non-breaking hyphen, figure dash: a minus sign in an answer
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u00ad": "",  # a soft hyphen is invisible
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
    "±": "\\pm ",
    "∓": "\\mp ",
    "°": "^\\circ ",
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


def _compatibility_table(tag: str) -> dict[str, str]:
    """Characters whose Unicode decomposition carries `tag` (<super>, <sub>), mapped to their plain form."""
    chars = (chr(code) for code in (*range(0xA0, 0x100), *range(0x1D00, 0x1DC0), *range(0x2070, 0x20A0)))
    return {
        c: unicodedata.normalize("NFKC", c) for c in chars if unicodedata.decomposition(c).startswith(tag)
    }


# NFKC would flatten 2⁵ to 25 and 2½ to 21/2: scripts and vulgar fractions become LaTeX first.
_SUPERSCRIPTS = _compatibility_table("<super>")
_SUBSCRIPTS = _compatibility_table("<sub>")
_SCRIPT_RUN = re.compile(f"[{''.join(_SUPERSCRIPTS)}]+|[{''.join(_SUBSCRIPTS)}]+")
_VULGAR_FRACTION = re.compile(r"[\u00bc-\u00be\u2150-\u215e\u2189]")
# A radical takes its whole operand: √10 is \sqrt{10}, √(x+1) is \sqrt{x+1}.
_RADICAL = re.compile(r"([√∛∜])\s*(\d+(?:\.\d+)?|[a-zA-Z]|\([^()]*\)|\{[^{}]*\})?")
_RADICAL_INDEX = {"√": "", "∛": "[3]", "∜": "[4]"}
# Control and private-use characters are invisible; the private-use ROW_BREAK is ours (see below).
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000-\uf8ff]")
ROW_BREAK = "\ue000"


def _script(match: re.Match[str]) -> str:
    run = match.group()
    if run[0] in _SUPERSCRIPTS:
        return "^{" + "".join(_SUPERSCRIPTS[c] for c in run).replace("\u2212", "-") + "}"
    return "_{" + "".join(_SUBSCRIPTS[c] for c in run).replace("\u2212", "-") + "}"


def _vulgar_fraction(match: re.Match[str]) -> str:
    numerator, denominator = unicodedata.normalize("NFKC", match.group()).split("\u2044")
    return f"\\frac{{{numerator}}}{{{denominator}}}"


def _radical(match: re.Match[str]) -> str:
    operand = match.group(2)
    if operand is None:
        return "\\sqrt" + _RADICAL_INDEX[match.group(1)] + " "
    if operand[0] in "({":
        operand = operand[1:-1]
    return "\\sqrt" + _RADICAL_INDEX[match.group(1)] + "{" + operand + "}"


def unicode_to_latex(text: str) -> str:
    """Scripts, vulgar fractions and radicals as LaTeX, then NFKC and the symbol map."""
    text = _INVISIBLE.sub("", text)
    text = _SCRIPT_RUN.sub(_script, text)
    text = _VULGAR_FRACTION.sub(_vulgar_fraction, text)
    text = _RADICAL.sub(_radical, text)
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATION)


_TEXT_MACROS = r"text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mathsf|mbox|operatorname"

# Ordered (pattern, replacement) rewrites; each is a presentation-only difference.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r",\\!\s*", ","),  # MATH's thousands separator: 32,\! 349
        (r"\\[hv]?phantom\s*\{[^{}]*\}|\\hline|\\(?:displaystyle|textstyle|limits)(?![a-zA-Z])", ""),
        (r"\\[dt]frac", r"\\frac"),
        (r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*", ""),
        (r"\\(?:quad|qquad|enspace|thinspace)(?![a-zA-Z])|\\[,;: ]|~", " "),
        (r"\\!", ""),
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
        (r"\\log\s*_\s*\{?\s*e\s*\}?(?![a-zA-Z])", r"\\ln "),
        (r"\\mathbb\s*\{?\s*([a-zA-Z])\s*\}?", r"\\mathbb{\1}"),
        (r"([_^])\s*\{\s*([0-9a-zA-Z])\s*\}", r"\1\2"),  # x_{1} is x_1
        # One column vector or matrix, however it is bracketed: \left[\begin{array}{c}...\end{array}\right].
        (r"\b(?:[bB]|small)?matrix\b", "pmatrix"),
        (r"[(\[]\s*\\begin\s*\{array\}\s*\{[^{}]*\}", r"\\begin{pmatrix}"),
        (r"\\end\s*\{array\}\s*[)\]]", r"\\end{pmatrix}"),
        # Scientific notation: 3.83e35, 1E-5 (a numeral, "e", an integer exponent) is 3.83\times10^{35}.
        (r"(?<![\w.\\])(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w.])", r"\1\\times10^{\2}"),
        (r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}"),
        (r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}"),
        (r"\\frac\s*([0-9a-zA-Z])\s*\{", r"\\frac{\1}{"),
        (r"\\frac\s*\{([^{}]*)\}\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}"),
    )
)
# A row break `\\` (optionally `\\[4pt]`) is protected from the spacing rewrites as one private character.
_ROW_BREAK = re.compile(r"\\\\(?:\s*\[[^\[\]]*\])?")
_DEGREE = re.compile(r"\s*(?:\^\s*\{?\s*\\circ\s*\}?|\\(?:circ|degree|textdegree)(?![a-zA-Z]))")
_NUMBER_DEGREE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:\^\s*\{?\s*\\circ\s*\}?|\\(?:circ|degree|textdegree)(?![a-zA-Z]))"
)
# An answer whose values are plain numbers (optionally labelled): there a degree sign is only a unit.
_NUMBERS_ONLY = re.compile(
    r"(?:[^=,]{1,20}=)?\s*[+-]?\s*\d+(?:\.\d+)?\s*(?:,(?:[^=,]{1,20}=)?\s*[+-]?\s*\d+(?:\.\d+)?\s*)*"
)
_WRAPPER = re.compile(rf"\\(?:{_TEXT_MACROS}|boxed|fbox)\s*\{{([^{{}}]*)\}}")
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(?:(,|\s)\d{3})+(?:\.\d+)?")
_UNIT_WORDS = (
    "cm|mm|km|in|inch|inches|ft|foot|feet|yd|yard|yards|mi|mile|miles|meter|meters|metre|metres|"
    "centimeter|centimeters|kilometer|kilometers|kg|gram|grams|lb|lbs|pound|pounds|oz|ounce|ounces|"
    "sec|second|seconds|min|minute|minutes|hr|hrs|hour|hours|day|days|week|weeks|month|months|year|years|"
    "degree|degrees|dollar|dollars|cent|cents|unit|units|square units|sq units|cubic units|percent|percentage|pct|"
    "mph|kmh|kph|liters|litres|liter|ml|people|students|ways|rad|radians"
)
# Single letters are units only inside \text{} (5\text{ m}); bare, they are variables (\frac34 m).
_TEXT_ONLY_UNITS = "m|g|s|h|l|L|K|N|J|W|V|A|Pa|Hz|C|F|T|eV|mol|ms|kN|kJ|kW|MHz|GHz|nm|mg|cal|kcal|atm"
_UNIT = rf"(?:{_UNIT_WORDS}|{_TEXT_ONLY_UNITS})(?:\s*\^\s*\{{?-?[1-3]\}}?)?"
_COMPOUND_UNIT = rf"{_UNIT}(?:\s*(?:/|\\cdot|\s)\s*{_UNIT})*"
_TEXT_UNIT = re.compile(
    rf"(?<=[\d}})])(?:\s*(?:/|\\cdot)?\s*\\(?:text|mathrm|textrm|mbox|textnormal)\s*\{{\s*{_COMPOUND_UNIT}\s*\}}"
    rf"(?:\s*\^\s*\{{?-?[1-3]\}}?)?)+\s*$"
)
_TRAILING_UNIT = re.compile(
    rf"(?<=[\d}})])\s+(?:{_UNIT_WORDS})(?:\s*\^\s*\{{?[23]\}}?)?(?:\s*/\s*(?:{_UNIT_WORDS}|s|h))?$",
    re.IGNORECASE,
)
# "x = 2 or x = 3" lists two answers; it is read like "x = 2, x = 3" (and "3 or 4" is not 3).
_LIST_WORD = re.compile(r"\s+(?:or|and)\s+|\s*\\lor\s*")
_SPACE_NOT_BETWEEN_LETTERS = re.compile(r"(?<![a-zA-Z])\s+|\s+(?![a-zA-Z])")
_WORD_ANSWER = re.compile(r"[a-zA-Z][a-zA-Z ]*[a-zA-Z]")
_CHOICE = re.compile(r"\(([A-Ea-e])\)")
_DIGIT = re.compile(r"\d")
_PLUS_MINUS = re.compile(r"\\(pm|mp)(?![a-zA-Z])")
_LEADING_PLUS = re.compile(r"(^|=|\{|\()\+")


def _unwrap(text: str) -> str:
    """Replace \\text{...}-like wrappers and nested boxes by their (padded) content."""
    for _ in range(4):
        unwrapped = _WRAPPER.sub(lambda m: f" {m.group(1)} ", text)
        if unwrapped == text:
            break
        text = unwrapped
    return text


def _degrees(text: str) -> str:
    """Drop a degree sign after a plain number (60^\\circ is 60); inside a formula it is pi/180."""
    if not _DEGREE.search(text):
        return text
    if _NUMBERS_ONLY.fullmatch(_DEGREE.sub("", text)):
        return _DEGREE.sub("", text)
    return _DEGREE.sub("", _NUMBER_DEGREE.sub(r"(\\frac{\1\\pi}{180})", text))


def _expand_plus_minus(text: str) -> str:
    """`a \\pm b` is the list `a+b, a-b`: each list element with one \\pm (or \\mp) becomes two."""
    elements = []
    for element in split_top_level(text):
        signs = _PLUS_MINUS.findall(element)
        if len(signs) != 1:
            elements.append(element)
            continue
        first, second = ("+", "-") if signs[0] == "pm" else ("-", "+")
        for sign in (first, second):
            elements.append(_LEADING_PLUS.sub(r"\1", _PLUS_MINUS.sub(sign, element)))
    return ",".join(elements)


@lru_cache(maxsize=65536)
def normalize_answer(answer: str) -> str:
    """The canonical text of an answer: same string for presentation-only differences."""
    text = _ROW_BREAK.sub(ROW_BREAK, unicode_to_latex(answer))
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = _degrees(text)
    text = _TEXT_UNIT.sub("", text)
    text = _unwrap(text).strip().rstrip(" .")
    if _THOUSANDS.fullmatch(text):
        text = re.sub(r"[,\s]", "", text)
    text = _TRAILING_UNIT.sub("", text)
    if _DIGIT.search(text):
        text = _LIST_WORD.sub(",", text)
    text = _SPACE_NOT_BETWEEN_LETTERS.sub("", re.sub(r"\s+", " ", text))
    if _PLUS_MINUS.search(text):
        text = _expand_plus_minus(text)
    text = text.replace(ROW_BREAK, "\\\\")
    if _WORD_ANSWER.fullmatch(text):
        return text.lower()
    choice = _CHOICE.fullmatch(text)
    return choice.group(1).upper() if choice else text
