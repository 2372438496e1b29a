"""Exact decisions on normalised answers: string equality and rational arithmetic, no tolerance."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.linear import MACRO
from deepmath_ext.verify.status import GradeStatus

# Longer numerals go to the guards, not to int(): CPython refuses to convert > 4300 digits anyway.
MAX_NUMERAL_CHARS = 1200
# Powers are evaluated exactly when their value has at most this many digits (`2^{2100}`, 633 digits).
MAX_POWER_DIGITS = MAX_NUMERAL_CHARS

_SIGN = r"[+-]?"
_DECIMAL = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = linear.compile(rf"{_SIGN}{_DECIMAL}")
_SLASH = linear.compile(rf"({_SIGN}\d+)/(\d+)")
_FRAC = linear.compile(rf"({_SIGN})\\frac\{{({_SIGN}\d+)\}}\{{({_SIGN}\d+)\}}")
_MIXED = linear.compile(rf"({_SIGN})(\d+)\\frac\{{(\d+)\}}\{{(\d+)\}}")
_SCIENTIFIC = linear.compile(rf"({_SIGN}{_DECIMAL})(?:\\times|\\cdot|\*)10\^(?:\{{({_SIGN}\d+)\}}|(\d))")
_POWER = linear.compile(rf"({_SIGN})(\d+)\^(?:\{{({_SIGN}\d+)\}}|(\d))")
_BASE_NUMERAL = linear.compile(r"([0-9A-Za-z]+)_\{?(\d{1,2})\}?")
_REPEATING = linear.compile(rf"({_SIGN})(\d*)\.(\d*)\\overline\{{(\d+)\}}")
# A symbol or macro name (`x`, `\\theta`), the start of every label and name below.
_SYMBOL = r"(?:[a-zA-Z]|\\[a-zA-Z]+)"
# A label: a symbol with an optional index (`x`, `x_1`, `a_{n}`).
_LABEL_PATTERN = _SYMBOL + r"(?:_\{?\w+\}?)?"
_ASSIGNMENT = linear.compile(rf"(?P<label>{_LABEL_PATTERN})=(?P<rhs>[^=<>]+)")
_RELATION = linear.compile(r"=|<|>|\\le|\\ge|\\ne")
# Word answers: letters and spaces with a run of three letters (two checks, so no backtracking).
_LETTERS_AND_SPACES = linear.compile(r"[a-z ]+")
_THREE_LETTERS = linear.compile(r"[a-z]{3}")
_CHOICE_LETTER = linear.compile(r"[A-E]")
_CHOICE_AND_VALUE = linear.compile(r"\(([A-E])\)(.+)")
_MACRO_NAME = linear.compile(MACRO)
_CONNECTIVES = frozenset(
    ("implies", "impliedby", "iff", "Rightarrow", "Longrightarrow", "Leftrightarrow", "therefore", "because")
)
_DECIMAL_COMMA = linear.compile(r"[+-]?\d+,\d+")
_CHOICE_LABEL = linear.compile(r"\([A-Ea-e]\)")
# A macro name or a run of letters: a run of two or more letters that is not a macro is a word.
_MACRO_OR_LETTERS = linear.compile(r"\\?[a-zA-Z]+")
# A letter other than e and i, or a Greek letter other than pi, is a variable.
_VARIABLE = linear.compile(r"[a-df-hj-zA-Z]")
_GREEK_VARIABLES = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
    ]
)
# A name for a quantity: a symbol with indices or primes, maybe applied (`x`, `a_n`, `f'(x)`, `S_{10}`),
# or a derivative (`\\frac{dy}{dx}`, `\\frac{d^2y}{dx^2}`).
_NAME = linear.compile(_SYMBOL + r"(?:_\{?[\w,]+\}?|'|\^\{?\\prime\}?)*(?:\([^()]*\))?")
_DERIVATIVE = linear.compile(
    r"\\frac\{d(?:\^\{?\d+\}?)?[a-zA-Z]*\}\{d[a-zA-Z]+(?:\^\{?\d+\}?)?\}(?:\([^()]*\))?"
)
_TUPLE_ASSIGNMENT = linear.compile(r"\(([^()]*)\)=\(([^()]*)\)")
_LABEL = linear.compile(_LABEL_PATTERN)
# `F(x)+C`: an antiderivative plus its constant, a capital letter with an optional index.
_CONSTANT_TERM = linear.compile(r"(?P<rest>.+)\+(?P<name>[A-Z](?:_\{?\d+\}?)?)")


def _fraction(numerator: str, denominator: str) -> Fraction | None:
    return None if int(denominator) == 0 else Fraction(int(numerator), int(denominator))


def parse_rational(text: str) -> Fraction | None:
    """The exact value of an integer, decimal, a/b, \\frac{a}{b}, mixed number, a^k or a×10^k; else None."""
    if len(text) > MAX_NUMERAL_CHARS:
        return None
    if _PLAIN.fullmatch(text):
        return Fraction(text)
    if match := _SLASH.fullmatch(text):
        return _fraction(match[1], match[2])
    if match := _FRAC.fullmatch(text):
        value = _fraction(match[2], match[3])
        return -value if value is not None and match[1] == "-" else value
    if match := _MIXED.fullmatch(text):
        # A whole number directly before a fraction is a mixed number: 3\frac12 = 7/2.
        value = _fraction(match[3], match[4])
        value = None if value is None else int(match[2]) + value
        return -value if value is not None and match[1] == "-" else value
    if match := _POWER.fullmatch(text):
        base, exponent = int(match[2]), int(match[3] or match[4])
        if abs(exponent) * math.log10(max(base, 2)) > MAX_POWER_DIGITS or (base == 0 and exponent < 0):
            return None
        return (-1 if match[1] == "-" else 1) * Fraction(base) ** exponent  # -2^2 is -(2^2)
    if match := _SCIENTIFIC.fullmatch(text):
        exponent = int(match[2] or match[3])
        return Fraction(match[1]) * Fraction(10) ** exponent if abs(exponent) <= MAX_POWER_DIGITS else None
    if match := _REPEATING.fullmatch(text):
        return _repeating_decimal(*match.groups())
    return None


def _repeating_decimal(sign: str, whole: str, fixed: str, period: str) -> Fraction:
    """The value of `0.1\\overline{6}`: whole part, fixed digits, then the period repeated forever."""
    value = Fraction(int(whole or "0")) + Fraction(int(fixed or "0"), 10 ** len(fixed))
    value += Fraction(int(period), 10 ** len(fixed) * (10 ** len(period) - 1))
    return -value if sign == "-" else value


def split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets or braces."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _closes_at_end(text: str) -> bool:
    """True when the bracket opening the text is the one closing it: `(1,2)` but not `(1,2),(3,4)`."""
    depth = 0
    for index, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0:
            return index == len(text) - 1
    return False


def collection(text: str) -> tuple[str, list[str]]:
    """(kind, elements): kind "set" for \\{...\\}, {...} and bare lists (unordered), else its brackets."""
    if text.startswith("\\{") and text.endswith("\\}"):
        return "set", split_top_level(text[2:-2])
    if text.startswith("{") and text.endswith("}") and len(inner := split_top_level(text[1:-1])) > 1:
        return "set", inner
    if len(text) > 1 and text[0] in "([" and text[-1] in ")]" and _closes_at_end(text):
        inner = split_top_level(text[1:-1])
        if len(inner) > 1:
            return text[0] + text[-1], inner
    return "set", split_top_level(text)


def _is_words(text: str) -> bool:
    return bool(_LETTERS_AND_SPACES.fullmatch(text) and _THREE_LETTERS.search(text))


def _kind(text: str) -> str:
    """Top-level shape: "set" (\\{...\\}), "list" (bare, unordered), "bracket" (tuple or interval), "other"."""
    if text.startswith("\\{") or text == "\\emptyset":
        return "set"
    kind, items = collection(text)
    if len(items) > 1:
        return "list" if kind == "set" else "bracket"
    return "bracket" if "\\cup" in text and text[0] in "([" else "other"


def _collection_kinds_differ(pred: str, gold: str) -> bool:
    """A set or a list of solutions never answers an interval or tuple, nor the reverse; and brackets of
    tuples and intervals must match, except beside an infinite endpoint (`[2, \\infty]` = `[2, \\infty)`)."""
    kinds = {_kind(pred), _kind(gold)}
    if "bracket" in kinds and bool(kinds & {"set", "list"}):
        return True
    if kinds != {"bracket"}:
        return False
    (pred_kind, pred_items), (gold_kind, gold_items) = collection(pred), collection(gold)
    if len(pred_kind) != 2 or len(gold_kind) != 2 or len(pred_items) != len(gold_items):
        return False
    ends = ((0, pred_items[0], gold_items[0]), (1, pred_items[-1], gold_items[-1]))
    return any(pred_kind[i] != gold_kind[i] and "\\infty" not in p + g for i, p, g in ends)


def _labelled(text: str) -> list[tuple[str, str]] | None:
    """[(label, value)] of a system `x=2, y=3` (two or more distinct unknowns), else None.

    Indexed labels of one unknown (`x_1=2, x_2=3`) name the roots of one equation: a list, not a system."""
    parts = split_top_level(text)
    matches = [_ASSIGNMENT.fullmatch(part) for part in parts]
    if len(parts) < 2 or None in matches:
        return None
    if len({m["label"].split("_")[0] for m in matches}) < len(matches):
        return None
    return [(m["label"], m["rhs"]) for m in matches]


def _roots_of_one_unknown(pred: str, gold: str) -> bool:
    """Both sides list values of one unknown (`x_1=2, x_2=3`, `x=2, x=3`): the labels are arbitrary."""
    labels = set()
    for part in (*split_top_level(pred), *split_top_level(gold)):
        match = _ASSIGNMENT.fullmatch(part)
        if match is None:
            return False
        labels.add(match["label"].split("_")[0])
    return len(labels) == 1


def _label_order(label: str) -> str:
    """Tuples list labelled values alphabetically by name: (x, y), (a, b, c), (r, \\theta)."""
    return label.lstrip("\\")


def _as_tuple(values: list[str]) -> str:
    """Values in order; a row vector when not all are numbers, so that math-verify never reads an interval."""
    if all(parse_rational(value) is not None for value in values):
        return "(" + ",".join(values) + ")"
    return "\\begin{pmatrix}" + "&".join(values) + "\\end{pmatrix}"


def _systems_as_tuples(pred: str, gold: str) -> tuple[str, str] | None:
    """Labelled values compare by label, as tuples; None when the labels differ.

    Against a labelled gold, a tuple is read in the gold's order; a labelled answer against a tuple gold
    is read in alphabetical order of its labels."""
    gold_system, pred_system = _labelled(gold), _labelled(pred)
    if gold_system is None:
        kind, gold_values = collection(gold)
        if pred_system is not None and kind == "()" and len(gold_values) == len(pred_system):
            pred_system = sorted(pred_system, key=lambda pair: _label_order(pair[0]))
            return _as_tuple([value for _, value in pred_system]), _as_tuple(gold_values)
        return pred, gold
    labels = [label for label, _ in gold_system]  # the gold's order is the question's order
    if pred_system is not None:
        values = dict(pred_system)
        if sorted(values) != sorted(labels):
            return None
        pred_values = [values[label] for label in labels]
    else:
        kind, pred_values = collection(pred)
        if kind != "()" and (kind != "set" or pred.startswith("\\{")):
            return pred, gold
    if len(pred_values) != len(labels):
        return None
    return _as_tuple(pred_values), _as_tuple([value for _, value in gold_system])


def _labelled_choice(text: str) -> linear.Match | None:
    """`(C)12`: a choice label and its value; None when what follows is not one value (another choice,
    words such as `is not the answer` or `or`, a list), so that `(C)(D)` is never read as `(C)`."""
    match = _CHOICE_AND_VALUE.fullmatch(text)
    if match is None:
        return None
    value = match[2]
    words = [w for w in _MACRO_OR_LETTERS.findall(value) if len(w) > 1 and not w.startswith("\\")]
    if _CHOICE_LABEL.search(value) or words or value[0] in ",;/|" or len(split_top_level(value)) > 1:
        return None
    return match


def _choice_value(pred: str, gold: str) -> tuple[str, str]:
    """`(C)12`: the letter when the other side is a letter, else the value."""
    if match := _labelled_choice(pred):
        pred = match[1] if _CHOICE_LETTER.fullmatch(gold) else match[2]
    if match := _labelled_choice(gold):
        gold = match[1] if _CHOICE_LETTER.fullmatch(pred) else match[2]
    return pred, gold


def strip_assignment(text: str) -> str:
    """`x=3` -> `3` for each element of a list; a single symbol on the left is only a label."""
    return ",".join(
        match["rhs"] if (match := _ASSIGNMENT.fullmatch(part)) else part for part in split_top_level(text)
    )


def _is_numeral(digits: str, base: int) -> bool:
    """True for digits valid in a base 2..36 other than 10, with at least one decimal digit."""
    if base == 10 or not 2 <= base <= 36 or not any(c.isdigit() for c in digits):
        return False
    try:
        int(digits, base)
    except ValueError:
        return False
    return True


def _decide_base_numeral(pred: str, gold: str) -> GradeStatus | None:
    """A gold written in base b (`1011_2`) is matched digit for digit, subscript optional."""
    gold_match = _BASE_NUMERAL.fullmatch(gold)
    if not gold_match or not _is_numeral(gold_match[1], int(gold_match[2])):
        return None
    pred_match = _BASE_NUMERAL.fullmatch(pred)
    pred_digits = pred_match[1] if pred_match and pred_match[2] == gold_match[2] else pred
    return GradeStatus.CORRECT_EXACT if pred_digits.upper() == gold_match[1].upper() else GradeStatus.WRONG


def _read_base_numeral(pred: str) -> str | None:
    """A numeral with a base subscript (`13_4`) as its decimal value (`7`); None when no base reads it.

    Text that is not a numeral with a subscript (`x_1`) is returned as it is."""
    sign, unsigned = ("-", pred[1:]) if pred.startswith("-") else ("", pred)
    match = _BASE_NUMERAL.fullmatch(unsigned)
    if match is None or not any(c.isdigit() for c in match[1]):
        return pred
    digits, base = match[1], int(match[2])
    if base == 10 and digits.isdigit():
        return sign + digits
    return sign + str(int(digits, base)) if _is_numeral(digits, base) else None


def _is_derivation(pred: str, gold: str) -> bool:
    """An implication is working, not an answer (unless the gold is one)."""
    return _has_connective(pred) and not _has_connective(gold)


def _has_connective(text: str) -> bool:
    return any(name in _CONNECTIVES for name in _MACRO_NAME.findall(text))


def is_closed_form(text: str) -> bool:
    """True for a number written as a formula: no variable outside macro names (`e` is Euler's number)."""
    if any(name in _GREEK_VARIABLES for name in _MACRO_NAME.findall(text)):
        return False
    return not _VARIABLE.search(_MACRO_NAME.sub("", text))


def _variables(text: str) -> set[str]:
    names = _MACRO_NAME.findall(text)
    return set(_VARIABLE.findall(_MACRO_NAME.sub("", text))) | {n for n in names if n in _GREEK_VARIABLES}


def _is_claim(side: str, last: str, identities: bool) -> bool:
    """Whether a side before the last must equal it: a number (`2 = 3`), or, when `identities`, a formula
    that shares a variable with the last side and is not a name for it (`2^k + 1 = 2^k`; not `x`,
    `f(x)`, `a_n`, `\\frac{dy}{dx}`, and not `a+b` before a number)."""
    if not side:
        return False
    if is_closed_form(last):
        return is_closed_form(side)
    if not identities or _NAME.fullmatch(side) or _DERIVATIVE.fullmatch(side):
        return False
    return bool(_variables(side) & _variables(last))


def split_claims(answer: str, identities: bool = True) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(answer without claims, claims): each side of an equation before the last that is a number, or
    (with `identities`: the gold is no equation) a formula in the last side's variables, is a claim
    `(side, last side)` that must hold (`2 = 3`, `3\\cdot 4 = 12`, `2x = x`); a name (`x = 3`,
    `f(x) = ...`, `a+b = 5`) is a label and stays."""
    parts, claims = [], []
    for part in split_top_level(answer):
        sides = part.split("=")
        if len(sides) > 1 and sides[-1]:
            claimed = [side for side in sides[:-1] if _is_claim(side, sides[-1], identities)]
            claims += [(side, sides[-1]) for side in claimed]
            # The last side stays even when a claim reads the same (`2 = 2` is the claim and the value 2).
            part = "=".join([*(side for side in sides[:-1] if side not in claimed), sides[-1]])
        parts.append(part)
    return ",".join(parts), tuple(claims)


def decide_claims(claims: tuple[tuple[str, str], ...]) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """(every claim decided exactly is true, the claims only the symbolic check can decide)."""
    pending = []
    for side, value in claims:
        side_value, exact_value = parse_rational(side), parse_rational(value)
        if side_value is None or exact_value is None:
            pending.append((side, value))
        elif side_value != exact_value:
            return False, ()
    return True, tuple(pending)


def final_values(pred: str, gold: str) -> str:
    """Each chain of equalities `x = 5+6 = 11` reduced to its last side, as math-verify reads it."""
    allowed = max(1, gold.count("="))
    return ",".join(
        part.rsplit("=", 1)[1] if part.count("=") > allowed else part for part in split_top_level(pred)
    )


def is_decimal_comma_of(raw_answer: str, gold: str) -> bool:
    """The answer as written (`2,5`, no space) is the decimal gold `2.5` with a decimal comma.

    Only the answer may use a decimal comma, and only against a decimal gold: a gold with a comma is a
    list (`0, 1` and `0,1` are never `0.1`), and `2, 5` (comma and space) is always a list."""
    return bool(_DECIMAL_COMMA.fullmatch(raw_answer)) and raw_answer.replace(",", ".") == gold


def _decide_collections(pred: str, gold: str) -> GradeStatus | None:
    """Element-wise exact comparison when every element on both sides is a rational."""
    pred_kind, pred_items = collection(pred)
    gold_kind, gold_items = collection(gold)
    pred_values = [parse_rational(item) for item in pred_items]
    gold_values = [parse_rational(item) for item in gold_items]
    if None in pred_values or None in gold_values or pred_kind != gold_kind:
        return None
    same = Counter(pred_values) == Counter(gold_values) if gold_kind == "set" else pred_values == gold_values
    return GradeStatus.CORRECT_NUMERIC if same else GradeStatus.WRONG


def _tuple_assignment(text: str) -> str:
    """`(x,y)=(2,3)` as the labelled system `x=2,y=3`; other answers unchanged."""
    match = _TUPLE_ASSIGNMENT.fullmatch(text)
    if match is None:
        return text
    labels, values = match[1].split(","), split_top_level(match[2])
    if len(labels) != len(values) or not all(_LABEL.fullmatch(label) for label in labels):
        return text
    return ",".join(f"{label}={value}" for label, value in zip(labels, values, strict=True))


def _integration_constant(pred: str, gold: str) -> str:
    """An antiderivative's constant may have any free name: `+K`, `+C_1` answer a `+C` gold."""
    gold_match, pred_match = _CONSTANT_TERM.fullmatch(gold), _CONSTANT_TERM.fullmatch(pred)
    if gold_match is None or pred_match is None or gold_match["name"] in gold_match["rest"]:
        return pred
    if pred_match["name"] in pred_match["rest"]:
        return pred  # the name is used elsewhere: it is a variable, not the constant
    return pred_match["rest"] + "+" + gold_match["name"]


def decide_exact(pred: str, gold: str) -> tuple[GradeStatus | None, str, str]:
    """(final status or None, pred, gold): the status when it is certain without sympy; else the two
    answers the symbolic check must compare (labelled systems as tuples, choice labels dropped)."""
    pred, gold = _tuple_assignment(pred), _tuple_assignment(gold)
    pred = _integration_constant(pred, gold)
    if pred == gold:
        return GradeStatus.CORRECT_EXACT, pred, gold
    if _is_derivation(pred, gold):
        return GradeStatus.WRONG, pred, gold
    pred = final_values(pred, gold)
    pred, gold = _choice_value(pred, gold)
    systems = _systems_as_tuples(pred, gold)
    if systems is None:
        return GradeStatus.WRONG, pred, gold
    pred, gold = systems
    return _decide_values(pred, gold), pred, gold


def _decide_values(pred: str, gold: str) -> GradeStatus | None:
    base_status = _decide_base_numeral(pred, gold)
    if base_status is not None:
        return base_status
    pred = _read_base_numeral(pred)
    if pred is None:
        return GradeStatus.WRONG  # a base subscript no base reads (`19_2`)
    if not _RELATION.search(gold) or _roots_of_one_unknown(pred, gold):
        pred = strip_assignment(pred)
    if not _RELATION.search(pred):
        gold = strip_assignment(gold)
    if pred == gold:
        return GradeStatus.CORRECT_EXACT
    if _collection_kinds_differ(pred, gold):
        return GradeStatus.WRONG
    status = _decide_collections(pred, gold)
    if status is not None:
        return status
    if _is_words(pred) and _is_words(gold):
        return GradeStatus.WRONG
    return None
