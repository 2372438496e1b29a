"""The OlympiadBench judge of the reference evaluator, re-derived from its documented semantics.

An answer is split at top-level commas into parts, `\\pm` parts are expanded into their `+` and `-`
forms, and every gold part must be matched by a distinct predicted part: as the same string, as
intervals with the same brackets and equal endpoints, as numbers within an absolute 1e-8 (the
percentage forms included), as expressions (the side after the last `=`) that simplify to the same
value, or as equations whose `lhs - rhs` differ by a non-zero integer factor. Runs in a verifier
worker (it calls sympy).
"""

from __future__ import annotations

from deepmath_ext.verify import linear
from deepmath_ext.verify.exact import split_top_level
from deepmath_ext.verify.extract import boxed_spans
from deepmath_ext.verify.linear import MACRO, Pattern, Replacement, macro_rewrite
from deepmath_ext.verify.reference_equal import PERCENT_FACTORS, numeric_value, to_sympy

PRECISION = 1e-8

_REWRITES: tuple[tuple[Pattern, Replacement], ...] = tuple(
    (linear.compile(pattern), replacement)
    for pattern, replacement in (
        (MACRO, macro_rewrite({"left", "right"}, "")),
        (r"\\[,;:! ]|\s+", ""),
        (r"\\[dt]frac", r"\\frac"),
        (MACRO, macro_rewrite({"approx", "simeq", "sim"}, "=")),
        (r"\^\{?\\prime\}?", "'"),
        (r"\^\{?\\circ\}?", ""),
        (r"\\?[%$]", ""),
        (r"\\(?:text|mathrm)\{([^{}]*)\}", r"\1"),
        ("，", ","),
        (r"\.$", ""),
    )
)
_DOLLAR_SPAN = linear.compile(r"\$(.+?)\$")


def prediction_text(text: str) -> str:
    """What the judge reads: every box, joined by commas; else the last line's `$...$` spans; else all."""
    spans = [(start, end) for start, end in boxed_spans(text) or [] if end >= 0]
    if spans:
        return ",".join(text[start:end] for start, end in spans)
    last_line = text.strip().rsplit("\n", 1)[-1]
    dollar_spans = _DOLLAR_SPAN.findall(last_line)
    return ",".join(dollar_spans) if dollar_spans else text


def clean(answer: str) -> str:
    """The judge's normal form of one answer string."""
    for pattern, replacement in _REWRITES:
        answer = pattern.sub(replacement, answer)
    return answer


def expand_plus_minus(parts: list[str]) -> list[str]:
    """Each part with `\\pm` becomes its `+` form and its `-` form."""
    expanded: list[str] = []
    for part in parts:
        if "\\pm" in part:
            expanded += [part.replace("\\pm", "+"), part.replace("\\pm", "-")]
        else:
            expanded.append(part)
    return expanded


def numbers_equal(pred: float | complex, gold: float | complex) -> bool:
    """Within PRECISION of the gold or of one of its percentage forms."""
    return any(abs(gold * f - pred) <= PRECISION for f in PERCENT_FACTORS)


def _plain_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_interval(text: str) -> bool:
    return len(text) > 2 and text[0] in "([" and text[-1] in ")]" and len(split_top_level(text[1:-1])) == 2


def _intervals_equal(pred: str, gold: str) -> bool:
    if pred[0] != gold[0] or pred[-1] != gold[-1]:
        return False
    pairs = zip(split_top_level(pred[1:-1]), split_top_level(gold[1:-1]), strict=True)
    return all(_expressions_equal(p, g) for p, g in pairs)


def _expressions_equal(pred: str, gold: str) -> bool:
    """The sides after the last `=` are equal numbers (to PRECISION) or simplify to the same value."""
    import sympy

    pred_expr, gold_expr = to_sympy(pred.rsplit("=", 1)[-1]), to_sympy(gold.rsplit("=", 1)[-1])
    if pred_expr is None or gold_expr is None:
        return False
    pred_value, gold_value = numeric_value(pred_expr), numeric_value(gold_expr)
    if pred_value is not None and gold_value is not None:
        return numbers_equal(pred_value, gold_value)
    try:
        return bool(sympy.simplify(pred_expr - gold_expr) == 0)
    except Exception:  # sets, relations and matrices do not subtract
        return False


def _equation_difference(text: str) -> object | None:
    sides = text.split("=")
    if len(sides) != 2:
        return None
    return to_sympy(f"({sides[0]})-({sides[1]})")


def _equations_equal(pred: str, gold: str) -> bool:
    """Both are equations and `lhs - rhs` of one is a non-zero integer multiple of the other's."""
    import sympy

    pred_expr, gold_expr = _equation_difference(pred), _equation_difference(gold)
    if pred_expr is None or gold_expr is None or pred_expr == 0 or gold_expr == 0:
        return False
    try:
        ratios = (sympy.simplify(pred_expr / gold_expr), sympy.simplify(gold_expr / pred_expr))
    except Exception:
        return False
    return any(ratio.is_Integer and ratio != 0 for ratio in ratios)


def parts_equal(pred: str, gold: str) -> bool:
    """One predicted part against one gold part, by each of the judge's rules in turn."""
    if pred == gold:
        return True
    if _is_interval(pred) and _is_interval(gold):
        return _intervals_equal(pred, gold)
    pred_number, gold_number = _plain_number(pred), _plain_number(gold)
    if pred_number is not None and gold_number is not None and numbers_equal(pred_number, gold_number):
        return True
    return _expressions_equal(pred, gold) or ("=" in pred and "=" in gold and _equations_equal(pred, gold))


def olympiad_equal(text: str, gold: str) -> bool:
    """The judge's verdict on a (post-think) response text against one gold answer."""
    pred, gold = clean(prediction_text(text)), clean(gold)
    if pred == gold:
        return True
    pred_parts = expand_plus_minus(split_top_level(pred))
    gold_parts = expand_plus_minus(split_top_level(gold))
    if len(pred_parts) != len(gold_parts):
        return False
    for gold_part in gold_parts:
        match = next((p for p in pred_parts if parts_equal(p, gold_part)), None)
        if match is None:
            return False
        pred_parts.remove(match)
    return True
