"""Helpers shared by the verifier tests: reading the peer suite the way a boxed-answer grader sees it."""

from __future__ import annotations

import re

from deepmath_ext.verify.extract import extract

# Passes every guard (900 terms), yet sympy needs about 12 s on an idle 2-core machine to find it wrong:
# far past the tests' deadlines of at most 1 s (the pair used before, a product of powers, now takes 0.2 s).
SLOW_PRED = r"\sum_{k=1}^{900} \frac{x^k}{k^{2}+y}"
SLOW_GOLD = r"\sum_{k=1}^{900} \frac{x^k}{k^{2}+y+1}"

_MATH_SEGMENT = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
_DELIMITERS = re.compile(r"^\s*(?:\$\$|\$|\\\(|\\\[)(.*?)(?:\$\$|\$|\\\)|\\\])\s*$", re.DOTALL)
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")


def is_prose(text: str) -> bool:
    """True when the text has words outside math segments (a sentence, not a bare answer)."""
    outside_math = _MATH_SEGMENT.sub(" ", text)
    outside_math = re.sub(r"\\[a-zA-Z]+", " ", outside_math)
    return bool(_PROSE_WORD.search(outside_math))


def bare_answer(text: str) -> str | None:
    """The answer a boxed-answer grader reads from a peer-suite string, or None when it reads none.

    Boxes win (several boxes together form a list answer); otherwise the text must be a bare answer,
    optionally inside one pair of math delimiters.
    """
    boxes = extract(text, require_think=False).answers
    if boxes:
        return ",".join(dict.fromkeys(box.strip() for box in boxes))
    if is_prose(text):
        return None
    match = _DELIMITERS.match(text)
    return (match.group(1) if match else text).strip()


def think(answer_part: str, thinking: str = "Let me work this out step by step.") -> str:
    """A thinking-template response whose graded part is `answer_part`."""
    return f"<think>\n{thinking}\n</think>\n{answer_part}"
