"""Linear time by construction: the verifier runs no backtracking regex, and no answer makes a grade hang.

Three guards: (1) no module of `deepmath_ext/verify` or `deepmath_ext/reward` (the code that reads model
text in the caller's thread) uses Python's backtracking `re`; their patterns are RE2 (`verify/linear.py`);
(2) every stdlib pattern elsewhere in `deepmath_ext` passes a nested-quantifier (ReDoS) check; (3) a
hypothesis search over adversarial answers finds no grade slower than a generous bound.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import pkgutil
import re
import signal
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from re import _constants as sre
from re import _parser as sre_parse

import pytest
from hypothesis import example, given, settings, target
from hypothesis import strategies as st

import deepmath_ext
from deepmath_ext.verify import linear, reference_equal
from deepmath_ext.verify.extract import MAX_BOX_CHARS
from deepmath_ext.verify.math_verify_pin import _replacement_regex
from deepmath_ext.verify.pipeline import decide_answer, decide_response

PACKAGE_DIR = Path(deepmath_ext.__file__).parent
# Packages whose code runs on model text in the caller's thread: RE2 only.
LINEAR_ONLY = ("verify", "reward")
RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
# Stdlib `re` calls whose pattern is not a literal, and where their patterns are checked in this file.
DYNAMIC_PATTERN_SITES = {
    "templates/__init__.py": "model-family table (model names): test_dynamic_patterns_pass_the_check",
    "data/validation.py": "leak contexts (question text): test_dynamic_patterns_pass_the_check",
    "verify/math_verify_pin.py": "math-verify's replacement table: test_dynamic_patterns_pass_the_check",
}
# The one exception to RE2-only: functions that hand math-verify a pattern of its own table back (it looks
# around, so RE2 cannot run it); math-verify runs it in a verifier worker under the check's timeout.
MATH_VERIFY_PATTERN_BUILDERS = {"verify/math_verify_pin.py": {"_replacement_regex"}}
# The bound of the property test: generous, so that it never flakes on a slow or shared machine.
GRADE_BOUND_S = 5.0


def _source_files() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        yield path.relative_to(PACKAGE_DIR).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _imports_backtracking_regex(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name in ("re", "regex", "sre_compile") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module in ("re", "regex"):
            return True
    return False


def _functions_calling_re(tree: ast.Module) -> set[str]:
    """The top-level functions of a module that call `re` (`<module>` for a call outside them)."""
    return {
        statement.name if isinstance(statement, ast.FunctionDef) else "<module>"
        for statement in tree.body
        if next(_re_calls(statement), None) is not None
    }


def _re_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in RE_FUNCTIONS
        ):
            yield node


def _has_variable_repeat(items: list) -> bool:
    return any(_variable_repeat_in(op, av) for op, av in items)


def _variable_repeat_in(op: object, av: object) -> bool:
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        low, high, body = av
        return low != high or _has_variable_repeat(body)
    return any(_has_variable_repeat(child) for child in _children(op, av))


def _children(op: object, av: object) -> list[list]:
    """The sub-patterns of one parsed node (atomic groups and possessive repeats never backtrack)."""
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        return [av[2]]
    if op is sre.SUBPATTERN:
        return [av[3]]
    if op is sre.BRANCH:
        return list(av[1])
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch is not None]
    return []


def backtracking_risk(pattern: str, flags: int = 0) -> str | None:
    """Why a stdlib pattern can backtrack exponentially (a repeated group holding a variable repeat)."""
    stack = [sre_parse.parse(pattern, flags)]
    while stack:
        for op, av in stack.pop():
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[1] > 1 and _has_variable_repeat(av[2]):
                return f"a repeated group holds a variable repeat (nested quantifier) in {pattern!r}"
            stack.extend(_children(op, av))
    return None


def _module_patterns(module: object) -> Iterator[object]:
    """Compiled patterns in a module's globals, in containers and in the closures of its functions."""
    seen: set[int] = set()
    stack = list(vars(module).values())
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, (re.Pattern, linear.Pattern)):
            yield value
        elif isinstance(value, (tuple, list, set, frozenset)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif callable(value) and getattr(value, "__module__", None) == module.__name__:
            stack.extend(cell.cell_contents for cell in getattr(value, "__closure__", None) or ())


def _modules(package: str) -> list[object]:
    root = importlib.import_module(package)
    names = [info.name for info in pkgutil.walk_packages(root.__path__, package + ".")]
    return [importlib.import_module(name) for name in names]


def test_the_verifier_and_reward_never_import_a_backtracking_regex_engine():
    offenders = [
        name
        for name, tree in _source_files()
        if name.split("/")[0] in LINEAR_ONLY
        and _imports_backtracking_regex(tree)
        and not (
            name in MATH_VERIFY_PATTERN_BUILDERS
            and _functions_calling_re(tree) <= MATH_VERIFY_PATTERN_BUILDERS[name]
        )
    ]
    assert not offenders, (
        f"{offenders} import a backtracking regex engine; compile patterns with "
        "deepmath_ext.verify.linear.compile (RE2, linear time)"
    )


def test_every_pattern_the_verifier_holds_is_re2():
    patterns = [p for module in _modules("deepmath_ext.verify") for p in _module_patterns(module)]
    assert not [p.pattern for p in patterns if not isinstance(p, linear.Pattern)]
    # RE2 compiles a pattern at its first use: reading `groups` compiles each one here (a bad one raises).
    assert all(isinstance(p.groups, int) for p in patterns)
    assert len(patterns) > 50  # the walk reaches the rewrite tables' closures


def _stdlib_patterns() -> tuple[list[tuple[str, str]], set[str], set[str]]:
    """Literal patterns of `re` calls; modules compiling others at top level; other run-time sites."""
    literal, compiled_at_import, dynamic = [], set(), set()
    for name, tree in _source_files():
        top_level = {id(node) for stmt in tree.body for node in ast.walk(stmt)}
        for call in _re_calls(tree):
            first = call.args[0] if call.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                literal.append((name, first.value))
            elif call.func.attr == "compile" and id(call) in top_level:
                compiled_at_import.add(name)
            else:
                dynamic.add(name)
    return literal, compiled_at_import, dynamic


def test_every_stdlib_pattern_in_the_package_passes_the_backtracking_check():
    literal, compiled_at_import, dynamic = _stdlib_patterns()
    assert len(literal) >= 10
    assert not [(name, backtracking_risk(pattern)) for name, pattern in literal if backtracking_risk(pattern)]
    modules = [
        importlib.import_module("deepmath_ext." + name[:-3].replace("/", ".")) for name in compiled_at_import
    ]
    compiled = [p for module in modules for p in _module_patterns(module) if isinstance(p, re.Pattern)]
    assert not [
        backtracking_risk(p.pattern, p.flags) for p in compiled if backtracking_risk(p.pattern, p.flags)
    ]
    assert dynamic <= set(DYNAMIC_PATTERN_SITES), f"unchecked patterns built at run time in {dynamic}"


def test_dynamic_patterns_pass_the_check():
    from deepmath_ext.data.validation import LEAK_CONTEXTS
    from deepmath_ext.templates import model_families

    # An answer is inserted escaped (a literal), so a placeholder literal stands for every answer.
    patterns = [pattern.replace("{a}", "x") for pattern, _ in LEAK_CONTEXTS]
    patterns += [family["pattern"] for family in model_families()]
    patterns.append(_replacement_regex(None).pattern)
    assert patterns and not [backtracking_risk(p) for p in patterns if backtracking_risk(p)]


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"(?:\s*x\s*)*y",
        # The two that hung the grader (issue 24): units repeated around spaces, numbers between commas.
        r"(?:\s*\\text\{\s*(?:m|cm)(?:\s*(?:/|\s)\s*(?:m|cm))*\s*\})+\s*$",
        r"\s*\d+\s*(?:,\s*[+-]?\s*\d+(?:\.\d+)?\s*)*",
    ],
)
def test_the_check_flags_nested_quantifiers(pattern):
    assert backtracking_risk(pattern) is not None


@pytest.mark.parametrize(
    "pattern", [r"\d+(?:\.\d+)?", r"[+-]?[1-9]\d{0,2}(?:(,|\s)\d{3})+", r"(?>a+)+b", r"(?:ab)+"]
)
def test_the_check_passes_unnested_and_fixed_repeats(pattern):
    assert backtracking_risk(pattern) is None


def test_linear_compile_refuses_lookaround_and_ascii_only_escapes():
    for pattern in (r"a(?=b)", r"(?<!x)a", r"\bword\b"):
        with pytest.raises(ValueError):
            linear.compile(pattern)


@pytest.mark.parametrize("escape", ["d", "s", "S", "w"])
def test_linear_classes_are_pythons_unicode_classes(escape):
    # RE2 may know characters newer than this Python's Unicode tables; nothing else may differ.
    characters = "".join(chr(code) for code in range(0x30000) if not 0xD800 <= code < 0xE000)
    python = set(re.findall("\\" + escape, characters))
    ours = set(linear.compile("\\" + escape).findall(characters))
    assert python <= ours
    assert all(unicodedata.category(c) == "Cn" or escape == "S" for c in ours - python)


def test_replacement_strings_are_literal_unless_they_name_groups():
    assert linear.compile(r"\\\\").sub("\ue000", r"a\\b") == "a\ue000b"
    assert linear.compile(r"(a)(b)").sub(r"\2\1", "xab") == "xba"


def _verifier_patterns() -> tuple[list[linear.Pattern], list[linear.PatternSet]]:
    modules = _modules("deepmath_ext.verify")
    values = [value for module in modules for value in vars(module).values()]
    patterns = [p for module in modules for p in _module_patterns(module)]
    return [p for p in patterns if isinstance(p, linear.Pattern)], [
        value for value in values if isinstance(value, linear.PatternSet)
    ]


ASCII_PIECES = [chr(code) for code in range(128)] + [
    r"\frac", r"\text{", r"\boxed{", r"\circ", r"\sqrt", r"\left(", r"\right)", r"\mathrm{", r"\dfrac",
    r"\pm", r"\\", r"\,", r"\!", r"\cdot", r"\times", " cm", " m^2", "3.14", "1,000", "x=", "^{", "_{",
    r"\begin{array}{c}", r"\end{array}", "pmatrix", "1e5", "(A)", " or ", r"\ln", r"\log_e",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ASCII_PIECES), max_size=30).map("".join))
@example("5 \\text{ cm}")
@example("x_1 = 3.5e-2, \t\x0b\x1c")
def test_the_ascii_programs_match_what_the_unicode_programs_match_on_ascii_text(text):
    # Each pattern runs a small ASCII program on ASCII text; it must mean exactly the Unicode one there.
    patterns, sets = _verifier_patterns()
    for pattern in patterns:
        unicode = pattern._unicode_program()
        for anchor in (linear._ANCHOR.UNANCHORED, linear._ANCHOR.ANCHOR_BOTH):
            ours = [m._spans for m in pattern._matches(anchor, text)]
            assert ours == [m._spans for m in unicode._match(anchor, text)], pattern.pattern
    for pattern_set in sets:
        assert sorted(pattern_set._set(True).Match(text) or ()) == sorted(
            pattern_set._set(False).Match(text) or ()
        )


# Adversarial answers, built from what the normaliser's patterns repeat or look around: a number and an
# opener, then a gap and an item repeated up to the box limit (units, spaces, commas, degrees, braces,
# `\text` runs), then a tail that makes the last attempt fail.
NUMBERS = ["", "5", "10", "2.5", "-3", "1e5", "٣"]
OPENERS = ["", r"\text{", r"\text{ ", r"\mathrm{", "{", "(", r"\left(", "^\\circ,", "=", r"\boxed{", r"\sqrt{"]  # fmt: skip
GAPS = ["", " ", "  ", "    ", "\u00a0 ", ",", ", ", ",   ", " / ", r" \cdot ", r"\,", "~"]
ITEMS = [
    "m", "cm", "kg", "s", "m^2", "m^{-1}", r"\text{ m}", r"\mathrm{s}", r"\text{", "}", "{", "5", "30", "2.5",
    "x=1", "^\\circ", "30^\\circ", "^{\\circ}", r"\degree", r"\left(", r"\right)", "(", ")", r"\{", r"\}",
    r"\\", "or", r"\pm", r"\frac", "matrix", "é", "e", "E5",
]  # fmt: skip
TAILS = ["", "x", " x}", "}", "}}", "!", r"\text{ m}", "^\\circ", ", x", "="]
numbers, openers, gaps, items, tails = map(st.sampled_from, (NUMBERS, OPENERS, GAPS, ITEMS, TAILS))


@st.composite
def adversarial_answers(draw) -> str:
    """A number and an opener, a block repeated up to the box limit, a tail: where backtracking multiplies."""
    head = draw(numbers) + draw(openers) + draw(items)
    block = draw(gaps) + draw(items) + draw(st.sampled_from(["", *ITEMS]))
    repeats = draw(st.integers(min_value=1, max_value=MAX_BOX_CHARS // len(block)))
    return (head + block * repeats + draw(tails) + draw(tails))[:MAX_BOX_CHARS]


class _TooSlow(Exception):
    pass


def _raise_too_slow(signum: int, frame: object) -> None:
    raise _TooSlow


def _slowest_grade_s(answer: str) -> float:
    """The longest of the caller-thread decisions on the answer, bare and boxed in a response.

    An alarm interrupts a decision that passes the bound (a backtracking `re` checks for signals), so
    a regression fails here in seconds instead of hanging until the suite's timeout."""
    slowest = 0.0
    previous = signal.signal(signal.SIGALRM, _raise_too_slow)
    try:
        for decide in (
            lambda: decide_answer(answer, "5"),
            lambda: decide_answer("5", answer) if answer.strip() else None,
            lambda: decide_response("<think>x</think> \\boxed{" + answer + "}", "5 \\text{ m}"),
        ):
            started = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, GRADE_BOUND_S)
            try:
                with contextlib.suppress(ValueError):  # a gold that normalises to nothing is a data error
                    decide()
            except _TooSlow:
                return float("inf")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            slowest = max(slowest, time.perf_counter() - started)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return slowest


@settings(max_examples=300, deadline=None)
@given(adversarial_answers())
@example(r"5\text{ m" + "    m" * 800 + " x}")
@example("10^\\circ," + " " * 3000 + "20^\\circ" + ", 30" * 200 + " x")
@example(r"5\text{ m}" * 400 + "x")
def test_no_answer_makes_the_caller_thread_slow(answer):
    slowest = _slowest_grade_s(answer)
    target(min(slowest, GRADE_BOUND_S))  # steer the search towards slower answers
    assert slowest < GRADE_BOUND_S


# The reference graders' patterns that looked around or used `re`-only syntax (as the reference code
# writes them), and the RE2 ports in `reference_equal`: the same output on any text.
def _wrapped(pattern: object, text: str) -> str | None:
    match = pattern.search(text)
    return None if match is None else match[1]


REFERENCE_PORTS = {
    "mixed fraction": (
        lambda t: re.sub(r"(?<!\d)(\d+) *\\frac\{(\d+)\}\{(\d+)\}", r"\1 + \2/\3", t),
        lambda t: reference_equal._MIXED_FRACTION.sub(reference_equal._mixed_fraction, t),
    ),
    "digit gap": (
        lambda t: re.sub(r"(?<=\d)[ \t\r\n]+(?=\d)", "", t),
        lambda t: reference_equal._WHITESPACE_RUN.sub(reference_equal._join_digits, t),
    ),
    "frac variant": (
        lambda t: re.sub(r"\\[dt]frac(?![a-zA-Z])", r"\\frac", t),
        lambda t: reference_equal._FRAC_VARIANT.sub(reference_equal._dfrac_to_frac, t),
    ),
    "thousands": (
        lambda t: re.sub(r"(\d),(\d\d\d)($|\D)", r"\1\2\3", t),
        lambda t: reference_equal._THOUSANDS.sub(r"\1\2\3", t),
    ),
    "wrapper": (
        lambda t: [_wrapped(re.compile(rf"^\\{name}\{{(.+?)\}}$"), t) for name in reference_equal.WRAPPERS],
        lambda t: [_wrapped(pattern, t) for pattern in reference_equal._WRAPPED],
    ),
}
REFERENCE_PIECES = [
    "1", "23", "٣", "4", " ", "  ", "\t", "\n", ",", ",000", "x", "é", "{", "}", "{2}", "{13}", r"\frac",
    r"\dfrac", r"\tfrac", r"\dfracx", r"\\", r"\text{", r"\mathrm{", "yes", "}\n",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(REFERENCE_PIECES), max_size=12).map("".join))
@example("12 3\\frac{1}{2} 4\n5")
@example("\\text{yes}\n")
@example("1,000,000\n")
@pytest.mark.parametrize("port", sorted(REFERENCE_PORTS))
def test_reference_ports_mean_what_the_reference_patterns_meant(port, text):
    stdlib, ours = REFERENCE_PORTS[port]
    assert ours(text) == stdlib(text)
