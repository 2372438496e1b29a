"""Unicode and LaTeX normalisation of a short answer string, so equal answers compare equal as text."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.exact import split_top_level
from deepmath_ext.verify.linear import MACRO, Match, Replacement, macro_rewrite
from deepmath_ext.verify.units import UNIT_SYMBOLS, UNIT_WORDS

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
_SCRIPT_RUN = linear.compile(f"[{''.join(_SUPERSCRIPTS)}]+|[{''.join(_SUBSCRIPTS)}]+")
_VULGAR_FRACTION = linear.compile(r"[\u00bc-\u00be\u2150-\u215e\u2189]")
# A radical takes its whole operand: √10 is \sqrt{10}, √(x+1) is \sqrt{x+1}.
_RADICAL = linear.compile(r"([√∛∜])\s*(\d+(?:\.\d+)?|[a-zA-Z]|\([^()]*\)|\{[^{}]*\})?")
_RADICAL_INDEX = {"√": "", "∛": "[3]", "∜": "[4]"}
# Control and private-use characters are invisible; the private-use ROW_BREAK is ours (see below).
_INVISIBLE = linear.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000-\uf8ff]")
ROW_BREAK = "\ue000"


def _script(match: Match) -> str:
    run = match.group()
    if run[0] in _SUPERSCRIPTS:
        return "^{" + "".join(_SUPERSCRIPTS[c] for c in run).replace("\u2212", "-") + "}"
    return "_{" + "".join(_SUBSCRIPTS[c] for c in run).replace("\u2212", "-") + "}"


def _vulgar_fraction(match: Match) -> str:
    numerator, denominator = unicodedata.normalize("NFKC", match.group()).split("\u2044")
    return f"\\frac{{{numerator}}}{{{denominator}}}"


def _radical(match: Match) -> str:
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

_SAME_AS = {"le": "\\le ", "leq": "\\le ", "ge": "\\ge ", "geq": "\\ge ", "ne": "\\ne ", "neq": "\\ne "}
_SAME_AS |= {"lbrace": "\\{", "rbrace": "\\}", "varnothing": "\\emptyset"}


def _same_macro(match: Match) -> str:
    """A relation or brace macro in its one spelling (`\\leq` is `\\le `); other macros unchanged."""
    return _SAME_AS.get(match[1], match[0])


def _log_base_e(match: Match) -> str:
    """`\\log_e` is `\\ln `; the macro must not run on into a letter (`\\log_ex` stays)."""
    following = match.string[match.end() : match.end() + 1]
    if not following.isascii() or not following.isalpha():
        return "\\ln "
    # As a backtracking match would: give back the closing brace, else one space, else no match.
    spaces, brace = match[1], match[2]
    if brace:
        return "\\ln " + brace
    return "\\ln " + spaces[-1] if spaces else match[0]


def _matrix_word(match: Match) -> str:
    """The words matrix, bmatrix, Bmatrix and smallmatrix are pmatrix; longer words stay."""
    return "pmatrix" if match[0] in ("matrix", "bmatrix", "Bmatrix", "smallmatrix") else match[0]


Step = tuple[str, Callable[[str], str]]  # (a pattern that matches wherever the rewrite changes text, rewrite)


def _rewrite(pattern: str, replacement: Replacement) -> Step:
    compiled = linear.compile(pattern)
    return pattern, lambda text: compiled.sub(replacement, text)


# Scientific notation: 3.83e35, 1E-5 (a numeral, "e", an integer exponent) is 3.83\times10^{35}, when the
# numeral starts a run of word characters and dots that does not follow a backslash and the exponent ends it.
_WORD_RUN = linear.compile(r"[\w.]+")
_SCIENTIFIC_HINT = r"\d[eE][+-]?\d"
_SCIENTIFIC = linear.compile(r"(\d+(?:\.\d+)?)[eE](\d+)?")
_EXPONENT = linear.compile(r"\d+")


def _scientific(text: str) -> str:
    """`3.83e35` and `1E-5` as `\\times10^{...}`: a numeral, `e`, an integer exponent, a whole word."""
    out, position, skip_until = [], 0, -1
    runs = list(_WORD_RUN.finditer(text))
    for index, run in enumerate(runs):
        start, end = run.start(), run.end()
        if start < skip_until or (start > 0 and text[start - 1] == "\\"):
            continue
        match = _SCIENTIFIC.fullmatch(run[0])
        if match is None:
            continue
        exponent = match[2]
        if exponent is None:  # a signed exponent: the sign, then the next run, all digits
            following = runs[index + 1] if index + 1 < len(runs) else None
            if following is None or following.start() != end + 1 or text[end] not in "+-":
                continue
            if not _EXPONENT.fullmatch(following[0]):
                continue
            exponent, end = text[end] + following[0], following.end()
            skip_until = end
        out.append(text[position:start] + match[1] + "\\times10^{" + exponent + "}")
        position = end
    return "".join(out) + text[position:]


# Ordered rewrites; each removes a presentation-only difference.
_REWRITES: tuple[Step, ...] = (
    _rewrite(r",\\!\s*", ","),  # MATH's thousands separator: 32,\! 349
    _rewrite(
        rf"\\[hv]?phantom\s*\{{[^{{}}]*\}}|\\hline|{MACRO}",
        macro_rewrite({"displaystyle", "textstyle", "limits"}, ""),
    ),
    _rewrite(r"\\[dt]frac", r"\\frac"),
    _rewrite(rf"{MACRO}\s*", macro_rewrite({"left", "right", "big", "Big", "bigg", "Bigg"}, "")),
    _rewrite(rf"{MACRO}|\\[,;: ]|~", macro_rewrite({"quad", "qquad", "enspace", "thinspace"}, " ")),
    _rewrite(r"\\!", ""),
    _rewrite(r"\\?%", ""),
    _rewrite(r"\\?\$", ""),
    _rewrite(r"\{,\}", ","),
    _rewrite(MACRO, _same_macro),
    _rewrite(r"\\dots|\\ldots|\\cdots", r"\\dots"),
    _rewrite(r"\\log\s*_\s*\{?\s*e(\s*)(\}?)", _log_base_e),
    _rewrite(r"\\mathbb\s*\{?\s*([a-zA-Z])\s*\}?", r"\\mathbb{\1}"),
    _rewrite(r"([_^])\s*\{\s*([0-9a-zA-Z])\s*\}", r"\1\2"),  # x_{1} is x_1
    # One column vector or matrix, however it is bracketed: \left[\begin{array}{c}...\end{array}\right].
    _rewrite(r"\w*matrix\w*", _matrix_word),
    _rewrite(r"[(\[]\s*\\begin\s*\{array\}\s*\{[^{}]*\}", r"\\begin{pmatrix}"),
    _rewrite(r"\\end\s*\{array\}\s*[)\]]", r"\\end{pmatrix}"),
    (_SCIENTIFIC_HINT, _scientific),
    _rewrite(r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}"),
    _rewrite(r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}"),
    _rewrite(r"\\frac\s*([0-9a-zA-Z])\s*\{", r"\\frac{\1}{"),
    _rewrite(r"\\frac\s*\{([^{}]*)\}\s*([0-9a-zA-Z])", r"\\frac{\1}{\2}"),
)

# One pass over the text says which rewrites can change it.
_REWRITE_SET = linear.PatternSet([pattern for pattern, _ in _REWRITES])
# A row break `\\` (optionally `\\[4pt]`) is protected from the spacing rewrites as one private character.
_ROW_BREAK = linear.compile(r"\\\\(?:\s*\[[^\[\]]*\])?")
# A degree sign; any other macro is matched (its name in the group) only to be kept as it is.
_DEGREE_SIGN = r"(?:\^\s*\{?\s*\\circ\s*\}?|\\([a-zA-Z]+))"
_DEGREE_MACROS = ("circ", "degree", "textdegree")
_DEGREE = linear.compile(rf"\s*{_DEGREE_SIGN}")
_UNSIGNED = r"\d+(?:\.\d+)?"
_NUMBER_DEGREE = linear.compile(rf"({_UNSIGNED})\s*{_DEGREE_SIGN}")
# An answer whose values are plain numbers (optionally labelled): there a degree sign is only a unit.
_LABELLED_NUMBER = rf"(?:[^=,]{{1,20}}=)?\s*[+-]?\s*{_UNSIGNED}\s*"
_NUMBERS_ONLY = linear.compile(rf"{_LABELLED_NUMBER}(?:,{_LABELLED_NUMBER})*")
_WRAPPER = linear.compile(rf"\\(?:{_TEXT_MACROS}|boxed|fbox)\s*\{{([^{{}}]*)\}}")
_THOUSANDS = linear.compile(r"[+-]?[1-9]\d{0,2}(?:(,|\s)\d{3})+(?:\.\d+)?")
_SEPARATORS = linear.compile(r"[,\s]")
_UNIT_WORDS = "|".join(UNIT_WORDS)
# Single letters are units only inside \text{} (5\text{ m}); bare, they are variables (\frac34 m).
_TEXT_ONLY_UNITS = "|".join(UNIT_SYMBOLS)
_UNIT = rf"(?:{_UNIT_WORDS}|{_TEXT_ONLY_UNITS})(?:\s*\^\s*\{{?-?[1-3]\}}?)?"
_COMPOUND_UNIT = rf"{_UNIT}(?:\s*(?:/|\\cdot|\s)\s*{_UNIT})*"
# Units after a number, a brace or a parenthesis (group 1, kept) at the end of the answer.
_TEXT_UNIT = linear.compile(
    rf"([\d}})])(?:\s*(?:/|\\cdot)?\s*\\(?:text|mathrm|textrm|mbox|textnormal)\s*\{{\s*{_COMPOUND_UNIT}\s*\}}"
    rf"(?:\s*\^\s*\{{?-?[1-3]\}}?)?)+\s*$"
)
_TRAILING_UNIT = linear.compile(
    rf"([\d}})])\s+(?:{_UNIT_WORDS})(?:\s*\^\s*\{{?[23]\}}?)?(?:\s*/\s*(?:{_UNIT_WORDS}|s|h))?$",
    ignore_case=True,
)
# "x = 2 or x = 3" lists two answers; it is read like "x = 2, x = 3" (and "3 or 4" is not 3).
_LIST_WORD = linear.compile(r"\s+(?:or|and)\s+|\s*\\lor\s*")
_SPACES = linear.compile(r"\s+")
_WORD_ANSWER = linear.compile(r"[a-zA-Z][a-zA-Z ]*[a-zA-Z]")
_CHOICE = linear.compile(r"\(([A-Ea-e])\)")
_DIGIT = linear.compile(r"\d")
_MACRO_NAME = linear.compile(MACRO)
_PLUS_MINUS = ("pm", "mp")
_LEADING_PLUS = linear.compile(r"(^|=|\{|\()\+")


def _is_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _space(match: Match) -> str:
    """A run of spaces is one space between two letters (`x or y`) and nothing elsewhere."""
    text, start, end = match.string, match.start(), match.end()
    return (
        " " if start > 0 and end < len(text) and _is_letter(text[start - 1]) and _is_letter(text[end]) else ""
    )


def _rewrite_presentation(text: str) -> str:
    """The rewrites in order, each run only where the set says its pattern occurs in the current text."""
    step = 0
    while pending := [index for index in _REWRITE_SET.matching(text) if index >= step]:
        step = pending[0]
        text = _REWRITES[step][1](text)
        step += 1
    return text


def _degree_or_keep(match: Match) -> str:
    """Nothing for a degree sign; any other macro the pattern matched stays as it was."""
    return "" if match[1] is None or match[1] in _DEGREE_MACROS else match[0]


def _number_degree(match: Match) -> str:
    """A number with a degree sign as radians; any other macro the pattern matched stays as it was."""
    if match[2] is not None and match[2] not in _DEGREE_MACROS:
        return match[0]
    return f"(\\frac{{{match[1]}\\pi}}{{180}})"


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
    without = _DEGREE.sub(_degree_or_keep, text)
    if without == text or _NUMBERS_ONLY.fullmatch(without):
        return without
    return _DEGREE.sub(_degree_or_keep, _NUMBER_DEGREE.sub(_number_degree, text))


def _plus_minus_signs(text: str) -> list[str]:
    """The `\\pm` and `\\mp` macros of the text, in order, by name."""
    if "\\pm" not in text and "\\mp" not in text:
        return []
    return [name for name in _MACRO_NAME.findall(text) if name in _PLUS_MINUS]


def _expand_plus_minus(text: str) -> str:
    """`a \\pm b` is the list `a+b, a-b`: each list element with one \\pm (or \\mp) becomes two."""
    elements = []
    for element in split_top_level(text):
        signs = _plus_minus_signs(element)
        if len(signs) != 1:
            elements.append(element)
            continue
        first, second = ("+", "-") if signs[0] == "pm" else ("-", "+")
        for sign in (first, second):
            signed = _MACRO_NAME.sub(macro_rewrite(_PLUS_MINUS, sign), element)
            elements.append(_LEADING_PLUS.sub(r"\1", signed))
    return ",".join(elements)


@lru_cache(maxsize=65536)
def normalize_answer(answer: str) -> str:
    """The canonical text of an answer: same string for presentation-only differences."""
    text = _ROW_BREAK.sub(ROW_BREAK, unicode_to_latex(answer))
    text = _rewrite_presentation(text)
    text = _degrees(text)
    text = _TEXT_UNIT.sub(r"\1", text)
    text = _unwrap(text).strip().rstrip(" .")
    if _THOUSANDS.fullmatch(text):
        text = _SEPARATORS.sub("", text)
    text = _TRAILING_UNIT.sub(r"\1", text)
    if _DIGIT.search(text):
        text = _LIST_WORD.sub(",", text)
    text = _SPACES.sub(_space, text)
    if _plus_minus_signs(text):
        text = _expand_plus_minus(text)
    text = text.replace(ROW_BREAK, "\\\\")
    if _WORD_ANSWER.fullmatch(text):
        return text.lower()
    choice = _CHOICE.fullmatch(text)
    return choice.group(1).upper() if choice else text
