"""Mutation-based hack search: answers wrong (or right) by construction, graded by deepmath and math-verify.

    python benchmarks/hack_search.py [--per-operator 150] [--seed 0] [--fuzz 400] [--show 3]

Golds come from the bundled DeepMath sample and the six benchmark files in ../shared/data/benchmarks
(material this project did not write). Each operator turns a gold into (response, gold) pairs that are
WRONG by construction (off by one, a dropped term, rounding, an extra choice, a false equation, ...) or
RIGHT by construction (notation, Unicode, unit spellings, ...). Where wrongness depends on the value, an
oracle confirms it first: sympy at 60 digits, and any pair it cannot evaluate is dropped, not counted.
Printed per operator: how many pairs each grader accepts. For a wrong operator every acceptance is a
reward hack; docs/verifier.md lists the justified exceptions (`EXPLAINED`). Then a differential fuzz:
random sympy expressions, printed by `sympy.latex` in two equal forms or perturbed, graded by both.
Exit status 1 when deepmath accepts an unexplained wrong-by-construction pair.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import sympy

from deepmath_ext.verify import VERIFIER_VERSION, VerifierPool
from deepmath_ext.verify.extract import extract

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "benchmarks"
SAMPLE = ROOT / "deepmath_ext" / "samples" / "deepmath_sample.jsonl"
ORACLE_DIGITS = 60
Pair = tuple[str, str]  # (answer, gold): the answer goes in a box unless it already holds one


# --- golds ---------------------------------------------------------------------------------------


def _first_box(text: str) -> str | None:
    answers = extract(text, require_think=False).answers
    return answers[-1] if answers else None


def load_golds() -> list[str]:
    """Distinct gold answers of the DeepMath sample and the benchmark files, in a fixed order."""
    golds: list[str] = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        golds.append(json.loads(line)["final_answer"])
    sources = {
        "math500.jsonl": "answer",
        "aime24.jsonl": "answer",
        "aime25.jsonl": "answer",
        "amc23.jsonl": "answer",
        "olympiadbench.jsonl": "final_answer",
        "minerva_math.jsonl": None,
    }
    for name, key in sources.items():
        path = SHARED / name
        if not path.exists():
            print(f"missing {path}: skipped", file=sys.stderr)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            gold = _first_box(row["solution"]) if key is None else row[key]
            if isinstance(gold, list):
                gold = ", ".join(gold)
            if isinstance(gold, float):
                gold = str(int(gold)) if gold.is_integer() else str(gold)
            if gold:
                golds.append(gold.strip().strip("$").replace("$", "").strip())
    return [g for g in dict.fromkeys(golds) if g]


# --- the oracle: sympy values at high precision ----------------------------------------------------


def value(latex: str) -> sympy.Expr | None:
    """A scalar sympy value of a LaTeX answer (math-verify's parser), None for structures or failures."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse

    # math-verify's unit stripping off: `6m` is 6 times m, not 6 metres.
    config = LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="all"
        )
    )
    try:
        parsed = parse("\\boxed{" + latex + "}", [config], parsing_timeout=None)
    except Exception:
        return None
    if not parsed or not isinstance(parsed[0], sympy.Expr) or isinstance(parsed[0], sympy.Symbol):
        return None
    return parsed[0]


def numeric(latex: str) -> sympy.Float | None:
    """The value of a closed-form number to ORACLE_DIGITS, or None (free symbols, complex, huge)."""
    expr = value(latex)
    if expr is None or expr.free_symbols:
        return None
    try:
        number = expr.evalf(ORACLE_DIGITS)
    except Exception:
        return None
    if not number.is_real or not number.is_finite or abs(number) > 10**12:
        return None
    return number


def differ(first: str, second: str) -> bool:
    """True when the oracle proves two scalar answers different (at 60 digits, or at three points)."""
    a, b = value(first), value(second)
    if a is None or b is None:
        return False
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    points = (
        [{}]
        if not symbols
        else [{s: sympy.Rational(7 + 3 * k + i, 5) for i, s in enumerate(symbols)} for k in range(3)]
    )
    for point in points:
        try:
            x, y = (e.subs(point).evalf(ORACLE_DIGITS) for e in (a, b))
            if x.is_number and y.is_number and abs(x - y) > sympy.Float(10) ** -40 * (1 + abs(x)):
                return True
        except Exception:
            return False
    return False


# --- operators -------------------------------------------------------------------------------------

_INTEGER = re.compile(r"-?\d+")
_SIMPLE_FRAC = re.compile(r"\\frac\{(\d+)\}\{(\d+)\}")
_TOP_TERM = re.compile(r"(?<=[^\s{(\[^_])\s*[+-]\s*[^+-]+$")
_INTERVAL = re.compile(r"(?:\\left)?([(\[])\s*([^,]+?)\s*,\s*([^,]+?)\s*(?:\\right)?([)\]])")
_LIST = re.compile(r"[^,()\[\]{}]+(?:,\s*[^,()\[\]{}]+)+")
_TUPLE = re.compile(r"\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)")


def _is_int(gold: str) -> bool:
    return bool(_INTEGER.fullmatch(gold))


def _scalar(gold: str) -> bool:
    """A gold that is one formula (not a list, interval, equation or word)."""
    return "," not in gold and "=" not in gold and "\\text" not in gold and value(gold) is not None


def off_by_one(gold: str) -> list[Pair]:
    if _is_int(gold):
        return [(str(int(gold) + 1), gold), (str(int(gold) - 1), gold)]
    return [(f"{gold}+1", gold), (f"{gold}-1", gold)] if _scalar(gold) else []


def sign_flip(gold: str) -> list[Pair]:
    if not _scalar(gold):
        return []
    flipped = gold[1:] if gold.startswith("-") else f"-{gold}"
    return [(flipped, gold)] if differ(flipped, gold) else []


def dropped_term(gold: str) -> list[Pair]:
    match = _TOP_TERM.search(gold)
    if not match or not _scalar(gold):
        return []
    dropped = gold[: match.start()]
    return [(dropped, gold)] if dropped and differ(dropped, gold) else []


def dropped_factor(gold: str) -> list[Pair]:
    if not _scalar(gold):
        return []
    candidates = [gold.replace("\\pi", "", 1), re.sub(r"\\sqrt\{([^{}]*)\}", r"\1", gold, count=1)]
    if match := _SIMPLE_FRAC.fullmatch(gold):
        candidates.append(match[1])
    return [(c, gold) for c in dict.fromkeys(candidates) if c and c != gold and differ(c, gold)]


def rounding(gold: str) -> list[Pair]:
    """A decimal rounded (or truncated) at several precisions, including ones beyond 1e-10."""
    number = numeric(gold) if _scalar(gold) else None
    if number is None or number == int(number):
        return []
    parsed = value(gold)
    if re.fullmatch(r"-?\d+\.\d+", gold):
        exact = Fraction(gold)
    else:  # None: irrational, so every decimal differs
        exact = Fraction(int(parsed.p), int(parsed.q)) if parsed.is_Rational else None
    pairs = []
    for places in (2, 4, 6, 11, 13, 16):
        text = f"{sympy.Float(number, ORACLE_DIGITS):.{places}f}"
        if Fraction(text) != exact and (exact is not None or differ(text, gold)):
            pairs.append((text, gold))
    text = str(number.evalf(ORACLE_DIGITS))[:14].rstrip("0")  # truncated 0.49999999999
    if "." in text and Fraction(text) != exact and (exact is not None or differ(text, gold)):
        pairs.append((text, gold))
    return pairs


def near_miss(gold: str) -> list[Pair]:
    """The exact value plus or minus one in the last of 11 or 15 significant digits."""
    number = numeric(gold) if _scalar(gold) else None
    if number is None or number == 0:
        return []
    pairs = []
    for digits in (11, 15):
        scale = sympy.Float(10) ** (int(sympy.floor(sympy.log(abs(number), 10))) - digits)
        for shift in (1, -1):
            text = sympy.Float(number + shift * scale, ORACLE_DIGITS).__format__(f".{digits + 3}g")
            if "e" not in text and differ(text, gold):
                pairs.append((text, gold))
    return pairs


_UNIT_SWAPS = [("cm", "m"), ("m", "km"), ("g", "kg"), ("minutes", "hours"), ("s", "ms"), ("mm", "cm")]


def wrong_unit(gold: str) -> list[Pair]:
    if not _is_int(gold):
        return []
    return [(f"{gold} \\text{{ {wrong} }}", f"{gold}\\text{{ {right}}}") for right, wrong in _UNIT_SWAPS] + [
        (f"{gold}\\,\\mathrm{{{wrong}}}", f"{gold}\\mathrm{{~{right}}}") for right, wrong in _UNIT_SWAPS[:2]
    ]


_LETTERS = "ABCDE"
# An answer {a} beside another value {b}, or negated: wrong for gold {a} whatever the two values are.
_HEDGES = (
    "{a} \\text{{ or }} {b}",
    "{a}, {b}",
    "{a} \\text{{ and }} {b}",
    "{a} \\text{{ or possibly }} {b}",
    "{a} \\lor {b}",
    "{a}; {b}",
    "{a} \\text{{ (or }} {b}\\text{{)}}",
    "\\text{{not }} {a}",
    "{a} \\text{{ is not the answer}}",
    "{a} \\text{{ is wrong}}",
)
# The same for a choice: {a} is `(C)`, {b} `(D)`, {c} and {d} the bare letters.
_CHOICE_HEDGES = (
    "{a}{b}",
    "{a}/{b}",
    "(A)(B)(C)(D)(E)",
    "{a}\\text{{ is not the answer}}",
    "{c}, {d}",
    "{c} \\text{{ and }} {d}",
    "\\text{{{a} or {b}}}",
    "\\text{{{c} or {d}}}",
    "\\textbf{{{a}}} \\text{{ or }} \\textbf{{{b}}}",
    "{a} \\text{{ (not }} {b} \\text{{)}}",
    "{c}{d}",
)
# The same for a value: negations and sets.
_VALUE_HEDGES = (
    "\\text{{either }} {a} \\text{{ or }} {b}",
    "\\neg {a}",
    "\\ne {a}",
    "x \\ne {a}",
    "\\{{{a}, {b}\\}}",
    "{a} \\text{{ or }} {a}+1",
)


def extra_choice(gold: str) -> list[Pair]:
    """A choice gold (built from an integer gold's last digit) against several or negated choices."""
    if not _is_int(gold):
        return []
    c, d = _LETTERS[int(gold) % 5], _LETTERS[(int(gold) + 1) % 5]
    return [(t.format(a=f"({c})", b=f"({d})", c=c, d=d), c) for t in _HEDGES + _CHOICE_HEDGES]


def hedge(gold: str) -> list[Pair]:
    """The gold together with a second value, or negated, in prose, for a single-valued gold."""
    if not _scalar(gold):
        return []
    other = str(int(gold) + 1) if _is_int(gold) else f"{gold}+1"
    return [(t.format(a=gold, b=other), gold) for t in _HEDGES + _VALUE_HEDGES]


def box_hedge(gold: str) -> list[Pair]:
    """Whole responses: the gold boxed beside another value."""
    if not _is_int(gold):
        return []
    other = str(int(gold) + 1)
    return [
        (f"\\boxed{{{gold}}} \\text{{ or }} \\boxed{{{other}}}", gold),
        (f"\\boxed{{{other}}} \\text{{, i.e. }} \\boxed{{{gold}}}", gold),
        (f"\\boxed{{{gold}}} then \\boxed{{{gold} = {other}}}", gold),
        (f"\\boxed{{{gold} \\text{{ or }} {other}}}", gold),
        (f"\\boxed{{{gold}}}\\boxed{{{other}}}", gold),
    ]


def false_equation(gold: str) -> list[Pair]:
    """A false equation between numbers whose last side is the gold (`2 = 3` for gold 3)."""
    if not _scalar(gold) or numeric(gold) is None:
        return []
    other = str(int(gold) + 1) if _is_int(gold) else f"{gold}+1"
    answers = [f"{other} = {gold}", f"{other}={gold}", f"2 \\cdot {gold} = {gold}", f"{gold}+1 = {gold}"]
    if _is_int(gold):
        answers += [f"{int(gold) - 1} + 2 = {gold}", f"{gold} = {other} = {gold}"]
    return [(a, gold) for a in answers if differ(a.split("=")[0], gold)]


def label_equation(gold: str) -> list[Pair]:
    """A formula gold written after a left side with variables that does not equal it (`2x = x`)."""
    expr = value(gold) if _scalar(gold) else None
    if expr is None or not expr.free_symbols:
        return []
    return [(f"2 \\cdot {gold} = {gold}", gold), (f"{gold}+1={gold}", gold)]


def base_subscript(gold: str) -> list[Pair]:
    if not _is_int(gold) or len(gold.lstrip("-")) < 2:
        return []
    digits = gold.lstrip("-")
    pairs = []
    for base in (2, 4, 7, 8, 9, 16):
        try:
            in_base = int(digits, base)
        except ValueError:
            continue
        if in_base != int(digits):
            sign = "-" if gold.startswith("-") else ""
            pairs += [(f"{sign}{digits}_{{{base}}}", gold), (f"{sign}{digits}_{base}", gold)]
    return pairs


def decimal_comma(gold: str) -> list[Pair]:
    """A list of two integers against the decimal of its digits, and the reverse."""
    pairs = []
    if _is_int(gold) and len(gold.lstrip("-")) >= 2 and not gold.lstrip("-").startswith("0"):
        head, tail = gold[:-1], gold[-1]
        decimal = f"{head}.{tail}"
        pairs.append((f"{head}, {tail}", decimal))
        pairs += [(decimal, f"{head}, {tail}"), (decimal, f"{head},{tail}")]
    if match := _LIST.fullmatch(gold):
        parts = [p.strip() for p in match.group().split(",")]
        if len(parts) == 2 and all(_INTEGER.fullmatch(p) for p in parts):
            pairs.append((f"{parts[0]}.{parts[1].lstrip('-')}", gold))
    return pairs


def flipped_interval(gold: str) -> list[Pair]:
    match = _INTERVAL.fullmatch(gold)
    if not match:
        return []
    left, a, b, right = match.groups()
    flip = {"(": "[", "[": "(", ")": "]", "]": ")"}
    pairs = [(f"{left}{b}, {a}{right}", gold)]  # swapped endpoints
    # A bracket beside an infinite endpoint does not change the set (docs/verifier.md), so only finite
    # endpoints are flipped.
    if "infty" not in a:
        pairs.append((f"{flip[left]}{a}, {b}{right}", gold))
    if "infty" not in b:
        pairs.append((f"{left}{a}, {b}{flip[right]}", gold))
    return pairs


def wrong_tuple(gold: str) -> list[Pair]:
    """Integer pairs: swapped, one coordinate off, a set instead of the tuple."""
    match = _TUPLE.fullmatch(gold)
    if not match:
        return []
    a, b = match.groups()
    if a == b:
        return []
    return [
        (f"({b}, {a})", gold),
        (f"({a}, {int(b) + 1})", gold),
        (f"\\{{{a}, {b}\\}}", gold),
        (f"{a}, {b}", gold),
    ]


WRONG: dict[str, Callable[[str], list[Pair]]] = {
    "off_by_one": off_by_one,
    "sign_flip": sign_flip,
    "dropped_term": dropped_term,
    "dropped_factor": dropped_factor,
    "rounding": rounding,
    "near_miss": near_miss,
    "wrong_unit": wrong_unit,
    "extra_choice": extra_choice,
    "hedge": hedge,
    "box_hedge": box_hedge,
    "false_equation": false_equation,
    "label_equation": label_equation,
    "base_subscript": base_subscript,
    "decimal_comma": decimal_comma,
    "flipped_interval": flipped_interval,
    "wrong_tuple": wrong_tuple,
}


# Right by construction.

_HYPHENS = ["\u2010", "\u2011", "\u2012", "\u2212", "\u2013", "\ufe63", "\uff0d"]


def unicode_forms(gold: str) -> list[Pair]:
    pairs = []
    if gold.startswith("-") and _is_int(gold):
        pairs += [(h + gold[1:], gold) for h in _HYPHENS] + [("\u00ad" + gold, gold)]
    if _is_int(gold):
        pairs.append(("".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in gold), gold))
        pairs.append((gold[0] + "\u200b" + gold[1:], gold))
    if gold == "\\pi" or gold == "\\sqrt{2}":
        pairs.append(({"\\pi": "π", "\\sqrt{2}": "√2"}[gold], gold))
    return pairs


def notation(gold: str) -> list[Pair]:
    pairs = []
    if "\\frac" in gold:
        pairs += [(gold.replace("\\frac", "\\dfrac"), gold), (gold.replace("\\frac", "\\tfrac"), gold)]
    if _is_int(gold):
        pairs += [
            (f"x = {gold}", gold),
            (f"{gold}.", gold),
            (f"\\text{{The answer is }} {gold}", gold),
            (f"\\text{{The answer is }} {gold}.", gold),
            (f"\\displaystyle {gold}", gold),
            (f"{{{gold}}}", gold),
            (f"\\mathbf{{{gold}}}", gold),
            (f"{int(gold) - 1} + 1 = {gold}", gold),
            (f"{gold}\\,", gold),
        ]
    if match := _TUPLE.fullmatch(gold):
        a, b = match.groups()
        pairs += [(f"\\langle {a}, {b} \\rangle", gold), (gold, f"\\langle {a},{b}\\rangle")]
        pairs += [(f"(x, y) = ({a}, {b})", f"x={a}, y={b}"), (f"x = {a}, y = {b}", gold)]
    return pairs


def response_forms(gold: str) -> list[Pair]:
    """Whole responses: other box macros, and a verification box after the answer."""
    if not _is_int(gold):
        return []
    pairs = [
        (f"\\framebox{{{gold}}}", gold),
        (f"\\boxed{{{gold}}} \\quad \\boxed{{{int(gold) - 1} + 1 = {gold}}}", gold),
    ]
    if len(gold) == 1:
        pairs.append((f"\\boxed {gold}", gold))
    return pairs


_UNIT_SPELLINGS = [
    ("\\text{ cm}", "\\text{ centimeters}"),
    ("\\text{ m}^2", "\\text{ square meters}"),
    ("\\text{ cm}", "\\,\\mathrm{cm}"),
    ("\\mathrm{~m}", "\\text{ m}"),
    ("\\text{ km/h}", "\\text{ km}/\\text{h}"),
    ("^\\circ\\text{C}", "^{\\circ}\\mathrm{C}"),
    ("\\,\\Omega", "\\text{ ohms}"),
    ("\\,\\mu\\text{m}", "\\text{ micrometers}"),
    ("\\text{ s}", "\\text{ seconds}"),
    ("\\text{ kg}", "\\text{ kilograms}"),
]


def unit_spellings(gold: str) -> list[Pair]:
    if not _is_int(gold):
        return []
    pairs = [(f"{gold}{a}", f"{gold}{b}") for a, b in _UNIT_SPELLINGS]
    pairs += [(f"{gold}{b}", f"{gold}{a}") for a, b in _UNIT_SPELLINGS]
    pairs += [(f"{gold}{a}", gold) for a, _ in _UNIT_SPELLINGS]
    pairs += [(f"{gold} \\text{{ apples}}", gold), (f"{gold}\\text{{ square meters}}", gold)]
    return pairs


def exact_forms(gold: str) -> list[Pair]:
    """Repeating decimals, real cube roots, powers written out."""
    pairs = []
    if match := _SIMPLE_FRAC.fullmatch(gold):
        value_ = Fraction(int(match[1]), int(match[2]))
        if value_.denominator in (3, 6, 9, 11) and value_ < 10:
            digits = f"{float(value_):.12f}"
            whole, frac = digits.split(".")
            period = {3: 1, 6: 1, 9: 1, 11: 2}[value_.denominator]
            fixed = 1 if value_.denominator == 6 else 0
            rep = frac[fixed : fixed + period]
            pairs.append((f"{whole}.{frac[:fixed]}\\overline{{{rep}}}", gold))
            pairs.append((f"{whole}.{frac[:fixed]}{rep * 3}\\ldots", gold))
            pairs.append((f"{whole}.{frac[:fixed]}({rep})", gold))
            if period == 1:
                pairs.append((f"{whole}.{frac[:fixed]}\\dot{{{rep}}}", gold))
    if _is_int(gold) and 0 < abs(int(gold)) <= 50:
        n = int(gold)
        if n < 0:
            pairs.append((f"\\sqrt[3]{{{n**3}}}", gold))
        if n > 1:
            pairs.append((str(n), f"{n}^{{1}}"))
    if gold == "512":
        pairs += [("512", "2^{3^2}"), ("2^{3^2}", "512")]
    if _is_int(gold) and 1 < int(gold) < 50:
        big = int(gold) ** 400  # 400 to 680 digits
        pairs += [(str(big), f"{gold}^{{400}}"), (f"{big:,}".replace(",", "\\,"), str(big))]
    if _scalar(gold) and value(gold).free_symbols and not re.search(r"[CK]", gold):
        pairs += [(f"{gold} + K", f"{gold} + C"), (f"{gold} + C_1", f"{gold} + C")]
    return pairs


def word_forms(gold: str) -> list[Pair]:
    """Word answers with one meaning."""
    if gold not in ("\\emptyset", "DNE"):
        return []
    if gold == "DNE":
        return [("\\text{Does not exist}", gold), ("\\text{DNE}", gold), ("\\text{does not exist}", gold)]
    return [("\\text{no solution}", gold), ("\\text{No solutions}", gold), ("\\varnothing", gold)]


RIGHT: dict[str, Callable[[str], list[Pair]]] = {
    "unicode_forms": unicode_forms,
    "notation": notation,
    "response_forms": response_forms,
    "unit_spellings": unit_spellings,
    "exact_forms": exact_forms,
    "word_forms": word_forms,
}

# Extra golds that exercise operators the benchmark golds rarely reach.
EXTRA_GOLDS = [
    "512",
    "-2",
    "-8",
    "\\frac{1}{3}",
    "\\frac{1}{6}",
    "\\frac{2}{11}",
    "(2, 3)",
    "(1, 4)",
    "[2, 5)",
    "\\emptyset",
    "DNE",
    "\\frac{x^3}{3}",
    "e^{2x}",
    "\\sin x",
]

# Wrong-by-construction pairs deepmath accepts on purpose (each justified in docs/verifier.md).
EXPLAINED: dict[str, str] = {}


# --- running -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    operator: str
    right: bool
    response: str
    gold: str


def response_of(answer: str) -> str:
    return (
        answer if "\\boxed" in answer or "\\framebox" in answer else f"The answer is $\\boxed{{{answer}}}$."
    )


def build_cases(golds: list[str], per_operator: int, seed: int) -> list[Case]:
    """Up to `per_operator` pairs per operator, drawn from all golds with a fixed seed."""
    rng = random.Random(seed)
    cases = []
    for right, registry in ((False, WRONG), (True, RIGHT)):
        for name, operator in registry.items():
            pairs = [pair for gold in golds for pair in operator(gold)]
            pairs = list(dict.fromkeys(pairs))
            rng.shuffle(pairs)
            cases += [Case(name, right, response_of(a), g) for a, g in pairs[:per_operator]]
    return cases


def math_verify_accepts(response: str, gold: str) -> bool:
    """math-verify as verl calls it: `verify(parse("\\boxed{gold}"), parse(response))`."""
    from math_verify import parse, verify

    try:
        return bool(verify(parse("\\boxed{" + gold + "}"), parse(response)))
    except Exception:
        return False


def grade_all(cases: list[Case], workers: int) -> tuple[list[bool], list[bool]]:
    """Verdicts of deepmath and of math-verify on every case."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    with VerifierPool(workers=workers, timeout_s=10.0) as pool:
        futures = [pool.submit(c.response, c.gold, require_think=False) for c in cases]
        ours = [future.result().correct for future in futures]
    theirs = [math_verify_accepts(c.response, c.gold) for c in cases]
    return ours, theirs


def report(cases: list[Case], ours: list[bool], theirs: list[bool], show: int) -> int:
    """Per-operator table; returns the number of unexplained wrong-by-construction acceptances."""
    rows: dict[tuple[bool, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    examples: dict[str, list[Case]] = defaultdict(list)
    for case, mine, peer in zip(cases, ours, theirs, strict=True):
        row = rows[case.right, case.operator]
        row[0] += 1
        row[1] += mine
        row[2] += peer
        if mine != case.right:
            examples[case.operator].append(case)
    unexplained = 0
    for right, title in (
        (False, "wrong by construction: accepted (lower is better)"),
        (True, "right by construction: accepted (higher is better)"),
    ):
        print(f"\n{title}")
        print("| operator | pairs | deepmath | math-verify |\n|---|---|---|---|")
        for (is_right, name), (total, mine, peer) in rows.items():
            if is_right == right:
                print(f"| {name} | {total} | {mine} ({mine / total:.0%}) | {peer} ({peer / total:.0%}) |")
                if not right and name not in EXPLAINED:
                    unexplained += mine
    for name, failures in examples.items():
        for case in failures[:show]:
            print(f"  {name}: {case.response!r} gold {case.gold!r}")
    return unexplained


# --- differential fuzz against sympy ----------------------------------------------------------------

X = sympy.Symbol("x")


# Elementary functions, hyperbolic and inverse ones among them (`\coth`, `\sech`: see verify/latex_repairs.py).
FUZZ_FUNCTIONS = (sympy.sin, sympy.cos, sympy.exp, sympy.log, sympy.atan, sympy.coth, sympy.sech, sympy.acot)


def random_expr(rng: random.Random, depth: int = 0) -> sympy.Expr:
    """A random expression of small integers, rationals, sqrt, pi, e, x and elementary functions."""
    if depth >= 3 or rng.random() < 0.3:
        return rng.choice(
            [
                sympy.Integer(rng.randint(1, 9)),
                sympy.Rational(rng.randint(1, 9), rng.randint(2, 9)),
                sympy.pi,
                X,
                sympy.sqrt(rng.choice([2, 3, 5])),
                sympy.E,
            ]
        )
    op = rng.choice(["add", "mul", "pow", "fn", "sub", "div"])
    a, b = random_expr(rng, depth + 1), random_expr(rng, depth + 1)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        return a ** rng.choice([2, 3, sympy.Rational(1, 2), -1])
    return rng.choice(FUZZ_FUNCTIONS)(a)


def fuzz_pairs(count: int, seed: int) -> Iterator[tuple[str, str, bool]]:
    """(answer, gold, equal): an expression against an equal rewrite, or against a perturbed one."""
    rng = random.Random(seed)
    made = 0
    while made < count:
        expr = random_expr(rng)
        if expr.has(sympy.zoo, sympy.nan) or not expr.is_finite:
            continue
        if rng.random() < 0.5:
            other, equal = (
                rng.choice([sympy.expand, sympy.factor, sympy.together, sympy.simplify])(expr),
                True,
            )
        else:
            other = (
                expr + rng.choice([1, sympy.Rational(1, 10**8), X, sympy.pi / 10**6])
                if rng.random() < 0.7
                else 2 * expr
            )
            equal = False
        point = {X: sympy.Rational(13, 7)}
        difference = (expr - other).subs(point).evalf(50)
        if not difference.is_number or difference.has(sympy.nan, sympy.zoo):
            continue
        if equal != (abs(difference) < 1e-40) or len(sympy.latex(other)) > 300:
            continue
        made += 1
        yield sympy.latex(other), sympy.latex(expr), equal


def run_fuzz(count: int, seed: int, workers: int, show: int) -> None:
    pairs = list(fuzz_pairs(count, seed))
    cases = [Case("fuzz", equal, f"$\\boxed{{{a}}}$", g) for a, g, equal in pairs]
    ours, theirs = grade_all(cases, workers)
    print(f"\ndifferential fuzz against sympy: {len(pairs)} pairs ({sum(e for *_, e in pairs)} equal)")
    print("| grader | equal accepted | different accepted (false positives) |\n|---|---|---|")
    for name, verdicts in (("deepmath", ours), ("math-verify", theirs)):
        eq = sum(v for v, c in zip(verdicts, cases, strict=True) if c.right)
        fp = sum(v for v, c in zip(verdicts, cases, strict=True) if not c.right)
        n_eq = sum(c.right for c in cases)
        print(f"| {name} | {eq}/{n_eq} | {fp}/{len(cases) - n_eq} |")
    for verdict, case in zip(ours, cases, strict=True):
        if verdict and not case.right and show:
            print(f"  deepmath false positive: {case.response!r} gold {case.gold!r}")
            show -= 1


def main(argv: list[str] | None = None) -> int:
    """Build the mutants, grade them with both graders, print the tables; exit 1 on an unexplained hack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-operator", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fuzz", type=int, default=400, help="differential fuzz pairs (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--show", type=int, default=3, help="deepmath errors printed per operator")
    args = parser.parse_args(argv)
    golds = load_golds() + EXTRA_GOLDS
    cases = build_cases(golds, args.per_operator, args.seed)
    print(f"hack search, VERIFIER_VERSION {VERIFIER_VERSION}: {len(golds)} golds, {len(cases)} pairs")
    ours, theirs = grade_all(cases, args.workers)
    unexplained = report(cases, ours, theirs, args.show)
    if args.fuzz:
        run_fuzz(args.fuzz, args.seed, args.workers, args.show)
    print(f"\nunexplained wrong-by-construction acceptances (deepmath): {unexplained}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
