"""The OlympiadBench judge of the reference evaluator (its `OBJudge`), rewritten step by step.

Re-implemented from the reference's published behaviour (zwhe99/DeepMath `uni_eval.py`), not copied, and
checked against it by `benchmarks/policy_bench.py --against-reference`. Both the gold and the response
are read the same way: every `\\boxed{}` joined by commas (unbalanced braces: no verdict), else the
`$...$` spans of the last line, else the whole text; symbols replaced and end punctuation stripped. Equal
strings pass; otherwise both are split at commas outside brackets, `\\pm` parts expanded, and every gold
part must find a distinct predicted part equal to it: as the same string; as intervals with the same
brackets and equal endpoints; as numbers within an absolute 1e-8 (x100 and /100 forms too); as
expressions (the side after the first `=`) equal numerically or whose simplified difference is below
1e-3; or as equations whose `lhs - rhs` differ by a non-zero integer factor. Runs in a verifier worker.
The LaTeX parser is latex2sympy2_extended (the reference's sympy `parse_latex` needs antlr 4.11).
"""

from __future__ import annotations

import math

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.guards import guard_reason
from deepmath_ext.verify.reference_equal import PERCENT_FACTORS, to_sympy

PRECISION = 1e-8
# Powers of numbers with a larger exponent are not evaluated (the reference's own limit).
MAX_EXPONENT = 1000
# Below this, the simplified difference of two expressions with variables counts as zero.
EXPRESSION_TOLERANCE = 1e-3

# (literal, replacement) edits, in the reference's order (`\sim` after `\simeq`).
SYMBOL_EDITS = (
    ("\\left", ""), ("\\right", ""), ("∶", ":"), ("，", ","), ("$", ""),
    ("\\approx", "="), ("\\simeq", "="), ("\\sim", "="),
    ("^\\prime", "'"), ("^{\\prime}", "'"), ("^\\circ", ""), ("%", ""),
)  # fmt: skip
END_CHARACTERS = "\n$,.:;^_=+`!@#$%^&*~，。"

_BOX_OPEN = linear.compile(r"\\boxed\{")
_DOLLAR_SPAN = linear.compile(r"\$(.*?)\$")
_ROMAN_WRAPPER = linear.compile(r"\\(?:mathrm|mathbf)\{~?([^}]*)\}")
_CJK = linear.compile(r"[\u4e00-\u9fff]+")


class UnbalancedBox(ValueError):
    """A `\\boxed{` whose braces never close: the judge gives no verdict."""


def answer_text(text: str) -> str:
    """Every box's content followed by a comma; else each `$...$` span of the last line; else the text."""
    found = []
    for match in _BOX_OPEN.finditer(text):
        depth, index = 1, match.end()
        while depth and index < len(text):
            depth += (text[index] == "{") - (text[index] == "}")
            index += 1
        if depth:
            raise UnbalancedBox(text[match.start() : match.start() + 40])
        found.append(text[match.end() : index - 1] + ",")
    if found:
        return "".join(found)
    spans = _DOLLAR_SPAN.findall(text.strip().split("\n")[-1])
    return "".join(span + "," for span in spans) if spans else text


def clean(answer: str) -> str:
    """The judge's normal form of one answer string."""
    if "\\in " in answer:
        answer = answer.split("\\in ")[1]
    for literal, replacement in SYMBOL_EDITS:
        answer = answer.replace(literal, replacement)
    return _ROMAN_WRAPPER.sub(r"\1", answer.strip(END_CHARACTERS))


def split_by_comma(text: str) -> list[str]:
    """Stripped pieces between commas outside `()`/`[]` (braces do not count; no empty last piece)."""
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char in "([") - (char in ")]")
        if char == "," and depth == 0:
            pieces.append(text[start:index].strip())
            start = index + 1
    if start < len(text):
        pieces.append(text[start:].strip())
    return pieces


def expand_plus_minus(parts: list[str]) -> list[str]:
    """Each part with `\\pm` becomes its `+` form and its `-` form."""
    expanded: list[str] = []
    for part in parts:
        expanded += [part.replace("\\pm", "+"), part.replace("\\pm", "-")] if "\\pm" in part else [part]
    return expanded


def numbers_equal(gold: str, pred: str) -> bool:
    """Both plain numbers, the prediction within PRECISION of the gold or of its percentage forms."""
    gold_value, pred_value = float(gold), float(pred)
    return any(abs(gold_value * f - pred_value) <= PRECISION * 1.01 for f in PERCENT_FACTORS)


def _parsed(latex: str) -> object:
    """The parsed expression; raises when it does not parse or is too big for sympy."""
    if guard_reason(latex) is not None:
        raise ValueError("guarded")
    expression = to_sympy(latex)
    if expression is None:
        raise ValueError("does not parse")
    return expression


def _computable(expression: object) -> bool:
    """False for a power of numbers whose exponent is above MAX_EXPONENT."""
    import sympy

    if not isinstance(expression, sympy.Pow):
        return True
    base, exponent = expression.as_base_exp()
    return not (base.is_number and exponent.is_number) or abs(exponent.evalf()) <= MAX_EXPONENT


def expressions_equal(gold: str, pred: str) -> bool:
    """The sides after the first `=`: equal as parsed, within PRECISION as numbers, or (with variables) a
    simplified difference below EXPRESSION_TOLERANCE."""
    import sympy

    gold_expr = _parsed((gold.split("=")[1] if "=" in gold else gold).strip())
    pred_expr = _parsed((pred.split("=")[1] if "=" in pred else pred).strip())
    if gold_expr == pred_expr:
        return True
    pi = sympy.Symbol("pi")  # the reference's parser reads \\pi as a symbol, then puts its value in
    gold_expr, pred_expr = gold_expr.subs(pi, math.pi), pred_expr.subs(pi, math.pi)
    gold_free, pred_free = gold_expr.has(sympy.Symbol), pred_expr.has(sympy.Symbol)
    if gold_free != pred_free:
        return False
    if not gold_free:
        if not (_computable(gold_expr) and _computable(pred_expr)):
            return False
        return bool(abs(gold_expr.evalf() - pred_expr.evalf()) <= PRECISION * 1.01)
    return bool(abs(sympy.simplify(gold_expr - pred_expr).evalf()) < EXPRESSION_TOLERANCE)


def _equation_difference(equation: str) -> object:
    import sympy

    lhs, rhs = equation.split("=")  # raises unless exactly one `=`
    return sympy.simplify(_parsed(lhs) - _parsed(rhs))


def equations_equal(gold: str, pred: str) -> bool:
    """Both are equations and `lhs - rhs` of one is a non-zero integer multiple of the other's."""
    import sympy

    gold_expr, pred_expr = _equation_difference(gold), _equation_difference(pred)
    ratios = (sympy.simplify(gold_expr / pred_expr), sympy.simplify(pred_expr / gold_expr))
    return any(ratio.is_Integer and ratio != 0 for ratio in ratios)


def _is_interval(text: str) -> bool:
    return text.startswith(("(", "[")) and text.endswith((")", "]"))


def intervals_equal(gold: str, pred: str) -> bool:
    """Unions of the same length whose intervals have the same brackets and equal endpoints."""
    if gold == pred:
        return True
    gold_parts, pred_parts = gold.split("\\cup"), pred.split("\\cup")
    if len(gold_parts) != len(pred_parts):
        return False
    for gold_part, pred_part in zip(gold_parts, pred_parts, strict=True):
        if gold_part[0] != pred_part[0] or gold_part[-1] != pred_part[-1]:
            return False
        ends = zip(gold_part.strip("[]()").split(","), pred_part.strip("[]()").split(","), strict=False)
        if not all(expressions_equal(g, p) for g, p in ends):
            return False
    return True


def _rule_holds(rule, gold: str, pred: str) -> bool:
    try:
        return bool(rule(gold, pred))
    except Exception:  # a side that does not parse, does not subtract or is not a number: rule fails
        return False


def parts_equal(gold: str, pred: str) -> bool:
    """One gold part against one predicted part, by each of the judge's rules in turn."""
    if gold == pred and gold != "":
        return True
    if _is_interval(gold) and _is_interval(pred):
        try:
            if intervals_equal(gold, pred):
                return True
        except Exception:  # the reference gives up on the pair here
            return False
    if _rule_holds(numbers_equal, gold, pred):
        return True
    if not ("=" in gold and "=" in pred) and _rule_holds(expressions_equal, gold, pred):
        return True
    return _rule_holds(equations_equal, gold, pred)


def olympiad_equal(text: str, gold: str) -> bool:
    """The judge's verdict on a response text (after `</think>`) against one gold answer."""
    try:
        gold, pred = clean(answer_text(gold)), clean(answer_text(text))
    except UnbalancedBox:
        return False
    if gold == pred:
        return True
    gold_parts = expand_plus_minus(split_by_comma(_CJK.sub("", gold)))
    pred_parts = expand_plus_minus(split_by_comma(_CJK.sub("", pred)))
    if len(gold_parts) != len(pred_parts):
        return False
    index = -1
    while gold_parts:  # the reference's own matching order: a rotating index over the unmatched gold parts
        index = (index + 1) % len(gold_parts)
        gold_part = gold_parts[index]
        match = next((p for p in pred_parts if parts_equal(gold_part, p)), None)
        if match is None:
            return False
        gold_parts.remove(gold_part)
        pred_parts.remove(match)
    return True
