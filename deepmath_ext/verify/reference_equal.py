"""An OpenMathInstruct-style `math_equal`, the answer check of the reference (DeepMath) rewards.

Re-derived from its documented semantics, not copied: a loose string normalisation, then numbers
compared to a relative 1e-4 with the x100 and /100 "percentage" forms accepted, then bracketed
lists element by element, equations side by side, and last a symbolic check (LaTeX parsed with
math-verify's `latex2sympy2_extended`, so no antlr 4.11 is needed). `cheap_equal` is the part that
needs no sympy (run in the caller); `math_equal` is the whole check (run in a verifier worker).
"""

from __future__ import annotations

from deepmath_ext.verify import linear
from deepmath_ext.verify.exact import split_top_level
from deepmath_ext.verify.linear import MACRO, Pattern, Replacement, macro_rewrite
from deepmath_ext.verify.status import GradeStatus

RELATIVE_TOLERANCE = 1e-4
# The gold, and the gold read as a percentage either way: 25 matches 0.25, 25 and 2500.
PERCENT_FACTORS = (0.01, 1.0, 100.0)
# A label on the left of `=` this short (`x`, `y1`) is dropped: `x = 3` is the answer 3.
MAX_LABEL_CHARS = 2

_REWRITES: tuple[tuple[Pattern, Replacement], ...] = tuple(
    (linear.compile(pattern), replacement)
    for pattern, replacement in (
        # A trailing unit: 5 \text{ cm} (the space before it goes below; matching it here is quadratic).
        (r"\\text\{\s+[^{}]*\}\s*$", ""),
        (r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}", r"\1"),
        (r"\\[dt]frac", r"\\frac"),
        (MACRO, macro_rewrite({"left", "right"}, "")),
        (r"\\[,;:! ]", ""),
        (r"\^\s*\{?\\circ\}?", ""),
        (r"\\?[%$]", ""),
        (r"\\sqrt(\w)", r"\\sqrt{\1}"),
        (r"\\frac(\d)(\d)", r"\\frac{\1}{\2}"),
        (r"\s+", ""),
        (r"(^|[^\d])\.(\d)", r"\g<1>0.\2"),  # .5 -> 0.5
        (r"\.$", ""),
    )
)


def normalize_reference(answer: str) -> str:
    """The loose normal form the reference compares strings in (presentation removed, spaces gone)."""
    text = answer.strip()
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    label, equals, value = text.partition("=")
    if equals and len(label) <= MAX_LABEL_CHARS and "=" not in value:
        text = value
    return text


def parse_number(answer: str) -> float | None:
    """A plain decimal (commas dropped, as the reference does), or None."""
    try:
        return float(answer.replace(",", ""))
    except ValueError:
        return None


def numbers_close(pred: float, gold: float) -> bool:
    """True when pred is within the relative tolerance of the gold or of one of its percentage forms."""
    return any(abs(gold * f - pred) <= RELATIVE_TOLERANCE * abs(gold * f) for f in PERCENT_FACTORS)


def cheap_equal(pred: str, gold: str) -> GradeStatus | None:
    """The verdict when strings or plain numbers decide it, else None (a symbolic check is needed)."""
    if pred.strip().lower() == gold.strip().lower():
        return GradeStatus.CORRECT_EXACT
    pred, gold = normalize_reference(pred), normalize_reference(gold)
    if not pred:
        return GradeStatus.WRONG
    if pred.lower() == gold.lower():
        return GradeStatus.CORRECT_EXACT
    pred_number, gold_number = parse_number(pred), parse_number(gold)
    if pred_number is not None and gold_number is not None:
        return GradeStatus.CORRECT_NUMERIC if numbers_close(pred_number, gold_number) else GradeStatus.WRONG
    return None


def _bracketed_parts(text: str) -> list[str] | None:
    """The comma-separated elements of a `(...)` or `[...]` list (bracket kind not compared)."""
    if len(text) < 2 or text[0] not in "([" or text[-1] not in ")]":
        return None
    parts = split_top_level(text[1:-1])
    return parts if len(parts) > 1 else None


def _equation_sides(text: str) -> tuple[str, str] | None:
    sides = text.split("=")
    return (sides[0], sides[1]) if len(sides) == 2 else None


def _structural_equal(pred: str, gold: str) -> bool | None:
    """Lists element-wise and equations side by side; None when neither shape applies."""
    pred_parts, gold_parts = _bracketed_parts(pred), _bracketed_parts(gold)
    if pred_parts and gold_parts and len(pred_parts) == len(gold_parts):
        return all(math_equal(p, g).is_correct for p, g in zip(pred_parts, gold_parts, strict=True))
    pred_sides, gold_sides = _equation_sides(pred), _equation_sides(gold)
    if pred_sides and gold_sides:
        pred_difference = f"({pred_sides[0]})-({pred_sides[1]})"
        gold_difference = f"({gold_sides[0]})-({gold_sides[1]})"
        return symbolic_equal(pred_difference, gold_difference) or symbolic_equal(
            f"-({pred_difference})", gold_difference
        )
    return None


def math_equal(pred: str, gold: str) -> GradeStatus:
    """The reference's verdict on one extracted answer (may call sympy: run it in a verifier worker)."""
    status = cheap_equal(pred, gold)
    if status is not None:
        return status
    pred, gold = normalize_reference(pred), normalize_reference(gold)
    structural = _structural_equal(pred, gold)
    if structural is None:
        structural = symbolic_equal(pred, gold)
    return GradeStatus.CORRECT_SYMBOLIC if structural else GradeStatus.WRONG


def to_sympy(latex: str) -> object | None:
    """`latex` parsed by latex2sympy2_extended, or None when it does not parse."""
    from latex2sympy2_extended import latex2sympy

    try:
        return latex2sympy(latex)
    except Exception:  # the parser raises many kinds of errors on text that is not math
        return None


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
    """Equal as parsed expressions: structurally, by simplification, or numerically to 1e-4."""
    import sympy

    pred_expr, gold_expr = to_sympy(pred), to_sympy(gold)
    if pred_expr is None or gold_expr is None:
        return False
    if pred_expr == gold_expr:
        return True
    try:
        if sympy.simplify(pred_expr - gold_expr) == 0:
            return True
    except Exception:  # sets, relations and matrices of other shapes do not subtract
        pass
    pred_value, gold_value = numeric_value(pred_expr), numeric_value(gold_expr)
    if pred_value is None or gold_value is None:
        return False
    return abs(pred_value - gold_value) <= RELATIVE_TOLERANCE * max(abs(gold_value), abs(pred_value))
