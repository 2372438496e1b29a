"""The OpenMathInstruct `math_equal` as the reference (DeepMath) graders run it, rewritten step by step.

Re-implemented from the reference's published behaviour (zwhe99/DeepMath `utils/openmathinst_utils.py`),
not copied, and checked against it by `benchmarks/policy_bench.py --against-reference`. In order:
a loose normal form (units, `\\text`, `$`, `%`, mixed numbers, `\\frac12`); equal strings; plain numbers
(commas dropped) within a relative 1e-4 of the gold, of gold/100 or of gold*100 (`math.isclose`, so an
infinity equals only the same infinity); the brackets stripped; `(...)`/`[...]` with the SAME brackets
element by element; comma lists element by element; and last sympy: the strings parsed (Python syntax
first, then LaTeX), equal when `simplify(a - b) == 0` or when their values are `isclose`. `cheap_equal`
is the part without sympy (run in the caller); `math_equal` is the whole check (run in a worker).

Deliberate differences: LaTeX is parsed by latex2sympy2_extended (the reference's sympy `parse_latex`
needs antlr 4.11, which conflicts with hydra); Python-syntax parsing (sympy's `parse_expr`, which
evaluates its input) only runs on text that can name nothing but sympy objects and symbols; numeric
towers and huge factorials never reach sympy (the reference's per-parse 10 s alarm refused them).
"""

from __future__ import annotations

import builtins
import keyword
import math

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.guards import guard_reason
from deepmath_ext.verify.linear import MACRO, Match, macro_rewrite
from deepmath_ext.verify.status import GradeStatus

RELATIVE_TOLERANCE = 1e-4
# The gold, and the gold read as a percentage either way: 25 matches 0.25, 25 and 2500.
PERCENT_FACTORS = (0.01, 1.0, 100.0)
# The reference compares at most this much of a normalised prediction.
MAX_PREDICTION_CHARS = 1000

# Words the reference deletes wherever they occur (with a plural and a power: `cm^2`), in this order.
UNIT_WORDS = (
    "degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "week", "month", "year",
    "foot", "feet", "inch", "yard", "p.m.", "PM",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Whole-answer wrappers the reference unwraps: `\text{yes}` -> `yes`.
WRAPPERS = ("text", "mathrm", "mathcal", "textbf", "textit")
# (literal, replacement) edits, in order.
LITERAL_EDITS = (
    ("\\!", ""), ("\\%", "%"), ("\\$", "$"), ("$", ""), ("%", ""), ("^{\\circ}", ""),
    (" or ", " , "), (" and ", " , "),
    ("million", "*10^6"), ("billion", "*10^9"), ("trillion", "*10^12"),
)  # fmt: skip

_LEFT_RIGHT = linear.compile(r"\\left|\\right")
_TEXT_CONJUNCTION = linear.compile(r"\\text\{\s*(?:or|and)\s*\}")
_EMPTY_LIST_ITEM = linear.compile(r",\s*,")
_TEXT_OPEN = linear.compile(r"\\text\s*\{\s*")
_TEXT_GROUP = linear.compile(r"\\text\{([^}]+)\}")
_UNIT_PATTERNS = tuple(linear.compile(rf"{word}(?:es)?s? *(?:\^[0-9]+)?") for word in UNIT_WORDS)
_DAY = linear.compile(r"days?")
# RE2's `$` is the end of the text; the reference's (Python's) also matches before a final newline.
_WRAPPED = tuple(linear.compile(rf"^\\{name}\{{(.+?)\}}\n?$") for name in WRAPPERS)
_FRAC_SPACES = linear.compile(r"\\frac +")
_SQRT_ARGUMENT = linear.compile(r"\\sqrt(\s*\w+)")
_MINUS_SPACE = linear.compile(r"- *")
_MIXED_NUMBER = linear.compile(r"([0-9]) +([0-9])")
# The reference's `(?<!\d)` before the whole number needs no check: a leftmost match of `\d+` starts
# where a run of digits starts (or right after the previous match, which ends in `}`).
_MIXED_FRACTION = linear.compile(r"(\d+) *\\frac\{(\d+)\}\{(\d+)\}")
_THOUSANDS = linear.compile(r"(\d),(\d\d\d)($|[^\d])")  # `[^\d]`: RE2 has no Unicode `\D`
# Whitespace runs; `_join_digits` drops those with a digit on both sides (the reference's lookaround).
_WHITESPACE_RUN = linear.compile(r"[ \t\r\n]+")
_SYMPY_INTERVAL = linear.compile(r"^Interval(|\.Ropen|\.Lopen|\.open)\((.*)\)$")
_FRAC_VARIANT = linear.compile(MACRO)
_dfrac_to_frac = macro_rewrite({"dfrac", "tfrac"}, "\\frac")
_INTERVAL_BRACKETS = {"": "[]", ".Ropen": "[)", ".Lopen": "(]", ".open": "()"}
# What sympy's Python-syntax parser (which evaluates its input) may read: names, numbers, operators and
# round brackets; no attribute access, strings or dunders. A name must be one of these sympy functions or
# constants, or one sympy does not define (it becomes a symbol); never a Python builtin or keyword.
_PYTHON_SYNTAX = linear.compile(r"[\w\s.+\-*/^()!]*")
_ATTRIBUTE = linear.compile(r"\.\s*[A-Za-z_]|__")
_NAME = linear.compile(r"[A-Za-z_]\w*")
SYMPY_NAMES = frozenset((
    "sqrt", "pi", "E", "I", "oo", "exp", "log", "ln", "sin", "cos", "tan", "cot", "sec", "csc", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "factorial", "binomial", "Abs", "floor", "ceiling", "root",
    "Rational", "Integer", "Float", "gcd", "lcm",
))  # fmt: skip
_FORBIDDEN_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist)


def _text_conjunctions_to_commas(text: str) -> str:
    """`a \\text{ or } b` -> `a,b` (spaces around the conjunction go too), as the reference does."""
    pieces = _TEXT_CONJUNCTION.split(text)
    if len(pieces) > 1:
        last = len(pieces) - 1
        text = ",".join(
            piece.rstrip() if i == 0 else piece.lstrip() if i == last else piece.strip()
            for i, piece in enumerate(pieces)
        )
    return _EMPTY_LIST_ITEM.sub(",", text)


def _drop_right_units(text: str) -> str:
    """`5 \\text{ cm}` -> `5 `; otherwise `\\text{x}` -> `x`; `a \\mbox{b}` -> `a `."""
    if "\\text" in text:
        pieces = _TEXT_OPEN.split(text)
        if len(pieces) == 2 and pieces[0] not in ("", "("):
            return pieces[0]
    if "\\text{" in text:
        return _TEXT_GROUP.sub(r"\1", text)
    if "\\mbox{" in text:
        pieces = text.split("\\mbox{")
        return pieces[0] if len(pieces) == 2 else text
    return text


def _fix_fracs(text: str) -> str:
    """`\\frac12` -> `\\frac{1}{2}`, `\\frac1{2}` -> `\\frac{1}{2}`; left as it was when a `\\frac` is bare."""
    text = _FRAC_SPACES.sub(r"\\frac", text)  # the reference's replace-until-stable loop, in one pass
    head, *tails = text.split("\\frac")
    fixed = [head]
    for tail in tails:
        if tail.startswith("{"):
            fixed.append(tail)
        elif len(tail) < 2:
            return text
        elif tail[1] == "{":
            fixed.append("{" + tail[0] + "}" + tail[1:])
        else:
            fixed.append("{" + tail[0] + "}{" + tail[1] + "}" + tail[2:])
    return "\\frac".join(fixed)


def _mixed_fraction(match: Match) -> str:
    return f"{match[1]} + {match[2]}/{match[3]}"


def _join_digits(match: Match) -> str:
    """A whitespace run between two digits goes (`2 0` is 20, as `parse_latex` reads it); others stay."""
    text, start, end = match.string, match.start(), match.end()
    between_digits = start > 0 and end < len(text) and text[start - 1].isdecimal() and text[end].isdecimal()
    return "" if between_digits else match[0]


def _strip_thousands(text: str) -> str:
    """Commas between a digit and exactly three digits go (`1,000,000`); tuple commas stay."""
    while True:
        stripped = _THOUSANDS.sub(r"\1\2\3", text)
        if stripped == text:
            return text
        text = stripped


def _integer_form(text: str) -> str | None:
    """The reference's integer spelling of a number that is an integer to 1e-7 (`2.0` -> `2`), else None."""
    try:
        value = float(_strip_thousands(text))
        if abs(value - round(value)) > 1e-7:
            return None
        return str(int(float(text.replace(",", "").split("_")[0])))
    except (ValueError, OverflowError):  # not a number, or an infinity / NaN
        return None


def normalize_reference(answer: str) -> str:
    """The normal form the reference compares answers in (presentation removed, spaces gone)."""
    text = _LEFT_RIGHT.sub("", answer)
    text = _drop_right_units(_text_conjunctions_to_commas(text))
    if "\\in " in text:
        text = text.split("\\in ")[1].strip()
    for name, pattern in zip(WRAPPERS, _WRAPPED, strict=True):
        text = text.replace("\\\\" + name, "")  # a `\\text` after a line break goes (the macro only)
        match = pattern.search(text)
        if match is not None:
            text = match[1]
    for literal, replacement in LITERAL_EDITS:
        text = text.replace(literal, replacement)
    for pattern in _UNIT_PATTERNS:
        text = pattern.sub("", text)
    if "day" in text and not any(day in text for day in WEEKDAYS):
        text = _DAY.sub("", text)
    if len(text) > 0 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    text = _fix_fracs(_SQRT_ARGUMENT.sub(r"\\sqrt{\1}", text))
    text = _MIXED_NUMBER.sub(r"\1+\2", _MINUS_SPACE.sub("-", text))
    text = _MIXED_FRACTION.sub(_mixed_fraction, text).replace(" ", "")
    return _integer_form(text) or text


def parse_number(answer: str) -> float | None:
    """A plain decimal as the reference reads one (`{,}` or every comma dropped), or None."""
    try:
        return float(answer.replace("{,}", "") if "{,}" in answer else answer.replace(",", ""))
    except ValueError:
        return None


def numbers_close(pred: float, gold: float) -> bool:
    """Within the relative tolerance of the gold or of one of its percentage forms (an inf only of inf)."""
    return any(math.isclose(gold * f, pred, rel_tol=RELATIVE_TOLERANCE) for f in PERCENT_FACTORS)


def _without_brackets(pred: str, gold: str) -> tuple[str, str]:
    """Both sides with `()[]{}` removed: the reference's loose comparison of lists and intervals."""
    if (pred[:1] == "[" and pred[-1:] == "]" and gold[:1] != "(") or (
        pred[:1] == "(" and pred[-1:] == ")" and gold[:1] != "["
    ):
        pred, gold = pred.strip("[]()"), gold.strip("[]()")
    table = str.maketrans("", "", "{}()")
    return pred.translate(table), gold.translate(table)


def _as_bracketed(pred: str) -> str:
    """sympy's `Interval.Ropen(a, b)` spelling as `[a, b)` (the reference reads sympy-printed answers)."""
    match = _SYMPY_INTERVAL.match(pred)
    if match is None:
        return pred
    opening, closing = _INTERVAL_BRACKETS[match[1]]
    return f"{opening}{match[2]}{closing}"


def prepared(pred: str, gold: str) -> tuple[str, str, GradeStatus | None]:
    """Both normal forms, and the verdict when strings or plain numbers decide it (else None)."""
    pred, gold = normalize_reference(pred), normalize_reference(gold)
    pred = pred[:MAX_PREDICTION_CHARS]
    if pred.strip().lower() == gold.strip().lower():
        return pred, gold, GradeStatus.CORRECT_EXACT
    pred_number, gold_number = parse_number(pred), parse_number(gold)
    if pred_number is not None and gold_number is not None:
        close = numbers_close(pred_number, gold_number)
        return pred, gold, GradeStatus.CORRECT_NUMERIC if close else GradeStatus.WRONG
    if not pred:
        return pred, gold, GradeStatus.WRONG
    pred, gold = _as_bracketed(pred.strip()), gold.strip()
    loose_pred, loose_gold = _without_brackets(pred, gold)
    if loose_pred == loose_gold:
        return pred, gold, GradeStatus.CORRECT_EXACT
    return pred, gold, None


def cheap_equal(pred: str, gold: str) -> GradeStatus | None:
    """The verdict when strings or plain numbers decide it, else None (a symbolic check is needed)."""
    return prepared(pred, gold)[2]


def _parts_equal(pred_parts: list[str], gold_parts: list[str]) -> bool:
    return len(pred_parts) == len(gold_parts) and all(
        math_equal(p, g).is_correct for p, g in zip(pred_parts, gold_parts, strict=True)
    )


def _structural_equal(pred: str, gold: str) -> bool | None:
    """Same-bracket lists and comma lists element by element; None when the symbolic check decides."""
    same_brackets = (
        pred[:1] in ("(", "[") and pred[-1:] in (")", "]") and (pred[0], pred[-1]) == (gold[:1], gold[-1:])
    )
    if same_brackets and _parts_equal(pred[1:-1].split(","), gold[1:-1].split(",")):
        return True
    if "," in pred and "," in gold:
        pred_parts, gold_parts = pred.split(","), gold.split(",")
        if len(pred_parts) == len(gold_parts):
            return _parts_equal([p.strip() for p in pred_parts], [g.strip() for g in gold_parts])
    point = pred.startswith("Point") and gold[:1] == "(" and gold[-1:] == ")"
    if point and _parts_equal(pred[pred.find("(") + 1 : -1].split(","), gold[1:-1].split(",")):
        return True
    return None


def math_equal(pred: str, gold: str) -> GradeStatus:
    """The reference's verdict on one extracted answer (may call sympy: run it in a verifier worker)."""
    pred, gold, status = prepared(pred, gold)
    if status is not None:
        return status
    structural = _structural_equal(pred, gold)
    if structural is None:
        structural = symbolic_equal(pred, gold)
    return GradeStatus.CORRECT_SYMBOLIC if structural else GradeStatus.WRONG


def _safe_name(name: str) -> bool:
    import sympy

    return name in SYMPY_NAMES or (name not in _FORBIDDEN_NAMES and not hasattr(sympy, name))


def python_syntax(text: str) -> object | None:
    """sympy's Python-syntax reading of a text that can name only sympy objects and symbols, or None."""
    if not _PYTHON_SYNTAX.fullmatch(text) or _ATTRIBUTE.search(text):
        return None
    if not all(_safe_name(name) for name in _NAME.findall(text)):
        return None
    from sympy.parsing.sympy_parser import parse_expr

    try:
        return parse_expr(text)
    except Exception:  # sympy's parser raises many kinds of errors on text that is not an expression
        return None


def to_sympy(latex: str) -> object | None:
    """`latex` read as close to sympy's `parse_latex` (the reference's parser) as latex2sympy2_extended
    goes, or None.

    Only malformed operators are repaired (`\\frac12`), nothing is lower-cased, and only expressions and
    equations come out: `parse_latex` reads no sets, intervals or tuples (`(1,2)` does not parse there).
    Like `parse_latex`, `\\pi` and `e` are plain symbols (`3.1416` is not numerically `\\pi` to it) and
    digits apart are one number (`2 0` is 20).
    """
    import sympy
    from latex2sympy2_extended import NormalizationConfig, latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    config = ConversionConfig(interpret_as_mixed_fractions=False, lowercase_symbols=False)
    repairs = NormalizationConfig(
        basic_latex=False, units=False, malformed_operators=True, nits=False, boxed="none", equations=False
    )
    latex = _WHITESPACE_RUN.sub(_join_digits, _FRAC_VARIANT.sub(_dfrac_to_frac, latex))
    try:
        parsed = latex2sympy(latex, normalization_config=repairs, conversion_config=config)
    except Exception:  # the parser raises many kinds of errors on text that is not math
        return None
    if not isinstance(parsed, sympy.Expr | sympy.core.relational.Relational):
        return None
    if parsed.has(sympy.zoo, sympy.nan):  # `12:00` is 12/0: left unevaluated there, equal to nothing else
        return None
    e = sympy.Symbol("e")
    parsed = parsed.replace(sympy.exp, lambda argument: sympy.Pow(e, argument, evaluate=False))
    return parsed.xreplace({sympy.pi: sympy.Symbol("pi"), sympy.E: e})


def reference_parse(text: str) -> object | None:
    """What the reference's symbolic step compares: Python syntax first, then LaTeX; None when neither."""
    if guard_reason(text) is not None:
        return None  # a tower or a huge factorial: the reference's alarm refused it, ours never starts it
    parsed = python_syntax(text)
    return parsed if parsed is not None else to_sympy(text)


def numeric_value(expression: object) -> complex | None:
    """The value of a closed-form sympy expression, or None."""
    import sympy

    if not isinstance(expression, sympy.Expr) or expression.free_symbols:
        return None
    try:
        return complex(sympy.N(expression))
    except (TypeError, ValueError):
        return None


def symbolic_equal(pred: str, gold: str) -> bool:
    """Equal when `simplify(a - b) == 0` or when both values are real and `isclose` to 1e-4."""
    import sympy

    pred_expr, gold_expr = reference_parse(pred), reference_parse(gold)
    if pred_expr is None or gold_expr is None:
        return False
    try:
        if sympy.simplify(pred_expr - gold_expr) == 0:
            return True
    except Exception:  # sets, relations and matrices of other shapes do not subtract
        pass
    try:
        return math.isclose(float(sympy.N(pred_expr)), float(sympy.N(gold_expr)), rel_tol=RELATIVE_TOLERANCE)
    except Exception:  # not a real number (a symbol, a complex value, a set)
        return False
