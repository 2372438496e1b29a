"""Words in an answer: a leading "the answer is", word answers with one meaning, and hedging words."""

from __future__ import annotations

import deepmath_ext.verify.linear as linear
from deepmath_ext.verify.units import PROSE_WORDS

# `\text{The answer is } 12`, `Answer: 12`: the words before the value are not part of it.
_ANSWER_IS = linear.compile(
    r"(?:\\(?:text|textbf|textrm|mathrm|mbox)\s*\{)?\s*(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)\s*:?\s*\}?\s*",
    ignore_case=True,
)
# Normalised word answers that mean the same thing, and the form each is graded as.
_SYNONYMS = {
    **dict.fromkeys(
        (
            "no solution",
            "no solutions",
            "no real solution",
            "no real solutions",
            "there is no solution",
            "there are no solutions",
            "\\emptyset",
            "\\{\\}",
            "{}",
            "none",
            "empty set",
            "the empty set",
        ),
        "\\emptyset",
    ),
    **dict.fromkeys(
        (
            "does not exist",
            "doesnotexist",
            "dne",
            "the limit does not exist",
            "it does not exist",
            "not exist",
        ),
        "dne",
    ),
}
# `\\ne 5` and `x \\ne 5` say what the answer is not.
NEGATING_MACROS = frozenset(("\\ne", "\\neq", "\\not", "\\neg", "\\lnot"))
# A macro name or a whole run of letters (a word when it is not a macro).
_MACRO_OR_WORD = linear.compile(r"\\?[a-zA-Z]+")


def strip_answer_is(answer: str) -> str:
    """The answer without a leading `The answer is` (in a `\\text{}` or not)."""
    answer = answer.lstrip()
    match = _ANSWER_IS.match(answer)
    return answer[match.end() :] if match and match.end() < len(answer) else answer


def canonical_words(normalized: str) -> str:
    """The one form of word answers that mean the same (`no solution` is `\\emptyset`, DNE)."""
    return _SYNONYMS.get(normalized, normalized)


def hedging_words(normalized: str) -> frozenset[str]:
    """The hedging or negating words (`or`, `not`, `possibly`, ...) standing alone in an answer, and the
    negating macros (`\\ne`, `\\not`, `\\neg`)."""
    tokens = _MACRO_OR_WORD.findall(normalized)
    return frozenset(t.lower() for t in tokens if t.lower() in PROSE_WORDS or t in NEGATING_MACROS)
