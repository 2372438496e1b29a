"""Seeded, labelled, realistic DeepMath-style responses for the verifier and reward benchmarks.

Each response is a long chain of thought (2K-40K characters of prose with inline and display LaTeX)
inside `<think>`, then a short summary with a boxed answer. Answers are the gold, an equivalent form
of it, or a wrong answer; a few percent are hedged, truncated or answer only inside `<think>`, and
about 1% are pathological (towers, huge factorials, deep nesting, degenerate LaTeX, slow algebra).
`correct` is the label a careful human grader would give.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (problem, gold, equivalent forms, wrong answers): integers, fractions, expressions, intervals,
# sets, tuples, matrices, text answers and hard formats.
ANSWER_BANK: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Find the remainder when $7^{2024}$ is divided by 100.", "1", ("01", "1.0"), ("7", "49", "43")),
    ("How many positive divisors does 3600 have?", "45", ("45.", r"\text{45}"), ("44", "46", "36")),
    ("Compute $\\sum_{k=1}^{100} k$.", "5050", ("5,050", r"5\,050"), ("5000", "5150", "10100")),
    ("Evaluate $\\lim_{n\\to\\infty} (1+1/n)^n$.", "e", ("\\mathrm{e}", "e^{1}"), ("1", "\\infty", "2.718")),
    (
        "Find $P(\\text{two heads})$ in three tosses.",
        "\\frac{3}{8}",
        ("0.375", "3/8", "\\dfrac{3}{8}"),
        ("\\frac{1}{8}", "\\frac{3}{4}", "0.38"),
    ),
    ("Evaluate $\\int_0^1 x^2\\,dx$.", "\\frac{1}{3}", ("1/3", "\\tfrac13"), ("\\frac{1}{2}", "0.33", "3")),
    (
        "Find the radius of convergence of $\\sum n! x^n / n^n$.",
        "e",
        ("\\exp(1)",),
        ("1", "\\frac{1}{e}", "0"),
    ),
    (
        "Simplify $\\sqrt{50}$.",
        "5\\sqrt{2}",
        ("\\sqrt{50}", "5 \\sqrt 2", "\\sqrt{2}\\cdot 5"),
        ("25\\sqrt{2}", "5", "2\\sqrt{5}"),
    ),
    (
        "Find $\\cos(\\pi/6)$.",
        "\\frac{\\sqrt{3}}{2}",
        ("\\frac{1}{2}\\sqrt{3}", "\\frac{\\sqrt3}{2}"),
        ("\\frac{1}{2}", "\\frac{\\sqrt{2}}{2}", "\\sqrt{3}"),
    ),
    (
        "Expand $(x+1)^2$.",
        "x^2+2x+1",
        ("(x+1)^2", "1+2x+x^2", "x^{2} + 2 x + 1"),
        ("x^2+1", "x^2+x+1", "2x+1"),
    ),
    ("Differentiate $x\\ln x$.", "\\ln x + 1", ("1+\\ln x", "\\ln(x)+1"), ("\\ln x", "\\frac{1}{x}", "x")),
    (
        "Find the antiderivative of $2x e^{x^2}$.",
        "e^{x^2}+C",
        ("e^{x^{2}} + C", "C+e^{x^2}"),
        ("2e^{x^2}+C", "x^2e^{x^2}+C"),
    ),
    (
        "Solve $x^2-5x+6=0$.",
        "2, 3",
        ("3, 2", "x=2, x=3", "\\{2, 3\\}", "x = 2 \\text{ or } x = 3"),
        ("2", "3", "-2, -3", "1, 6"),
    ),
    ("Solve $|x-1|<2$.", "(-1, 3)", ("\\left(-1, 3\\right)",), ("[-1, 3]", "(-1, 3]", "(1, 3)")),
    (
        "Find the domain of $\\sqrt{x-2}$.",
        "[2, \\infty)",
        ("[2,\\infty)", "\\left[2, \\infty\\right)"),
        ("(2, \\infty)", "[-2, \\infty)", "[3, \\infty)"),
    ),
    (
        "Find the point where $y=2x$ meets $y=x+1$.",
        "(1, 2)",
        ("\\left(1,2\\right)",),
        ("(2, 1)", "(1, 1)", "(2, 4)"),
    ),
    (
        "Find $A^2$ for $A=\\begin{pmatrix}1&1\\\\0&1\\end{pmatrix}$.",
        "\\begin{pmatrix}1&2\\\\0&1\\end{pmatrix}",
        ("\\begin{bmatrix}1&2\\\\0&1\\end{bmatrix}",),
        ("\\begin{pmatrix}1&1\\\\0&1\\end{pmatrix}", "\\begin{pmatrix}2&2\\\\0&2\\end{pmatrix}"),
    ),
    (
        "Is the series $\\sum 1/n^2$ convergent?",
        "\\text{Yes}",
        ("\\text{yes}", "Yes"),
        ("\\text{No}", "\\text{diverges}"),
    ),
    (
        "Which is larger, $2^{30}$ or $10^9$?",
        "2^{30}",
        ("1073741824", "1,073,741,824"),
        ("10^9", "1000000000"),
    ),
    (
        "What percentage of 80 is 20?",
        "25\\%",
        ("25", "25 \\%", "25\\text{ percent}"),
        ("0.25", "20\\%", "2500"),
    ),
    (
        "Find the angle of an equilateral triangle in degrees.",
        "60^\\circ",
        ("60", "60°", "60^{\\circ}"),
        ("\\frac{\\pi}{3}", "90", "180"),
    ),
    ("Write 11 in base 2.", "1011_2", ("1011", "1011_{2}"), ("11", "1101_2", "111")),
    (
        "Compute $7/2$ as a mixed number.",
        "3\\frac{1}{2}",
        ("\\frac{7}{2}", "3.5", "7/2"),
        ("3\\frac{1}{3}", "2\\frac{1}{2}", "4"),
    ),
    ("Find $\\log_2 1024$.", "10", ("10.0", "\\log_2 1024"), ("1024", "2", "9")),
    ("Compute $\\binom{10}{3}$.", "120", ("\\binom{10}{3}", "\\dbinom{10}{3}"), ("720", "30", "210")),
    ("Compute $5!$.", "120", ("5!", "1\\cdot2\\cdot3\\cdot4\\cdot5"), ("24", "720", "125")),
    ("Find the minimum of $x^2-4x+7$.", "3", ("3.0", "\\frac{6}{2}"), ("7", "2", "-3")),
    (
        "Find all real $x$ with $x^3=x$.",
        "-1, 0, 1",
        ("\\{-1, 0, 1\\}", "0, 1, -1", "x=-1, x=0, x=1"),
        ("0, 1", "-1, 1", "1"),
    ),
    (
        "Find the sum of the infinite series $\\sum_{n\\ge0} 2^{-n}$.",
        "2",
        ("2.0", "\\frac{4}{2}"),
        ("1", "\\infty", "\\frac{1}{2}"),
    ),
    ("Evaluate $\\int_0^{\\pi} \\sin x\\,dx$.", "2", ("2.00",), ("0", "1", "\\pi")),
    (
        "Find $\\tan(\\pi/4)$ times 1000000.",
        "1000000",
        ("10^6", "1{,}000{,}000", "1\\times 10^{6}"),
        ("100000", "10^7", "1000001"),
    ),
    (
        "Compute $\\frac{1}{2^{20}}$.",
        "\\frac{1}{1048576}",
        ("2^{-20}", "\\frac{1}{2^{20}}"),
        ("\\frac{1}{2^{19}}", "\\frac{1}{2^{21}}"),
    ),
    (
        "Find the eigenvalues of $\\mathrm{diag}(2, 5)$.",
        "2, 5",
        ("5, 2", "\\{2, 5\\}", "\\lambda = 2, \\lambda = 5"),
        ("2", "7", "10"),
    ),
    (
        "Find the inverse of $f(x)=2x+3$.",
        "\\frac{x-3}{2}",
        ("\\frac{1}{2}x - \\frac{3}{2}", "(x-3)/2", "0.5x-1.5"),
        ("\\frac{x+3}{2}", "2x-3", "\\frac{x}{2}-3"),
    ),
    ("Find the Galois group order of $x^3-2$ over $\\mathbb{Q}$.", "6", ("6.",), ("3", "2", "9")),
    (
        "Find the volume of a unit ball in $\\mathbb{R}^3$.",
        "\\frac{4\\pi}{3}",
        ("\\frac{4}{3}\\pi", "4\\pi/3"),
        ("\\frac{4}{3}", "4\\pi", "\\frac{3\\pi}{4}"),
    ),
    (
        "Name the shape with 5 sides.",
        "\\text{pentagon}",
        ("pentagon", "\\text{Pentagon}"),
        ("hexagon", "\\text{square}"),
    ),
    ("Find $i^2$.", "-1", ("−1", "-1.0"), ("1", "i", "-i")),
    (
        "Find $\\sqrt{2}$ to 12 significant figures.",
        "1.41421356237",
        ("1.414213562370",),
        ("1.41421", "1.4142135624"),
    ),
)

FILLER_SENTENCES = (
    "Let me reconsider the problem statement carefully before going further.",
    "We substitute $u = {a}x + {b}$, so that $du = {a}\\,dx$ and the bounds change accordingly.",
    "By the AM-GM inequality, $\\frac{{x+y}}{{2}} \\ge \\sqrt{{xy}}$ with equality when $x = y$.",
    "Checking small cases: for $n = {a}$ we get ${c}$, and for $n = {b}$ we get ${d}$.",
    "Hmm, wait. That does not look right; let me recompute ${a} \\times {b} = {c}$.",
    "Consider the display\n\\[\n\\sum_{{k=1}}^{{{a}}} k^2 = \\frac{{{a}({a}+1)(2\\cdot {a}+1)}}{{6}} = {e}.\n\\]",
    "So the derivative is $f'(x) = {a}x^{{{b}}} - {c}$, which vanishes at a single critical point.",
    "Using the identity $\\sin^2\\theta + \\cos^2\\theta = 1$ we can simplify the expression to ${a}$.",
    "Alternatively, we can set up the equation $${a}x + {b} = {c}$$ and solve for $x$.",
    "This gives the matrix \\[\\begin{{pmatrix}} {a} & {b} \\\\ {c} & {d} \\end{{pmatrix}}\\] whose determinant is ${f}$.",
    "I think the pattern continues, but let me double-check the induction step for $n+1$.",
    "Therefore $\\left(\\frac{{{a}}}{{{b}}}\\right)^2 = \\frac{{{g}}}{{{h}}}$, as expected.",
)


@dataclass(frozen=True)
class SyntheticResponse:
    """One response with its label and the kind of answer it gives."""

    text: str
    correct: bool
    kind: str


@dataclass(frozen=True)
class SyntheticGroup:
    """A problem, its gold answer and a group of sampled responses (as in GRPO rollouts)."""

    problem: str
    gold: str
    responses: tuple[SyntheticResponse, ...]


def _thinking(rng: random.Random, target_chars: int, intermediate: str | None) -> str:
    """Filler reasoning of about `target_chars` characters, optionally with a box along the way."""
    parts, size = [], 0
    while size < target_chars:
        a, b = rng.randint(2, 40), rng.randint(1, 9)
        values = {
            "a": a,
            "b": b,
            "c": a * b,
            "d": a + b,
            "e": a * (a + 1) * (2 * a + 1) // 6,
            "f": a * b - b,
            "g": a * a,
            "h": b * b,
        }
        sentence = rng.choice(FILLER_SENTENCES).format(**values)
        parts.append(sentence)
        size += len(sentence) + 1
        if intermediate is not None and size > target_chars // 2:
            parts.append(f"So far this gives $\\boxed{{{intermediate}}}$, but let me verify.")
            intermediate = None
    return "\n".join(parts)


def _pathological(rng: random.Random, gold: str) -> tuple[str, str, bool]:
    """(graded part, kind, label) of one pathological response."""
    kind = rng.choice(
        ("tower", "factorial", "nesting", "slow_algebra", "slow_sum", "unclosed_display", "term_dump")
    )
    answers = {
        "tower": "10^{10^{10^{10}}}",
        "factorial": "100000!",
        "nesting": "(" * 300 + "1" + ")" * 300,
        "slow_algebra": "(x+1)^{1000}-(x-1)^{1000}",
        "slow_sum": "\\sum_{k=1}^{20000} \\frac{1}{k^2}",
        "term_dump": "+".join(f"{i}" for i in range(3000)),
    }
    if kind == "unclosed_display":
        return "\\[" * 48_000 + f"\nThe final answer is $\\boxed{{{gold}}}$.", kind, True
    return f"The final answer is $\\boxed{{{answers[kind]}}}$.", kind, False


# (kind, weight): the mix of outcomes in one group.
OUTCOMES = (
    ("gold", 0.44),
    ("equivalent", 0.16),
    ("wrong", 0.30),
    ("hedged", 0.03),
    ("truncated", 0.03),
    ("answer_in_think_only", 0.02),
    ("no_box", 0.01),
    ("pathological", 0.01),
)


def _response(
    rng: random.Random, gold: str, equivalents: tuple[str, ...], wrongs: tuple[str, ...]
) -> SyntheticResponse:
    kind = rng.choices([k for k, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
    length = int(2000 * 20 ** rng.random())  # 2K to 40K characters, log-uniform
    intermediate = rng.choice((*wrongs, gold)) if rng.random() < 0.10 else None
    summary = "**Summary.** Combining the steps above, we obtain the result.\n\n"
    answer = {"gold": gold, "equivalent": rng.choice(equivalents)}.get(kind, rng.choice(wrongs))
    correct = kind in ("gold", "equivalent")
    if kind == "pathological":
        graded, kind, correct = _pathological(rng, gold)
    elif kind == "hedged":
        graded = f"The answer is $\\boxed{{{rng.choice(wrongs)}}}$ or possibly $\\boxed{{{gold}}}$."
    elif kind == "no_box":
        graded = f"The final answer is {gold}."
    else:
        graded = f"{summary}Therefore, the final answer is $\\boxed{{{answer}}}$."
    thinking = _thinking(rng, length, intermediate)
    if kind == "truncated":
        return SyntheticResponse(f"<think>\n{thinking} So the answer is $\\boxed{{{gold}}}$", False, kind)
    if kind == "answer_in_think_only":
        return SyntheticResponse(
            f"<think>\n{thinking}\nThus $\\boxed{{{gold}}}$.\n</think>\nDone.", False, kind
        )
    return SyntheticResponse(f"<think>\n{thinking}\n</think>\n{graded}", correct, kind)


def generate_groups(count: int, group_size: int = 8, seed: int = 0) -> list[SyntheticGroup]:
    """`count` problems with `group_size` labelled responses each, reproducible from `seed`."""
    rng = random.Random(seed)
    groups = []
    for _ in range(count):
        problem, gold, equivalents, wrongs = rng.choice(ANSWER_BANK)
        responses = tuple(_response(rng, gold, equivalents, wrongs) for _ in range(group_size))
        groups.append(SyntheticGroup(problem, gold, responses))
    return groups
