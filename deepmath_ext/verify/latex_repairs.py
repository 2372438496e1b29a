"""Repairs of latex2sympy2_extended, the LaTeX parser under math-verify.

They run in the verifier workers; the caller's thread reads only the table of function names (this
module imports neither sympy nor the parser until a repair runs).

Tested with latex2sympy2_extended 1.11.0 on the antlr 4.9.3 runtime that hydra pins (verl needs hydra):

- Token accessors. The converter was written against the parser generated for antlr 4.13; the one
  generated for 4.9.3 lacks accessors it calls (`AtomContext.FUNC_GAMMA`), so every percentage
  (`62.5\\%`) raised AttributeError inside the parser. `repair_parser()` adds each missing accessor as
  antlr generates it (`getToken`), answering "no such token", as the 4.9.3 grammar means.
  `tests/test_verify_latex_repairs.py` derives the accessors the 4.13 parser has from its source, so a
  new gap fails there instead of in a grade.
- Functions without a token. `\\coth x` lexes as `\\cot` times `h x`; `\\sech`, `\\csch` and the inverse
  hyperbolic spellings that are not tokens (`\\arcoth`, `\\arccoth`, ...) read as another function or
  not at all. `spell_for_parser` writes each as a function of the same grammar that parses (its carrier),
  raised to a marker power, and `restore_functions` turns carrier^(marker * k) back into name^k after
  parsing, so the argument and the power are read exactly as the parser reads them for the carrier.
- Letter exponents. `x^e`, `2^e` and `e^e` do not parse (of the 52 letters only an unbraced `e` fails,
  a lexer quirk), though `x^{e}` does; normalisation writes single-character exponents without braces,
  so `spell_for_parser` braces every letter exponent again (`x^e` is `x^{e}` in TeX too).
"""

from __future__ import annotations

import importlib

import deepmath_ext.verify.linear as linear

# (module, context class, token name): accessors the 4.13 parser has and the 4.9.3 one lacks.
MISSING_ACCESSORS = (("latex2sympy2_extended.antlr_parser", "PSParser.AtomContext", "FUNC_GAMMA"),)

# The function macros latex2sympy2_extended 1.11 has tokens for (single-argument ones).
PARSED_FUNCTIONS = (
    "sin", "cos", "tan", "csc", "sec", "cot", "arcsin", "arccos", "arctan", "arccsc", "arcsec", "arccot",
    "sinh", "cosh", "tanh", "arsinh", "arcosh", "artanh", "arcsinh", "arccosh", "arctanh",
)  # fmt: skip
# name -> (carrier macro it parses as, sympy function, the sympy function `\name^{-1}` means). The
# carriers take their argument as the names do. Names only (no sympy here): the caller's thread reads them.
MISSING_FUNCTIONS = {
    "coth": ("tanh", "coth", "acoth"),
    "sech": ("cosh", "sech", "asech"),
    "csch": ("sinh", "csch", "acsch"),
    "arcoth": ("tanh", "acoth", "coth"),
    "arccoth": ("tanh", "acoth", "coth"),
    "arsech": ("cosh", "asech", "sech"),
    "arcsech": ("cosh", "asech", "sech"),
    "arcsch": ("sinh", "acsch", "csch"),
    "arccsch": ("sinh", "acsch", "csch"),
}
# sympy's names of the inverse functions (what `sympy.latex` prints in `\operatorname{}`) -> our macro.
SYMPY_NAMES = {
    "asin": "arcsin", "acos": "arccos", "atan": "arctan", "acsc": "arccsc", "asec": "arcsec", "acot": "arccot",
    "asinh": "arsinh", "acosh": "arcosh", "atanh": "artanh", "acoth": "arcoth", "asech": "arsech",
    "acsch": "arcsch",
}  # fmt: skip
FUNCTION_NAMES = PARSED_FUNCTIONS + tuple(MISSING_FUNCTIONS) + tuple(SYMPY_NAMES)
# A macro with its optional power (`\coth^2`, `\coth^{-1}`); other macros are left as written.
_MACRO_POWER = linear.compile(linear.MACRO + r"(?:\s*\^\s*(\{[^{}]*\}|[^\s{}\\]))?")
_LETTER_EXPONENT = linear.compile(r"\^\s*([a-zA-Z])")


def repair_parser() -> None:
    """Give the generated parser every accessor in MISSING_ACCESSORS that it lacks (idempotent)."""
    for module_name, class_path, token in MISSING_ACCESSORS:
        module = importlib.import_module(module_name)
        owner = module
        for part in class_path.split("."):
            owner = getattr(owner, part)
        if token not in vars(owner):
            token_type = getattr(module.PSParser, token)
            setattr(owner, token, lambda self, token_type=token_type: self.getToken(token_type, 0))


def _marker(name: str) -> str:
    # math-verify lower-cases symbol names; an index keeps the marker apart from any plain letter.
    return f"q_{{{name}}}"


_MARKERS = {_marker(name): entry for name, entry in MISSING_FUNCTIONS.items()}


def _spell(match: linear.Match) -> str:
    if match[1] not in MISSING_FUNCTIONS:
        return match[0]
    carrier = MISSING_FUNCTIONS[match[1]][0]
    power = match[2] or "1"
    power = power[1:-1] if power.startswith("{") else power
    return f"\\{carrier}^{{{_marker(match[1])}\\cdot({power})}}"


def spell_for_parser(latex: str) -> str:
    """The answer as latex2sympy parses it: each function of MISSING_FUNCTIONS as its carrier raised to a
    marker power, letter exponents braced (see the module doc)."""
    latex = _LETTER_EXPONENT.sub(r"^{\1}", latex) if "^" in latex else latex
    return _MACRO_POWER.sub(_spell, latex) if "\\" in latex else latex


def _restore(power: object) -> object:
    import sympy

    marker = next(s for s in power.exp.free_symbols if s.name in _MARKERS)
    _, function, inverse = _MARKERS[marker.name]
    exponent = sympy.simplify(power.exp / marker)
    argument = power.base.args[0]
    if exponent == -1:
        return getattr(sympy, inverse)(argument)
    return getattr(sympy, function)(argument) ** exponent


def _is_marked(expression: object) -> bool:
    import sympy

    return (
        isinstance(expression, sympy.Pow)
        and isinstance(expression.base, sympy.Function)
        and any(s.name in _MARKERS for s in expression.exp.free_symbols)
    )


def restore_functions(value: object) -> object:
    """A parsed value with every carrier^(marker * k) written back as the function it spells, ^k."""
    import sympy

    if not isinstance(value, sympy.Basic) or not any(
        getattr(s, "name", None) in _MARKERS for s in value.free_symbols
    ):
        return value
    return value.replace(_is_marked, _restore)
